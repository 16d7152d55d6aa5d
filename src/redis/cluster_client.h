#ifndef MAMORI_REDIS_CLUSTER_CLIENT_H_
#define MAMORI_REDIS_CLUSTER_CLIENT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "redis/connection.h"

namespace mamori::redis {

struct ClusterOptions {
  // Known nodes, "HOST:PORT": any of them serves the slot map.
  std::vector<std::string> seeds;
  ConnectionOptions connection;
};

// A command and the index of its key in `args` (its slot routes it).
struct Command {
  Args args;
  std::size_t key_index = 1;
};

// A Redis Cluster client: keeps the slot map (CLUSTER SLOTS) and one
// connection per primary, and runs commands pipelined, one round trip per
// primary touched. A MOVED reply updates the slot and the command is sent
// again to its new owner (and the map is read again); an ASK reply sends
// that command once more to the node named, preceded by ASKING; a broken
// connection or a CLUSTERDOWN/TRYAGAIN reply refreshes the map from any known
// node and retries, a few times within one run(). Knows nothing of what the
// commands mean. Thread-compatible: one owner thread calls run(); stats()
// and render_metrics() may be called from any thread.
class ClusterClient {
 public:
  explicit ClusterClient(ClusterOptions options);
  ~ClusterClient();
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // One result per command, in order: its reply (error replies other than
  // redirections become `redis_error` errors) or `redis_unreachable` when
  // its slot's node could not be reached in this run.
  std::vector<Result<Reply>> run(const std::vector<Command>& commands);

  // Reads the slot map from the first known node that answers. Fails with
  // `redis_unreachable` when none does, `redis_error` when the map is
  // incomplete (a slot without a node).
  Status refresh();

  struct Stats {
    std::uint64_t round_trips = 0, commands = 0, errors = 0, moved = 0, ask = 0, refreshes = 0,
                  failovers = 0, reconnects = 0;
  };
  Stats stats() const;
  // Prometheus text: mamori_redis_* counters and the round-trip histogram.
  void render_metrics(std::string& out) const;

  // The round-trip histogram's upper bounds, in microseconds.
  static constexpr std::array<std::uint64_t, 11> kBucketsUs = {
      50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000};

 private:
  struct Node;
  Node* node(const std::string& address);
  void round_trip_took(std::uint64_t us);

  ClusterOptions options_;
  std::vector<std::string> known_;                 // seeds and every node the map named
  std::array<std::uint16_t, 16384> slot_owner_{};  // index into owners_
  std::vector<std::string> owners_;                // "host:port" of the primaries
  bool have_map_ = false;
  std::string connect_error_;  // why node() last failed to connect
  std::map<std::string, std::unique_ptr<Node>> nodes_;
  std::atomic<std::uint64_t> round_trips_{0}, commands_{0}, errors_{0}, moved_{0}, ask_{0},
      refreshes_{0}, failovers_{0}, reconnects_{0}, latency_sum_us_{0};
  std::array<std::atomic<std::uint64_t>, kBucketsUs.size() + 1> latency_buckets_{};
};

}  // namespace mamori::redis

#endif  // MAMORI_REDIS_CLUSTER_CLIENT_H_
