#include "redis/cluster_client.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>

#include "redis/cluster_slots.h"

namespace mamori::redis {

struct ClusterClient::Node {
  std::string host;
  std::uint16_t port = 0;
  std::unique_ptr<Connection> conn;
  bool connected_before = false;
};

namespace {

constexpr int kAttempts = 4;  // sends of one command within a run()

bool transient(const std::string& error) {
  return error.starts_with("CLUSTERDOWN") || error.starts_with("TRYAGAIN") ||
         error.starts_with("LOADING") || error.starts_with("MASTERDOWN");
}

}  // namespace

ClusterClient::ClusterClient(ClusterOptions options) : options_(std::move(options)) {
  known_ = options_.seeds;
}

ClusterClient::~ClusterClient() = default;

ClusterClient::Node* ClusterClient::node(const std::string& address) {
  auto it = nodes_.find(address);
  if (it == nodes_.end()) {
    auto n = std::make_unique<Node>();
    if (!split_host_port(address, n->host, n->port)) return nullptr;
    it = nodes_.emplace(address, std::move(n)).first;
  }
  Node& n = *it->second;
  if (n.conn && !n.conn->broken()) return &n;
  n.conn.reset();
  auto c = Connection::open(n.host, n.port, options_.connection);
  if (!c) {
    connect_error_ = c.error().message;
    return nullptr;
  }
  if (n.connected_before) reconnects_.fetch_add(1, std::memory_order_relaxed);
  n.connected_before = true;
  n.conn = std::move(*c);
  return &n;
}

void ClusterClient::round_trip_took(std::uint64_t us) {
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_.fetch_add(us, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < kBucketsUs.size() && us > kBucketsUs[b]) ++b;
  latency_buckets_[b].fetch_add(1, std::memory_order_relaxed);
}

Status ClusterClient::refresh() {
  refreshes_.fetch_add(1, std::memory_order_relaxed);
  // The primaries of the current map first: they are the likeliest to answer.
  std::vector<std::string> order = owners_;
  for (const std::string& k : known_)
    if (std::find(order.begin(), order.end(), k) == order.end()) order.push_back(k);
  std::string last_error = "no known node";
  static const Args kSlots{"CLUSTER", "SLOTS"};
  for (const std::string& address : order) {
    Node* n = node(address);
    if (n == nullptr) {
      last_error = connect_error_;
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto replies = n->conn->pipeline({&kSlots});
    round_trip_took(std::uint64_t(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count()));
    if (!replies) {
      last_error = replies.error().message;
      n->conn.reset();
      continue;
    }
    const Reply& r = (*replies)[0];
    if (r.type != Reply::Type::kArray) {
      last_error = address + ": CLUSTER SLOTS: " + (r.is_error() ? r.str : "not an array");
      continue;
    }
    std::array<std::uint16_t, kSlotCount> owner = slot_owner_;
    std::vector<std::string> owners = owners_;
    std::vector<bool> covered(kSlotCount, false);
    auto index_of = [&](const std::string& a) {
      auto it = std::find(owners.begin(), owners.end(), a);
      if (it != owners.end()) return std::uint16_t(it - owners.begin());
      owners.push_back(a);
      return std::uint16_t(owners.size() - 1);
    };
    for (const Reply& range : r.elements) {
      if (range.type != Reply::Type::kArray || range.elements.size() < 3) continue;
      const Reply &from = range.elements[0], &to = range.elements[1], &primary = range.elements[2];
      if (from.type != Reply::Type::kInteger || to.type != Reply::Type::kInteger ||
          primary.type != Reply::Type::kArray || primary.elements.size() < 2 ||
          primary.elements[1].type != Reply::Type::kInteger || from.integer < 0 ||
          to.integer >= kSlotCount || from.integer > to.integer)
        continue;
      const std::string host = primary.elements[0].str.empty() ? n->host : primary.elements[0].str;
      const std::string a = host + ":" + std::to_string(primary.elements[1].integer);
      const std::uint16_t i = index_of(a);
      for (long long s = from.integer; s <= to.integer; ++s) {
        owner[std::size_t(s)] = i;
        covered[std::size_t(s)] = true;
      }
      // Replicas too become known nodes: one of them may be promoted.
      for (std::size_t k = 2; k < range.elements.size(); ++k) {
        const Reply& node_reply = range.elements[k];
        if (node_reply.type != Reply::Type::kArray || node_reply.elements.size() < 2) continue;
        const std::string nh =
            node_reply.elements[0].str.empty() ? n->host : node_reply.elements[0].str;
        const std::string na = nh + ":" + std::to_string(node_reply.elements[1].integer);
        if (std::find(known_.begin(), known_.end(), na) == known_.end()) known_.push_back(na);
      }
    }
    const bool complete = std::all_of(covered.begin(), covered.end(), [](bool c) { return c; });
    if (!complete && !have_map_) {
      last_error = address + ": CLUSTER SLOTS leaves slots without a node";
      continue;
    }
    bool moved = false;
    for (std::size_t s = 0; have_map_ && s < std::size_t(kSlotCount); ++s)
      moved = moved || owners[owner[s]] != owners_[slot_owner_[s]];
    if (moved) failovers_.fetch_add(1, std::memory_order_relaxed);
    slot_owner_ = owner;
    owners_ = std::move(owners);
    have_map_ = true;
    return {};
  }
  return make_error("redis_unreachable", "redis cluster: no slot map: " + last_error);
}

std::vector<Result<Reply>> ClusterClient::run(const std::vector<Command>& commands) {
  std::vector<Result<Reply>> results(commands.size(),
                                     Result<Reply>(make_error("redis_unreachable", "not sent")));
  commands_.fetch_add(commands.size(), std::memory_order_relaxed);
  std::vector<std::size_t> pending(commands.size());
  std::iota(pending.begin(), pending.end(), std::size_t(0));
  std::vector<std::string> ask_to(commands.size());
  static const Args kAsking{"ASKING"};
  bool need_refresh = !have_map_;
  for (int attempt = 0; attempt < kAttempts && !pending.empty(); ++attempt) {
    if (need_refresh) {
      need_refresh = false;
      if (Status s = refresh(); !s && !have_map_) {
        for (std::size_t i : pending) results[i] = s.error();
        break;
      }
    }
    std::map<std::string, std::vector<std::size_t>> by_node;
    for (std::size_t i : pending) {
      const Command& c = commands[i];
      const std::string& address =
          !ask_to[i].empty() ? ask_to[i]
                             : owners_[slot_owner_[std::size_t(key_slot(c.args.at(c.key_index)))]];
      by_node[address].push_back(i);
    }
    std::vector<std::size_t> again;
    for (auto& [address, indices] : by_node) {
      Node* n = node(address);
      if (n == nullptr) {
        for (std::size_t i : indices) results[i] = make_error("redis_unreachable", connect_error_);
        again.insert(again.end(), indices.begin(), indices.end());
        need_refresh = true;
        continue;
      }
      std::vector<const Args*> batch;
      for (std::size_t i : indices) {
        if (!ask_to[i].empty()) batch.push_back(&kAsking);
        batch.push_back(&commands[i].args);
      }
      const auto t0 = std::chrono::steady_clock::now();
      auto replies = n->conn->pipeline(batch);
      round_trip_took(std::uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now() - t0)
                                        .count()));
      if (!replies) {
        for (std::size_t i : indices) results[i] = replies.error();
        again.insert(again.end(), indices.begin(), indices.end());
        n->conn.reset();
        need_refresh = true;
        continue;
      }
      std::size_t pos = 0;
      for (std::size_t i : indices) {
        if (!ask_to[i].empty()) ++pos;  // ASKING's +OK
        Reply& r = (*replies)[pos++];
        ask_to[i].clear();
        if (!r.is_error()) {
          results[i] = std::move(r);
          continue;
        }
        results[i] = make_error("redis_error", "redis " + address + ": " + r.str);
        if (auto redirect = parse_redirect(r.str)) {
          const std::string to = (redirect->host.empty() ? n->host : redirect->host) + ":" +
                                 std::to_string(redirect->port);
          if (redirect->kind == Redirect::Kind::kAsk) {
            ask_.fetch_add(1, std::memory_order_relaxed);
            ask_to[i] = to;
          } else {
            moved_.fetch_add(1, std::memory_order_relaxed);
            auto it = std::find(owners_.begin(), owners_.end(), to);
            if (it == owners_.end()) {
              owners_.push_back(to);
              it = owners_.end() - 1;
            }
            slot_owner_[std::size_t(redirect->slot)] = std::uint16_t(it - owners_.begin());
            need_refresh = true;
          }
          again.push_back(i);
        } else if (transient(r.str)) {
          need_refresh = true;
          again.push_back(i);
        }
      }
    }
    pending = std::move(again);
  }
  for (const Result<Reply>& r : results)
    if (!r) errors_.fetch_add(1, std::memory_order_relaxed);
  return results;
}

ClusterClient::Stats ClusterClient::stats() const {
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return Stats{get(round_trips_), get(commands_),  get(errors_),    get(moved_),
               get(ask_),         get(refreshes_), get(failovers_), get(reconnects_)};
}

void ClusterClient::render_metrics(std::string& out) const {
  const Stats s = stats();
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  counter("mamori_redis_round_trips_total",
          "Pipelines sent to a Redis node and answered or failed.", s.round_trips);
  counter("mamori_redis_commands_total", "Commands run on the Redis Cluster.", s.commands);
  counter("mamori_redis_errors_total",
          "Commands that failed (node unreachable, error reply) after their retries.", s.errors);
  out +=
      "# HELP mamori_redis_redirects_total Replies that sent a command to another node.\n"
      "# TYPE mamori_redis_redirects_total counter\n"
      "mamori_redis_redirects_total{kind=\"moved\"} " +
      std::to_string(s.moved) + "\nmamori_redis_redirects_total{kind=\"ask\"} " +
      std::to_string(s.ask) + "\n";
  counter("mamori_redis_slot_map_refreshes_total", "Reads of the slot map (CLUSTER SLOTS).",
          s.refreshes);
  counter("mamori_redis_failovers_total",
          "Slot map reads that found slots on another primary than before (a failover or a "
          "resharding).",
          s.failovers);
  counter("mamori_redis_reconnects_total", "Connections made again to a node after one broke.",
          s.reconnects);
  out +=
      "# HELP mamori_redis_round_trip_seconds Time of one pipeline to one Redis node.\n"
      "# TYPE mamori_redis_round_trip_seconds histogram\n";
  std::uint64_t cumulative = 0;
  char line[128];
  for (std::size_t b = 0; b <= kBucketsUs.size(); ++b) {
    cumulative += latency_buckets_[b].load(std::memory_order_relaxed);
    if (b < kBucketsUs.size())
      std::snprintf(line, sizeof line, "mamori_redis_round_trip_seconds_bucket{le=\"%g\"} %llu\n",
                    double(kBucketsUs[b]) / 1e6, static_cast<unsigned long long>(cumulative));
    else
      std::snprintf(line, sizeof line, "mamori_redis_round_trip_seconds_bucket{le=\"+Inf\"} %llu\n",
                    static_cast<unsigned long long>(cumulative));
    out += line;
  }
  std::snprintf(line, sizeof line, "mamori_redis_round_trip_seconds_sum %g\n",
                double(latency_sum_us_.load(std::memory_order_relaxed)) / 1e6);
  out += line;
  out += "mamori_redis_round_trip_seconds_count " + std::to_string(cumulative) + "\n";
}

}  // namespace mamori::redis
