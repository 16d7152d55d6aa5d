#include "store/journal/indexer.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace mamori::store::journal {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

// A pass that waits until the test lets it end, counting the passes begun.
class HeldPass {
 public:
  void run() {
    std::unique_lock<std::mutex> l(mu_);
    ++begun_;
    cv_.notify_all();
    cv_.wait(l, [&] { return released_ >= begun_; });
  }
  // Waits until `n` passes have begun; false after a minute (a thread of
  // SCHED_IDLE on a busy machine may wait seconds for a core).
  bool wait_begun(int n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(60), [&] { return begun_ >= n; });
  }
  void release_one() {
    std::lock_guard<std::mutex> l(mu_);
    ++released_;
    cv_.notify_all();
  }
  void release_all() {
    std::lock_guard<std::mutex> l(mu_);
    released_ = 1 << 30;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int begun_ = 0, released_ = 0;
};

// Polls `policy()` until it is `want`, for up to a minute.
bool policy_becomes(const IndexerThread& t, int want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (t.policy() != want)
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    else
      std::this_thread::yield();
  return true;
}

TEST(IndexerThread, RunsIdleAndAHurryRaisesItUntilThePassEnds) {
  HeldPass pass;
  IndexerThread t;
  EXPECT_EQ(t.policy(), -1);
  t.start({hours(1), hours(1), "test index"}, [&] { pass.run(); });
  if (!IndexerThread::may_leave_idle()) {
    // This process may not leave SCHED_IDLE: the thread keeps SCHED_BATCH.
    EXPECT_EQ(t.policy(), SCHED_BATCH);
    t.urge();
    ASSERT_TRUE(pass.wait_begun(1));
    EXPECT_EQ(t.policy(), SCHED_BATCH);
    EXPECT_EQ(t.raises(), 0u);
    pass.release_all();
    return;
  }
  EXPECT_EQ(t.policy(), SCHED_IDLE);
  // A poke runs a pass at the thread's present priority.
  t.poke();
  ASSERT_TRUE(pass.wait_begun(1));
  EXPECT_EQ(t.policy(), SCHED_IDLE);
  pass.release_one();

  // An urge raises it at once, for the pass it starts.
  t.urge();
  EXPECT_EQ(t.policy(), SCHED_BATCH);
  EXPECT_EQ(t.raises(), 1u);
  ASSERT_TRUE(pass.wait_begun(2));
  pass.release_one();
  EXPECT_TRUE(policy_becomes(t, SCHED_IDLE));

  // Hurried again while a pass runs: it stays raised past that pass, until
  // the next one ends.
  t.urge();
  ASSERT_TRUE(pass.wait_begun(3));
  t.hurry();
  pass.release_one();
  t.poke();
  ASSERT_TRUE(pass.wait_begun(4));
  EXPECT_EQ(t.policy(), SCHED_BATCH);
  EXPECT_EQ(t.raises(), 2u);
  pass.release_one();
  EXPECT_TRUE(policy_becomes(t, SCHED_IDLE));
  pass.release_all();
}

TEST(IndexerThread, APassIsLateWhenNoneBeganForTheLagBound) {
  HeldPass pass;
  IndexerThread t;
  EXPECT_FALSE(t.late());  // not running
  t.start({hours(1), milliseconds(1), "test index"}, [&] { pass.run(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!t.late() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_TRUE(t.late());
  t.stop();
  EXPECT_FALSE(t.late());
}

TEST(IndexerThread, APassBeginningEndsTheLateness) {
  HeldPass pass;
  IndexerThread t;
  t.start({hours(1), std::chrono::seconds(2), "test index"}, [&] { pass.run(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!t.late() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(t.late());
  t.urge();
  ASSERT_TRUE(pass.wait_begun(1));
  EXPECT_FALSE(t.late());  // for the next 2 s
  pass.release_all();
}

TEST(IndexerThread, StopEndsAPassAndTheThreadEvenWhenIdle) {
  HeldPass pass;
  IndexerThread t;
  t.start({hours(1), hours(1), "test index"}, [&] { pass.run(); });
  t.poke();
  ASSERT_TRUE(pass.wait_begun(1));
  pass.release_all();
  t.stop();
  EXPECT_EQ(t.policy(), -1);
}

}  // namespace
}  // namespace mamori::store::journal
