// Profiles read ahead of the logins that need them, in batches off the
// request threads (engine/profile_batcher.h).
#include "engine/profile_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

store::AccountProfile with_country(const std::string& country) {
  store::AccountProfile p;
  p.countries.push_back(country);
  return p;
}

// Writes `p` (put_profile() takes the copy it updates with the version).
store::WriteTicket put(store::ProfileStore& s, std::string account, store::AccountProfile p) {
  return s.put_profile(std::move(account), p);
}

// Wraps a store: counts the batched reads and their sizes, can hold the
// next read until released, and can fail them.
class CountingStore final : public store::ProfileStore {
 public:
  explicit CountingStore(store::ProfileStore& inner) : inner_(inner) {}

  store::WriteTicket put_profile(std::string account, store::AccountProfile& p) override {
    return inner_.put_profile(std::move(account), p);
  }
  void on_profile_conflict(ProfileMerge merge, ProfileMerged merged) override {
    inner_.on_profile_conflict(std::move(merge), std::move(merged));
  }
  Result<store::AccountProfile> profile(std::string_view account) override {
    single_reads.fetch_add(1);
    return inner_.profile(account);
  }
  Result<std::vector<store::AccountProfile>> profiles(
      const std::vector<std::string>& accounts) override {
    {
      std::unique_lock lock(mu_);
      batches.push_back(accounts);
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_; });
    }
    if (fail) return make_error("store_read_failed", "database down");
    return inner_.profiles(accounts);
  }

  void hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  // Blocks until `n` batches were read (10 s at most).
  bool batches_read(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return batches.size() >= n; });
  }
  std::vector<std::vector<std::string>> batch_list() {
    std::lock_guard lock(mu_);
    return batches;
  }

  std::atomic<int> single_reads{0};
  std::atomic<bool> fail{false};

 private:
  store::ProfileStore& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  std::vector<std::vector<std::string>> batches;
};

// Counts the continuations run; waits for them.
struct Done {
  std::mutex mu;
  std::condition_variable cv;
  int n = 0;
  std::function<void()> one() {
    return [this] {
      std::lock_guard lock(mu);
      ++n;
      cv.notify_all();
    };
  }
  int count() {
    std::lock_guard lock(mu);
    return n;
  }
  bool reached(int want) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return n >= want; });
  }
};

struct ProfileBatcherTest : ::testing::Test {
  TempDir dir;
  std::unique_ptr<store::EmbeddedStore> embedded =
      std::move(*store::EmbeddedStore::open(dir.path()));
  CountingStore store{*embedded};
  state::MemoryBudget budget{64 << 20};
  ProfileCache cache{store, budget};
};

TEST_F(ProfileBatcherTest, LoadsQueuedWhileABatchIsOutAreReadTogetherAndCached) {
  ASSERT_TRUE(embedded->wait(put(*embedded, "a", with_country("JP"))).ok());
  ASSERT_TRUE(embedded->wait(put(*embedded, "c", with_country("FR"))).ok());
  ProfileBatcher batcher(store, cache, {.threads = 1, .max_batch = 100, .max_queued = 100});
  EXPECT_TRUE(batcher.needs_load("a"));
  Done done;
  store.hold();  // the first batch stays out while more arrive
  auto first = done.one();
  ASSERT_TRUE(batcher.load("first", first));
  ASSERT_TRUE(store.batches_read(1));
  for (const char* account : {"a", "b", "c", "a"}) {
    auto then = done.one();
    ASSERT_TRUE(batcher.load(account, then));
  }
  EXPECT_EQ(done.count(), 0);
  store.release();
  ASSERT_TRUE(done.reached(5));
  const auto batches = store.batch_list();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1], (std::vector<std::string>{"a", "b", "c"}));  // one read, "a" once
  // Cached: the logins read nothing more.
  for (const char* account : {"a", "b", "c", "first"}) EXPECT_FALSE(batcher.needs_load(account));
  EXPECT_EQ(cache.get("a")->countries, (std::vector<std::string>{"JP"}));
  EXPECT_EQ(cache.get("c")->countries, (std::vector<std::string>{"FR"}));
  EXPECT_TRUE(cache.get("b")->empty());
  EXPECT_EQ(store.single_reads.load(), 0);

  std::string metrics;
  batcher.render_metrics(metrics);
  EXPECT_NE(metrics.find("mamori_profile_batches_total{result=\"ok\"} 2\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mamori_profile_batch_accounts_total 4\n"), std::string::npos);
}

TEST_F(ProfileBatcherTest, ANewerCachedProfileIsNotReplacedByTheRead) {
  ASSERT_TRUE(embedded->wait(put(*embedded, "a", with_country("JP"))).ok());
  ProfileBatcher batcher(store, cache, {.threads = 1});
  Done done;
  store.hold();
  auto then = done.one();
  ASSERT_TRUE(batcher.load("a", then));
  ASSERT_TRUE(store.batches_read(1));
  // A login meanwhile wrote a newer profile through the cache.
  ASSERT_TRUE(embedded->wait(cache.put("a", with_country("US"))).ok());
  store.release();
  ASSERT_TRUE(done.reached(1));
  EXPECT_EQ(cache.get("a")->countries, (std::vector<std::string>{"US"}));
}

TEST_F(ProfileBatcherTest, AFailedReadCachesNothingAndStillRunsTheContinuations) {
  store.fail = true;
  ProfileBatcher batcher(store, cache, {.threads = 2});
  Done done;
  for (const char* account : {"x", "y"}) {
    auto then = done.one();
    ASSERT_TRUE(batcher.load(account, then));
  }
  ASSERT_TRUE(done.reached(2));
  EXPECT_TRUE(batcher.needs_load("x"));
  EXPECT_TRUE(batcher.needs_load("y"));
  std::string metrics;
  batcher.render_metrics(metrics);
  EXPECT_NE(metrics.find("mamori_profile_batches_total{result=\"ok\"} 0\n"), std::string::npos)
      << metrics;
}

TEST_F(ProfileBatcherTest, PastTheQueueBoundALoadIsRefusedAndTheCallerKeepsItsContinuation) {
  ProfileBatcher batcher(store, cache, {.threads = 1, .max_batch = 1, .max_queued = 1});
  Done done;
  store.hold();
  auto first = done.one();
  ASSERT_TRUE(batcher.load("first", first));
  ASSERT_TRUE(store.batches_read(1));
  auto queued = done.one();
  ASSERT_TRUE(batcher.load("queued", queued));
  auto refused = done.one();
  EXPECT_FALSE(batcher.load("refused", refused));
  EXPECT_TRUE(refused);  // not taken: the caller runs it
  store.release();
  ASSERT_TRUE(done.reached(2));
}

TEST_F(ProfileBatcherTest, DestructionFinishesTheBatchInFlightAndDropsQueuedLoadsUnrun) {
  auto owned = std::make_shared<int>(1);
  std::atomic<int> ran{0};
  std::thread releaser;
  {
    ProfileBatcher batcher(store, cache, {.threads = 1, .max_batch = 1, .max_queued = 1 << 30});
    store.hold();
    std::function<void()> first = [&ran] { ++ran; };
    ASSERT_TRUE(batcher.load("first", first));
    ASSERT_TRUE(store.batches_read(1));
    std::function<void()> queued = [&ran, owned] { ++ran; };
    ASSERT_TRUE(batcher.load("queued", queued));
    EXPECT_EQ(owned.use_count(), 2);
    // The read in flight ends once the destructor has begun: load() then
    // refuses (the destructor's body is joining, the members are alive).
    releaser = std::thread([&store = store, b = &batcher] {
      for (;;) {
        std::function<void()> probe = [] {};
        if (!b->load("probe", probe)) break;
      }
      store.release();
    });
  }
  releaser.join();
  EXPECT_EQ(ran.load(), 1);  // the batch in flight finished, the queued one did not run
  EXPECT_EQ(owned.use_count(), 1);
}

}  // namespace
}  // namespace mamori::engine::testing
