#include "core/deferred_wakes.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>
#include <vector>

namespace mamori {
namespace {

// The wakes a test sees, in order, by the number each carries.
std::vector<int>* g_woken = nullptr;
void note(void* arg) { g_woken->push_back(*static_cast<int*>(arg)); }

struct Woken {
  Woken() { g_woken = &seen; }
  ~Woken() { g_woken = nullptr; }
  std::vector<int> seen;
};

// Each test body runs on a thread of its own: the deferral is per thread.
void on_own_thread(const std::function<void()>& body) { std::thread(body).join(); }

TEST(DeferredWakes, WithoutDeferralAWakeRunsAtOnce) {
  on_own_thread([] {
    Woken w;
    int one = 1;
    DeferredWakes::wake(&note, &one);
    EXPECT_EQ(w.seen, std::vector<int>{1});
  });
}

TEST(DeferredWakes, WakesWaitForTheFlushAndOneFlushIsScheduledPerTurn) {
  on_own_thread([] {
    Woken w;
    int schedules = 0;
    DeferredWakes::open([&] { ++schedules; });
    int one = 1, two = 2;
    DeferredWakes::wake(&note, &one);
    DeferredWakes::wake(&note, &two);
    DeferredWakes::wake(&note, &one);  // the same waker twice in a turn: once
    EXPECT_TRUE(w.seen.empty());
    EXPECT_EQ(schedules, 1);
    DeferredWakes::flush();
    EXPECT_EQ(w.seen, (std::vector<int>{1, 2}));
    // The next turn schedules again.
    DeferredWakes::wake(&note, &two);
    EXPECT_EQ(schedules, 2);
    DeferredWakes::flush();
    EXPECT_EQ(w.seen, (std::vector<int>{1, 2, 2}));
    DeferredWakes::flush();  // nothing noted: nothing woken
    EXPECT_EQ(w.seen.size(), 3u);
    DeferredWakes::close();
  });
}

TEST(DeferredWakes, CloseFlushesAndWakesAtOnceAfterwards) {
  on_own_thread([] {
    Woken w;
    DeferredWakes::open([] {});
    int one = 1, two = 2;
    DeferredWakes::wake(&note, &one);
    DeferredWakes::close();
    EXPECT_EQ(w.seen, std::vector<int>{1});
    DeferredWakes::wake(&note, &two);
    EXPECT_EQ(w.seen, (std::vector<int>{1, 2}));
  });
}

TEST(DeferredWakes, DeferralIsPerThread) {
  on_own_thread([] {
    Woken w;
    DeferredWakes::open([] {});
    int one = 1, two = 2;
    DeferredWakes::wake(&note, &one);
    std::thread([&] { DeferredWakes::wake(&note, &two); }).join();  // no deferral there
    EXPECT_EQ(w.seen, std::vector<int>{2});
    DeferredWakes::close();
    EXPECT_EQ(w.seen, (std::vector<int>{2, 1}));
  });
}

}  // namespace
}  // namespace mamori
