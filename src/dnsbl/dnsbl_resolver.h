#ifndef MAMORI_DNSBL_DNSBL_RESOLVER_H_
#define MAMORI_DNSBL_DNSBL_RESOLVER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/blocklist.h"
#include "core/clock.h"
#include "core/ip_address.h"
#include "core/result.h"
#include "state/memory_budget.h"
#include "state/sharded_lru.h"

namespace mamori::dnsbl {

struct DnsblConfig {
  std::vector<std::string> zones;  // "zen.spamhaus.org", ...; none: DNSBL off
  std::chrono::milliseconds timeout{1500};  // a lookup not answered by then is "not listed"
  // DNS servers as "IP", "IP:PORT" or "[IPv6]:PORT", comma-separated; empty:
  // the system's (/etc/resolv.conf).
  std::string servers;
  std::size_t cache_entries = 100'000;
  Duration negative_ttl = std::chrono::minutes(5);  // how long "not listed" is remembered
  Duration max_ttl = std::chrono::hours(1);         // a listing's TTL is capped at this
};

// The DNS name asking `zone` about `ip`: IPv4 reversed octets
// ("5.113.0.203.zen.example"), IPv6 reversed nibbles (32 labels).
std::string query_name(const IpAddress& ip, std::string_view zone);

// True when an A record answered by a blocklist means "listed": an address
// in 127.0.0.0/8 other than 127.255.255.0/24 (the zones' error codes, such as
// "you queried through a public resolver").
bool is_listing(std::uint32_t host_order_v4);

// Asks the configured DNS blocklist zones whether an IP is listed, with
// c-ares on a thread of its own (no caller ever waits on the network), and
// remembers each answer for its TTL (a listing) or negative_ttl (NXDOMAIN)
// in a bounded cache. A lookup that times out or fails counts as not listed
// (fail open) and is not cached. Thread-safe.
class DnsblResolver final : public Blocklist {
 public:
  using Done = std::function<void(const std::string& zone)>;

  // Starts the resolver thread. Fails with `invalid_dnsbl` for bad servers
  // or zones, `dnsbl_failed` when c-ares cannot start.
  static Result<std::unique_ptr<DnsblResolver>> start(DnsblConfig config, const Clock& clock);
  ~DnsblResolver() override;  // stops the thread; pending lookups are answered "not listed"
  DnsblResolver(const DnsblResolver&) = delete;
  DnsblResolver& operator=(const DnsblResolver&) = delete;

  // Calls done(zone) with the first configured zone that lists `ip`, or an
  // empty zone: at once (on this thread) when the cache knows, otherwise on
  // the resolver thread when every zone has answered or the timeout passed.
  void check(const IpAddress& ip, Done done);

  // Blocklist: the cached answer only; a miss starts a lookup for next time.
  std::string listed(const IpAddress& ip) const override;

  // Prometheus text: lookups, listed, timeouts, errors, cache hits.
  void render_metrics(std::string& out) const;

  struct Metrics {
    std::atomic<std::uint64_t> lookups{0}, listed{0}, timeouts{0}, errors{0}, cache_hits{0};
  };
  const Metrics& metrics() const { return metrics_; }

 private:
  struct Pending;
  struct Query;
  struct Request {
    IpAddress ip;
    Done done;
  };
  struct CacheEntry {
    std::string zone;
    TimePoint expires{};
    std::size_t memory_bytes() const { return zone.size() > 15 ? zone.capacity() + 1 : 0; }
  };
  struct IpHash {
    std::size_t operator()(const IpAddress& a) const { return std::size_t(a.hash()); }
  };

  DnsblResolver(DnsblConfig config, const Clock& clock);
  Status init();
  bool cached(const IpAddress& ip, std::string& zone) const;
  void enqueue(Request r) const;
  void run();
  void start_lookup(Request r);
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void finish(const std::shared_ptr<Pending>& p, bool timed_out);

  const DnsblConfig config_;
  const Clock& clock_;
  mutable Metrics metrics_;
  mutable state::MemoryBudget cache_budget_;
  mutable state::ShardedLru<IpAddress, CacheEntry, IpHash> cache_;

  mutable std::mutex queue_mu_;
  mutable std::vector<Request> queue_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  void* channel_ = nullptr;  // ares_channel, touched only by the resolver thread after init
  // Resolver thread only.
  std::unordered_map<IpAddress, std::shared_ptr<Pending>, IpHash> in_flight_;
  std::thread thread_;
};

}  // namespace mamori::dnsbl

#endif  // MAMORI_DNSBL_DNSBL_RESOLVER_H_
