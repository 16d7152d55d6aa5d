#ifndef MAMORI_SERVER_FIREWALL_SYNC_H_
#define MAMORI_SERVER_FIREWALL_SYNC_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/ip_address.h"
#include "engine/engine.h"
#include "firewall/firewall.h"

namespace mamori::server {

// [firewall]: kernel enforcement of blocks and deny-list entries.
struct FirewallConfig {
  bool nftables = false;         // off by default: changing the host's firewall is opt-in
  std::string table = "mamori";  // nftables table (family inet) mamori owns
  // Also drop the source of each per-account block (brute_force's account_ip
  // blocks) for every account, as fail2ban does; off: only whole-source
  // blocks (ip, network) and deny-list IPs and CIDRs reach the kernel.
  bool account_ip_blocks = false;
  Duration batch_every = std::chrono::milliseconds(100);  // changes coalesce this long
};

// An address or network the kernel should drop, until a time (none: until
// taken out).
struct Denied {
  Cidr network;
  std::optional<TimePoint> until;
};

struct CidrHash {
  std::size_t operator()(const Cidr& c) const {
    return std::size_t(c.network().hash() * 31 + std::uint64_t(c.prefix()));
  }
};
using DeniedMap = std::unordered_map<Cidr, std::optional<TimePoint>, CidrHash>;

// What the kernel sets should hold, from `candidates` (duplicates allowed).
// The same network twice keeps the later end. An element inside another one
// is left out (interval sets refuse overlapping networks, and an address in
// a denied /24 needs no element of its own); when it outlives the one it is
// inside, `recheck_at` says when to work the set out again. Loopback
// addresses are never dropped.
struct DeniedSet {
  DeniedMap elements;
  std::optional<TimePoint> recheck_at;
};
DeniedSet denied_set(const std::vector<Denied>& candidates);

// The batch that takes the kernel from `applied` (what the last batches put
// there) to `wanted`, with timeouts counted from `now`. Entries of `applied`
// that have ended by `now` are taken as expired in the kernel. With
// `restore`, one batch that recreates the table holding `wanted` only.
firewall::Batch plan_batch(const DeniedMap& applied, const DeniedMap& wanted, TimePoint now,
                           bool restore);

// The candidates from the engine: ip and network blocks that deny (and
// account_ip blocks when configured), and active deny-list IPs and CIDRs.
std::vector<Denied> denied_candidates(const engine::BlockTable& blocks,
                                      const engine::ListIndex& lists, const FirewallConfig& config,
                                      TimePoint now);

// Mirrors the engine's blocks and deny list into a Firewall. The first
// sync_now() restores everything live in one batch (table recreated); after
// that a thread looks every `batch_every` and sends what changed as one
// batch. A failed batch is logged, counted, and followed by a full restore
// (after 1 s, doubling to 60 s while it keeps failing); the daemon keeps
// answering meanwhile. Thread-safe; the engine and firewall must outlive it.
class FirewallSync {
 public:
  FirewallSync(engine::Engine& engine, firewall::Firewall& fw, FirewallConfig config,
               const Clock& clock);
  ~FirewallSync();
  FirewallSync(const FirewallSync&) = delete;
  FirewallSync& operator=(const FirewallSync&) = delete;

  // Sends what changed now (everything, the first time). Returns the batch's
  // outcome (ok when there was nothing to send).
  Status sync_now();
  void start();
  void stop();
  void render_metrics(std::string& out) const;
  std::size_t elements() const { return applied_count_.load(); }

 private:
  Status sync_locked(bool force);

  engine::Engine& engine_;
  firewall::Firewall& fw_;
  const FirewallConfig config_;
  const Clock& clock_;

  std::mutex mu_;  // one sync at a time; guards the members below
  DeniedMap applied_;
  bool restored_ = false;
  std::uint64_t seen_version_ = ~std::uint64_t(0);
  // Held, so that a new index can never be allocated where it was.
  std::shared_ptr<const engine::ListIndex> seen_lists_;
  std::optional<TimePoint> recheck_at_;
  TimePoint retry_at_{};
  Duration backoff_ = std::chrono::seconds(1);
  std::string last_error_;

  std::atomic<std::uint64_t> added_{0}, removed_{0}, refreshed_{0}, batches_{0}, errors_{0};
  std::atomic<std::uint64_t> batch_us_sum_{0}, last_batch_us_{0}, last_batch_elements_{0};
  std::atomic<std::size_t> applied_count_{0};

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mamori::server

#endif  // MAMORI_SERVER_FIREWALL_SYNC_H_
