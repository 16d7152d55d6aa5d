#ifndef MAMORI_SERVER_HOT_STATE_SYNC_H_
#define MAMORI_SERVER_HOT_STATE_SYNC_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "redis/cluster_client.h"
#include "state/observation.h"

namespace mamori::server {

// [state] backend = "redis" and [redis]: where the hot state is shared.
struct HotStateSyncOptions {
  redis::ClusterOptions cluster;
  // Streams are named "<key_prefix>:obs:{<shard>}": one prefix a deployment.
  std::string key_prefix = "mamori";
  // How often a node publishes what it counted and reads the others'.
  Duration every = std::chrono::milliseconds(100);
  // How long the streams keep observations, and how far back a starting node
  // replays them: the longest detection window (set by the daemon).
  Duration retention = std::chrono::hours(24);
  // The same for successful logins, which only the shorter windows count
  // (credential_stuffing, password_spray, distributed_stuffing: an hour by
  // default): they are most of the traffic, kept in streams of their own.
  Duration success_retention = std::chrono::hours(1);
  // Observations waiting to be published while Redis is unreachable, at
  // most (the oldest batches are dropped past it, and counted).
  std::size_t queue_bytes = std::size_t(64) << 20;
  int shards = 16;
};

// Shares the hot windows of the nodes of one deployment over a Redis
// Cluster. Each node keeps deciding on its own windows, with no Redis round
// trip on the answer path; the engine tells this sync (an ObservationSink)
// every event that moved them. Every `every`, the sync's thread appends the
// batch to one of `shards` Redis Streams (XADD ... MINID ~ now - retention,
// the shard turning with every batch; hash tags spread the shards over the
// primaries; successful logins go to `shards` streams of their own, kept for
// success_retention) and reads every stream past the last entry it saw (XREAD),
// applying the other nodes' observations through `apply`
// (engine::Engine::observe): one pipeline per primary a tick. An attack
// spread over the nodes is therefore counted by every node within about
// two intervals. A starting node replays the streams from now - retention
// (replay()), so a restart needs no warm-up.
// Profile changes (state::ObservationKind::kProfile: another node's cached
// copy of that profile is out of date) are published in the success
// streams too, in batches of their own whose entries carry them in a field
// `p` (and an empty `d`): nodes before that kind read `d` only, so a
// cluster being upgraded node by node keeps sharing its windows. A node's
// copies are thus dropped within about two intervals of the other node's
// commit.
// While a shard cannot be reached (a primary down until its replica takes
// over), the node decides on its local counts, keeps its unpublished batches
// (bounded by queue_bytes, the oldest dropped and counted), reports
// mamori_redis_degraded 1 and logs the change once each way.
// Thread-safe: observed() from any thread; the rest from the owner.
class HotStateSync final : public state::ObservationSink {
 public:
  using Apply = std::function<void(const state::Observation&)>;
  HotStateSync(HotStateSyncOptions options, const Clock& clock, Apply apply);
  ~HotStateSync() override;
  HotStateSync(const HotStateSync&) = delete;
  HotStateSync& operator=(const HotStateSync&) = delete;

  // Applies every observation the streams hold from now - retention, until
  // caught up or `within` has passed. Returns the number applied; fails with
  // `redis_unreachable` when a shard could not be read (what was read is
  // applied). REQUIRES: before start().
  Result<std::size_t> replay(Duration within);
  // Starts the thread that publishes and reads every `every`.
  void start();
  // Publishes what is queued (one last tick) and stops the thread.
  void stop();

  void observed(const state::Observation& o) override;

  bool degraded() const { return degraded_.load(std::memory_order_relaxed); }
  // This run's node id: the stream entries it writes carry it, and it skips
  // them when reading.
  const std::string& node_id() const { return node_id_; }
  // Prometheus text: mamori_redis_* (the client's, mamori_redis_degraded)
  // and mamori_hot_state_observations_total.
  void render_metrics(std::string& out) const;

 private:
  // Streams: kept for `retention` (failures, mail), or success_retention.
  // kProfiles: batches of kProfile observations, in the success streams
  // (field `p`).
  enum Family { kLong = 0, kSuccesses = 1, kProfiles = 2, kFamilies = 3 };
  static constexpr int kStreamFamilies = 2;
  static Family stream_family(Family f) { return f == kProfiles ? kSuccesses : f; }
  struct Batch {
    std::string data;
    std::uint32_t count = 0;
    Family family = kLong;
  };
  // One publish-and-read pass. `publish` false: read only. Returns whether
  // every command succeeded; `more` says a read came back full.
  bool tick(bool publish, bool& more);
  void set_degraded(bool down, const std::string& why);
  void seal_locked(Family f);

  HotStateSyncOptions options_;
  const Clock& clock_;
  Apply apply_;
  std::string node_id_;
  redis::ClusterClient client_;
  // Stream family f's shard s is keys_[f * shards + s].
  std::vector<std::string> keys_, last_ids_;
  std::size_t next_shard_[kFamilies] = {0, 0, 0};

  mutable std::mutex mu_;  // the queue below
  Batch current_[kFamilies];
  std::deque<Batch> sealed_;
  std::size_t queued_bytes_ = 0;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stopping_ = false;
  std::thread thread_;

  std::atomic<bool> degraded_{false};
  std::atomic<std::uint64_t> published_{0}, applied_{0}, dropped_{0}, invalid_{0},
      degraded_episodes_{0}, ticks_{0};
};

}  // namespace mamori::server

#endif  // MAMORI_SERVER_HOT_STATE_SYNC_H_
