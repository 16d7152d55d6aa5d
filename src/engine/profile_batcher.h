#ifndef MAMORI_ENGINE_PROFILE_BATCHER_H_
#define MAMORI_ENGINE_PROFILE_BATCHER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/profile_cache.h"
#include "store/profile_store.h"

namespace mamori::engine {

// Reads account profiles that the login path needs and the cache lacks, in
// batches, off the request threads: for a store across a network
// (PostgreSQL), where a read on the answer path would hold an event loop
// for a round trip. load() queues an account and returns; `threads` loader
// threads each take what is queued (up to max_batch accounts), read it with
// one ProfileStore::profiles() call, put the profiles into the cache
// (ProfileCache::prime) and then run each request's continuation, which
// finds its profile in memory. Requests arriving while a batch is out join
// the next one, so the round trips per login fall as the load grows.
//
// A failed read caches nothing and still runs the continuations: the
// engine then reads the profile itself, and fails as it would have
// (counted in `failed`).
//
// Thread-safe. Destruction stops the threads after the batches in flight;
// continuations still queued are destroyed unrun (what they own is
// released). REQUIRES: the store and cache outlive it.
class ProfileBatcher {
 public:
  struct Options {
    // Batches in flight at once. One by default: the batch grows with the
    // load (measured on 2 cores, one loader read 5.5 accounts a round trip
    // where four read 2.2, and answered more), and no more threads contend
    // with the workers for the cores.
    std::size_t threads = 1;
    std::size_t max_batch = 256;    // accounts in one read
    std::size_t max_queued = 8192;  // load() beyond it refuses
  };

  ProfileBatcher(store::ProfileStore& store, ProfileCache& cache, Options options);
  ~ProfileBatcher();
  ProfileBatcher(const ProfileBatcher&) = delete;
  ProfileBatcher& operator=(const ProfileBatcher&) = delete;

  // Whether a login of `account` would read the store (its profile is not
  // cached): then load() it first.
  bool needs_load(const std::string& account) const { return !cache_.cached(account); }

  // Queues `account`'s profile; `then` runs on a loader thread once it is
  // cached (or its read failed). False, `then` not taken, when max_queued
  // loads wait: the caller goes on without (the engine reads it itself).
  bool load(const std::string& account, std::function<void()>& then);

  // Prometheus text: batches read and failed, accounts read, loads refused.
  void render_metrics(std::string& out) const;

 private:
  struct Load {
    std::string account;
    std::function<void()> then;
  };
  void run();

  store::ProfileStore& store_;
  ProfileCache& cache_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Load> queue_;                                               // guarded by mu_
  bool stopping_ = false;                                                // guarded by mu_
  std::uint64_t batches_ = 0, failed_ = 0, accounts_ = 0, refused_ = 0;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_PROFILE_BATCHER_H_
