#include "server/hot_state_sync.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/log.h"

namespace mamori::server {

namespace {

constexpr std::size_t kMaxBatchBytes = std::size_t(1) << 20;  // one stream entry, at most
constexpr std::size_t kMaxBatchesPerTick = 64;
constexpr int kReadCount = 512;  // entries per XREAD

std::string random_node_id() {
  std::random_device rd;
  char id[17];
  std::snprintf(id, sizeof id, "%08x%08x", rd(), rd());
  return id;
}

const redis::Reply* field(const redis::Reply& fields, std::string_view name) {
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2)
    if (fields.elements[i].str == name) return &fields.elements[i + 1];
  return nullptr;
}

}  // namespace

HotStateSync::HotStateSync(HotStateSyncOptions options, const Clock& clock, Apply apply)
    : options_(std::move(options)),
      clock_(clock),
      apply_(std::move(apply)),
      node_id_(random_node_id()),
      client_(options_.cluster) {
  const TimePoint now = clock_.now();
  for (Family f : {kLong, kSuccesses}) {
    const Duration keep = f == kLong ? options_.retention : options_.success_retention;
    const std::int64_t from = std::max<std::int64_t>(0, to_unix_ms(now - keep));
    for (int s = 0; s < options_.shards; ++s) {
      keys_.push_back(options_.key_prefix + (f == kLong ? ":obs:{" : ":ok:{") + std::to_string(s) +
                      "}");
      last_ids_.push_back(std::to_string(from) + "-0");
    }
    current_[f].family = f;
  }
  current_[kProfiles].family = kProfiles;
}

HotStateSync::~HotStateSync() { stop(); }

void HotStateSync::seal_locked(Family f) {
  Batch& b = current_[f];
  if (b.count == 0) return;
  queued_bytes_ += b.data.size();
  sealed_.push_back(std::move(b));
  b = Batch{};
  b.family = f;
}

void HotStateSync::observed(const state::Observation& o) {
  const Family f = o.kind == state::ObservationKind::kSuccess   ? kSuccesses
                   : o.kind == state::ObservationKind::kProfile ? kProfiles
                                                                : kLong;
  std::lock_guard lock(mu_);
  Batch& b = current_[f];
  state::append_observation(b.data, o);
  ++b.count;
  if (b.data.size() >= kMaxBatchBytes) seal_locked(f);
  // Past the bound (Redis unreachable for long): the oldest batches go.
  auto queued = [&] {
    std::size_t n = queued_bytes_;
    for (const Batch& c : current_) n += c.data.size();
    return n;
  };
  while (!sealed_.empty() && queued() > options_.queue_bytes) {
    queued_bytes_ -= sealed_.front().data.size();
    dropped_.fetch_add(sealed_.front().count, std::memory_order_relaxed);
    sealed_.pop_front();
  }
}

void HotStateSync::set_degraded(bool down, const std::string& why) {
  const bool was = degraded_.exchange(down, std::memory_order_relaxed);
  if (down && !was) {
    degraded_episodes_.fetch_add(1, std::memory_order_relaxed);
    log_warn("redis: hot state not shared (" + why +
             "); deciding on this node's own counts until the cluster answers again");
  } else if (!down && was) {
    log_info("redis: hot state shared again");
  }
}

bool HotStateSync::tick(bool publish, bool& more) {
  more = false;
  ticks_.fetch_add(1, std::memory_order_relaxed);
  std::vector<Batch> sending;
  if (publish) {
    std::lock_guard lock(mu_);
    seal_locked(kLong);
    seal_locked(kSuccesses);
    seal_locked(kProfiles);
    while (!sealed_.empty() && sending.size() < kMaxBatchesPerTick) {
      queued_bytes_ -= sealed_.front().data.size();
      sending.push_back(std::move(sealed_.front()));
      sealed_.pop_front();
    }
    more = !sealed_.empty();
  }
  const TimePoint now = clock_.now();
  const std::string cut[kStreamFamilies] = {
      std::to_string(std::max<std::int64_t>(0, to_unix_ms(now - options_.retention))),
      std::to_string(std::max<std::int64_t>(0, to_unix_ms(now - options_.success_retention)))};
  const std::size_t shards = std::size_t(options_.shards);
  std::vector<redis::Command> commands;
  commands.reserve(sending.size() + keys_.size());
  for (const Batch& b : sending) {
    std::size_t& shard = next_shard_[b.family];
    const Family f = stream_family(b.family);
    if (b.family == kProfiles)
      commands.push_back({{"XADD", keys_[f * shards + shard], "MINID", "~", cut[f], "*", "n",
                           node_id_, "d", "", "p", b.data},
                          1});
    else
      commands.push_back({{"XADD", keys_[f * shards + shard], "MINID", "~", cut[f], "*", "n",
                           node_id_, "d", b.data},
                          1});
    shard = (shard + 1) % shards;
  }
  for (std::size_t s = 0; s < keys_.size(); ++s)
    commands.push_back(
        {{"XREAD", "COUNT", std::to_string(kReadCount), "STREAMS", keys_[s], last_ids_[s]}, 4});
  std::vector<Result<redis::Reply>> results = client_.run(commands);

  bool ok = true;
  std::string why;
  std::vector<Batch> unsent;
  for (std::size_t i = 0; i < sending.size(); ++i) {
    if (results[i]) {
      published_.fetch_add(sending[i].count, std::memory_order_relaxed);
      continue;
    }
    ok = false;
    why = results[i].error().message;
    unsent.push_back(std::move(sending[i]));
  }
  if (!unsent.empty()) {
    // Back at the front, in order; past the bound the oldest go.
    std::lock_guard lock(mu_);
    for (auto it = unsent.rbegin(); it != unsent.rend(); ++it) {
      queued_bytes_ += it->data.size();
      sealed_.push_front(std::move(*it));
    }
    while (!sealed_.empty() && queued_bytes_ > options_.queue_bytes) {
      queued_bytes_ -= sealed_.front().data.size();
      dropped_.fetch_add(sealed_.front().count, std::memory_order_relaxed);
      sealed_.pop_front();
    }
    more = false;  // wait for the next tick before trying again
  }
  for (std::size_t s = 0; s < keys_.size(); ++s) {
    const Result<redis::Reply>& r = results[sending.size() + s];
    if (!r) {
      ok = false;
      why = r.error().message;
      continue;
    }
    // [[key, [[id, [field, value, ...]], ...]]], or nil when nothing is new.
    if (r->type != redis::Reply::Type::kArray || r->elements.empty()) continue;
    const redis::Reply& stream = r->elements[0];
    if (stream.elements.size() < 2) continue;
    const redis::Reply& entries = stream.elements[1];
    if (entries.elements.size() >= std::size_t(kReadCount)) more = true;
    for (const redis::Reply& entry : entries.elements) {
      if (entry.elements.size() < 2) continue;
      last_ids_[s] = entry.elements[0].str;
      const redis::Reply* node = field(entry.elements[1], "n");
      const redis::Reply* data = field(entry.elements[1], "d");
      if (node == nullptr || data == nullptr) {
        invalid_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (node->str == node_id_) continue;
      for (const redis::Reply* part : {data, field(entry.elements[1], "p")}) {
        if (part == nullptr || part->str.empty()) continue;
        auto observations = state::decode_observations(part->str);
        if (!observations) {
          invalid_.fetch_add(1, std::memory_order_relaxed);
          log_error_limited("redis observations", "redis: " + keys_[s] + " entry " + last_ids_[s] +
                                                      " from node " + node->str +
                                                      " refused: " + observations.error().message);
          continue;
        }
        for (const state::Observation& o : *observations) apply_(o);
        applied_.fetch_add(observations->size(), std::memory_order_relaxed);
      }
    }
  }
  set_degraded(!ok, why);
  return ok;
}

Result<std::size_t> HotStateSync::replay(Duration within) {
  const std::uint64_t before = applied_.load(std::memory_order_relaxed);
  const auto deadline = std::chrono::steady_clock::now() + within;
  bool more = true;
  while (more && std::chrono::steady_clock::now() < deadline) {
    if (!tick(false, more))
      return make_error("redis_unreachable",
                        "redis: replaying the hot state: a shard could not be read (" +
                            std::to_string(applied_.load(std::memory_order_relaxed) - before) +
                            " observations applied)");
  }
  return std::size_t(applied_.load(std::memory_order_relaxed) - before);
}

void HotStateSync::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(run_mu_);
    while (!stopping_) {
      lock.unlock();
      bool more = false;
      tick(true, more);
      lock.lock();
      if (!more) run_cv_.wait_for(lock, options_.every, [&] { return stopping_; });
    }
    lock.unlock();
    bool more = false;
    tick(true, more);  // what was counted before the stop
  });
}

void HotStateSync::stop() {
  {
    std::lock_guard lock(run_mu_);
    stopping_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HotStateSync::render_metrics(std::string& out) const {
  client_.render_metrics(out);
  std::uint64_t queued = 0;
  {
    std::lock_guard lock(mu_);
    queued = current_[kLong].count + current_[kSuccesses].count + current_[kProfiles].count;
    for (const Batch& b : sealed_) queued += b.count;
  }
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  out +=
      "# HELP mamori_redis_degraded 1 while the hot state cannot be shared (a shard of the "
      "Redis Cluster unreachable): the node decides on its own counts.\n"
      "# TYPE mamori_redis_degraded gauge\nmamori_redis_degraded " +
      std::string(degraded() ? "1" : "0") +
      "\n# HELP mamori_redis_degraded_episodes_total Times the hot state stopped being shared.\n"
      "# TYPE mamori_redis_degraded_episodes_total counter\nmamori_redis_degraded_episodes_total " +
      std::to_string(get(degraded_episodes_)) +
      "\n# HELP mamori_hot_state_observations_total Observations of the shared hot state: "
      "published by this node, applied from the others, dropped unpublished (queue full), "
      "refused (undecodable entries).\n"
      "# TYPE mamori_hot_state_observations_total counter\n"
      "mamori_hot_state_observations_total{what=\"published\"} " +
      std::to_string(get(published_)) + "\nmamori_hot_state_observations_total{what=\"applied\"} " +
      std::to_string(get(applied_)) + "\nmamori_hot_state_observations_total{what=\"dropped\"} " +
      std::to_string(get(dropped_)) + "\nmamori_hot_state_observations_total{what=\"refused\"} " +
      std::to_string(get(invalid_)) +
      "\n# HELP mamori_hot_state_observations_queued Observations counted here and not "
      "published yet.\n# TYPE mamori_hot_state_observations_queued gauge\n"
      "mamori_hot_state_observations_queued " +
      std::to_string(queued) +
      "\n# HELP mamori_hot_state_sync_ticks_total Publish-and-read passes over the Redis "
      "Cluster.\n# TYPE mamori_hot_state_sync_ticks_total counter\n"
      "mamori_hot_state_sync_ticks_total " +
      std::to_string(get(ticks_)) + "\n";
}

}  // namespace mamori::server
