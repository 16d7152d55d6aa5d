#include "core/work_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "gtest/gtest.h"

namespace mamori {
namespace {

// Holds every job that calls wait() until open().
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Blocks until `n` jobs wait (10 s at most).
  bool waiting(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST(WorkPool, RunsJobsConcurrentlyOnItsThreads) {
  WorkPool pool(3, 10, "test-pool");
  EXPECT_EQ(pool.threads(), 3u);
  Gate gate;
  std::mutex mu;
  std::set<std::thread::id> ids;
  for (int i = 0; i < 3; ++i) {
    std::function<void()> job = [&] {
      {
        std::lock_guard lock(mu);
        ids.insert(std::this_thread::get_id());
      }
      gate.wait();
    };
    ASSERT_TRUE(pool.try_post(job));
  }
  // All three wait at once: they run on three threads, none on the caller's.
  ASSERT_TRUE(gate.waiting(3));
  gate.open();
  std::lock_guard lock(mu);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST(WorkPool, RefusesAJobPastTheQueueBoundAndTheCallerKeepsIt) {
  WorkPool pool(1, 2, "test-pool");
  Gate gate;
  std::function<void()> blocker = [&] { gate.wait(); };
  ASSERT_TRUE(pool.try_post(blocker));
  ASSERT_TRUE(gate.waiting(1));  // running, not queued
  std::atomic<int> ran{0};
  for (int i = 0; i < 2; ++i) {
    std::function<void()> job = [&] { ++ran; };
    ASSERT_TRUE(pool.try_post(job));
  }
  EXPECT_EQ(pool.queued(), 2u);
  auto owned = std::make_shared<int>(7);
  std::function<void()> refused = [&ran, owned] { ++ran; };
  EXPECT_FALSE(pool.try_post(refused));
  ASSERT_TRUE(refused);  // not taken
  EXPECT_EQ(owned.use_count(), 2);
  gate.open();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ran.load() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(ran.load(), 2);
  // Room again.
  EXPECT_TRUE(pool.try_post(refused));
}

TEST(WorkPool, DestructionDropsQueuedJobsUnrunAndFinishesTheRunningOne) {
  auto owned = std::make_shared<int>(1);
  std::atomic<bool> queued_ran{false};
  std::atomic<bool> running_done{false};
  Gate gate;
  std::thread opener;
  {
    WorkPool pool(1, 4, "test-pool");
    std::function<void()> running = [&] {
      gate.wait();
      running_done = true;
    };
    ASSERT_TRUE(pool.try_post(running));
    ASSERT_TRUE(gate.waiting(1));
    std::function<void()> queued = [&queued_ran, owned] { queued_ran = true; };
    ASSERT_TRUE(pool.try_post(queued));
    EXPECT_EQ(owned.use_count(), 2);
    // The running job ends once the destructor has taken the queue (its
    // body is still joining, so the pool's members are alive).
    opener = std::thread([&gate, p = &pool] {
      while (p->queued() != 0) std::this_thread::yield();
      gate.open();
    });
  }
  opener.join();
  EXPECT_TRUE(running_done.load());
  EXPECT_FALSE(queued_ran.load());
  EXPECT_EQ(owned.use_count(), 1);  // the unrun job was destroyed
}

}  // namespace
}  // namespace mamori
