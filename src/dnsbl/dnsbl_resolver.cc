#include "dnsbl/dnsbl_resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/log.h"

namespace mamori::dnsbl {

namespace {
constexpr char kHex[] = "0123456789abcdef";
ares_channel chan(void* p) { return static_cast<ares_channel>(p); }

bool valid_zone(std::string_view z) {
  if (z.empty() || z.size() > 180 || z.front() == '.' || z.back() == '.') return false;
  return std::all_of(z.begin(), z.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
  });
}
}  // namespace

std::string query_name(const IpAddress& ip, std::string_view zone) {
  std::string n;
  const auto& b = ip.bytes();
  if (ip.is_v4()) {
    for (int i = 15; i >= 12; --i) n += std::to_string(b[i]) + ".";
  } else {
    for (int i = 15; i >= 0; --i) {
      n += kHex[b[i] & 0xf];
      n += '.';
      n += kHex[b[i] >> 4];
      n += '.';
    }
  }
  n += zone;
  return n;
}

bool is_listing(std::uint32_t a) { return (a >> 24) == 127 && (a >> 8) != 0x7fffff; }

// One IP being looked up in every zone.
struct DnsblResolver::Pending {
  IpAddress ip;
  std::vector<Done> waiters;
  std::vector<int> answers;  // per zone: -1 not yet, 0 not listed, 1 listed
  std::vector<Duration> ttls;
  std::size_t remaining = 0;
  bool failed = false;  // an answer other than a record or NXDOMAIN
  bool finished = false;
  TimePoint deadline{};
};

struct DnsblResolver::Query {
  DnsblResolver* self;
  std::shared_ptr<Pending> pending;
  std::size_t zone;
};

DnsblResolver::DnsblResolver(DnsblConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      cache_budget_(std::max<std::size_t>(config_.cache_entries, 1) * 96),
      cache_(cache_budget_, 16) {}

Result<std::unique_ptr<DnsblResolver>> DnsblResolver::start(DnsblConfig config, const Clock& clock) {
  for (const std::string& z : config.zones)
    if (!valid_zone(z)) return make_error("invalid_dnsbl", "dnsbl zone '" + z + "' is not a DNS name");
  if (config.timeout.count() <= 0) return make_error("invalid_dnsbl", "dnsbl timeout must be positive");
  std::unique_ptr<DnsblResolver> r(new DnsblResolver(std::move(config), clock));
  if (Status s = r->init(); !s) return s.error();
  r->thread_ = std::thread([p = r.get()] { p->run(); });
  return r;
}

Status DnsblResolver::init() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_options opts{};
  opts.timeout = int(config_.timeout.count());
  opts.tries = 1;
  opts.flags = ARES_FLAG_NOCHECKRESP;  // hand REFUSED/SERVFAIL to the callback as they are
  ares_channel c = nullptr;
  if (int rc = ares_init_options(&c, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
      rc != ARES_SUCCESS)
    return make_error("dnsbl_failed", std::string("c-ares: ") + ares_strerror(rc));
  channel_ = c;
  if (!config_.servers.empty()) {
    if (int rc = ares_set_servers_ports_csv(c, config_.servers.c_str()); rc != ARES_SUCCESS)
      return make_error("invalid_dnsbl", "dnsbl servers '" + config_.servers + "': " + ares_strerror(rc));
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return make_error("dnsbl_failed", "eventfd failed");
  return {};
}

DnsblResolver::~DnsblResolver() {
  stopping_ = true;
  if (wake_fd_ >= 0) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (channel_) ares_destroy(chan(channel_));  // answers outstanding queries with ARES_EDESTRUCTION
  std::vector<std::shared_ptr<Pending>> left;
  for (auto& [ip, p] : in_flight_) left.push_back(p);
  for (auto& p : left) finish(p, false);  // finish() erases from in_flight_
  for (Request& r : queue_)
    if (r.done) r.done("");
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool DnsblResolver::cached(const IpAddress& ip, std::string& zone) const {
  const TimePoint now = clock_.now();
  bool hit = false;
  cache_.read(ip, [&](const CacheEntry& e) {
    if (e.expires > now) {
      hit = true;
      zone = e.zone;
    }
  });
  return hit;
}

void DnsblResolver::enqueue(Request r) const {
  {
    std::unique_lock lock(queue_mu_);
    if (queue_.size() >= 100'000) {  // the resolver is far behind: fail open at once
      lock.unlock();
      metrics_.errors.fetch_add(1, std::memory_order_relaxed);
      if (r.done) r.done("");
      return;
    }
    queue_.push_back(std::move(r));
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
}

void DnsblResolver::check(const IpAddress& ip, Done done) {
  std::string zone;
  if (config_.zones.empty()) return done("");
  if (cached(ip, zone)) {
    metrics_.cache_hits.fetch_add(1, std::memory_order_relaxed);
    return done(zone);
  }
  enqueue(Request{ip, std::move(done)});
}

std::string DnsblResolver::listed(const IpAddress& ip) const {
  std::string zone;
  if (config_.zones.empty()) return zone;
  if (cached(ip, zone)) {
    metrics_.cache_hits.fetch_add(1, std::memory_order_relaxed);
    return zone;
  }
  enqueue(Request{ip, nullptr});
  return zone;
}

void DnsblResolver::start_lookup(Request r) {
  if (auto it = in_flight_.find(r.ip); it != in_flight_.end()) {
    if (r.done) it->second->waiters.push_back(std::move(r.done));
    return;
  }
  std::string zone;
  if (cached(r.ip, zone)) {  // answered while this request waited in the queue
    if (r.done) r.done(zone);
    return;
  }
  metrics_.lookups.fetch_add(1, std::memory_order_relaxed);
  auto p = std::make_shared<Pending>();
  p->ip = r.ip;
  if (r.done) p->waiters.push_back(std::move(r.done));
  p->answers.assign(config_.zones.size(), -1);
  p->ttls.assign(config_.zones.size(), config_.negative_ttl);
  p->remaining = config_.zones.size();
  p->deadline = clock_.now() + config_.timeout;
  in_flight_.emplace(r.ip, p);
  for (std::size_t z = 0; z < config_.zones.size(); ++z) {
    const std::string name = query_name(r.ip, config_.zones[z]);
    ares_query(chan(channel_), name.c_str(), C_IN, T_A, &DnsblResolver::on_answer,
               new Query{this, p, z});
  }
}

void DnsblResolver::on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
  std::unique_ptr<Query> q(static_cast<Query*>(arg));
  Pending& p = *q->pending;
  if (p.finished) return;
  DnsblResolver& self = *q->self;
  if (status == ARES_SUCCESS) {
    ares_addrttl addrs[16];
    int n = 16;
    int answer = 0;
    Duration ttl = self.config_.negative_ttl;
    if (ares_parse_a_reply(abuf, alen, nullptr, addrs, &n) == ARES_SUCCESS) {
      for (int i = 0; i < n; ++i) {
        if (is_listing(ntohl(addrs[i].ipaddr.s_addr))) {
          answer = 1;
          ttl = std::min<Duration>(std::chrono::seconds(std::max(addrs[i].ttl, 1)),
                                   self.config_.max_ttl);
        }
      }
    }
    p.answers[q->zone] = answer;
    p.ttls[q->zone] = ttl;
  } else if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
    p.answers[q->zone] = 0;  // NXDOMAIN or no A record: not listed
  } else {
    if (status == ARES_ETIMEOUT) self.metrics_.timeouts.fetch_add(1, std::memory_order_relaxed);
    else if (status != ARES_EDESTRUCTION) self.metrics_.errors.fetch_add(1, std::memory_order_relaxed);
    p.failed = true;
  }
  if (--p.remaining == 0) self.finish(q->pending, false);
}

void DnsblResolver::finish(const std::shared_ptr<Pending>& p, bool timed_out) {
  if (p->finished) return;
  p->finished = true;
  if (timed_out) metrics_.timeouts.fetch_add(1, std::memory_order_relaxed);
  std::string zone;
  Duration ttl = config_.negative_ttl;
  for (std::size_t z = 0; z < p->answers.size(); ++z) {
    if (p->answers[z] == 1) {
      zone = config_.zones[z];
      ttl = p->ttls[z];
      break;
    }
  }
  // A listing is worth keeping even when another zone did not answer; a
  // "not listed" only when every zone said so.
  const bool complete = !timed_out && !p->failed;
  if (!zone.empty() || complete) {
    metrics_.listed.fetch_add(zone.empty() ? 0 : 1, std::memory_order_relaxed);
    cache_.update(p->ip, [&](CacheEntry& e) {
      e.zone = zone;
      e.expires = clock_.now() + ttl;
    });
  }
  in_flight_.erase(p->ip);
  for (Done& d : p->waiters) d(zone);
  p->waiters.clear();
}

void DnsblResolver::run() {
  std::vector<Request> batch;
  while (!stopping_) {
    pollfd fds[ARES_GETSOCK_MAXNUM + 1];
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(chan(channel_), socks, ARES_GETSOCK_MAXNUM);
    nfds_t n = 0;
    fds[n++] = pollfd{wake_fd_, POLLIN, 0};
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short ev = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
      if (ev) fds[n++] = pollfd{socks[i], ev, 0};
    }
    // Wake for c-ares' own timeouts and for the earliest lookup deadline.
    timeval tv{}, max{1, 0};
    timeval* t = ares_timeout(chan(channel_), &max, &tv);
    long wait_ms = t->tv_sec * 1000 + t->tv_usec / 1000 + 1;
    const TimePoint now = clock_.now();
    for (const auto& [ip, p] : in_flight_)
      wait_ms = std::min<long>(wait_ms, std::max<long>(0, (p->deadline - now).count()));
    poll(fds, n, int(wait_ms));

    if (fds[0].revents & POLLIN) {
      std::uint64_t v;
      [[maybe_unused]] auto r = read(wake_fd_, &v, sizeof v);
      {
        std::lock_guard lock(queue_mu_);
        batch.swap(queue_);
      }
      for (Request& req : batch) start_lookup(std::move(req));
      batch.clear();
    }
    bool any = false;
    for (nfds_t i = 1; i < n; ++i) {
      if (!fds[i].revents) continue;
      any = true;
      const bool rd = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
      const bool wr = fds[i].revents & POLLOUT;
      ares_process_fd(chan(channel_), rd ? fds[i].fd : ARES_SOCKET_BAD,
                      wr ? fds[i].fd : ARES_SOCKET_BAD);
    }
    if (!any) ares_process_fd(chan(channel_), ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
    // Our own deadline: whatever has not answered by now is "not listed".
    const TimePoint after = clock_.now();
    std::vector<std::shared_ptr<Pending>> late;
    for (const auto& [ip, p] : in_flight_)
      if (p->deadline <= after) late.push_back(p);
    for (auto& p : late) finish(p, true);
  }
}

void DnsblResolver::render_metrics(std::string& out) const {
  char buf[1400];
  std::snprintf(
      buf, sizeof buf,
      "# HELP mamori_dnsbl_lookups_total IPs looked up in the DNS blocklists (cache misses).\n"
      "# TYPE mamori_dnsbl_lookups_total counter\nmamori_dnsbl_lookups_total %llu\n"
      "# HELP mamori_dnsbl_listed_total Lookups that found the IP listed.\n"
      "# TYPE mamori_dnsbl_listed_total counter\nmamori_dnsbl_listed_total %llu\n"
      "# HELP mamori_dnsbl_timeouts_total Lookups not answered in time (treated as not listed).\n"
      "# TYPE mamori_dnsbl_timeouts_total counter\nmamori_dnsbl_timeouts_total %llu\n"
      "# HELP mamori_dnsbl_errors_total DNS errors other than timeouts (treated as not listed).\n"
      "# TYPE mamori_dnsbl_errors_total counter\nmamori_dnsbl_errors_total %llu\n"
      "# HELP mamori_dnsbl_cache_hits_total Answers taken from the cache.\n"
      "# TYPE mamori_dnsbl_cache_hits_total counter\nmamori_dnsbl_cache_hits_total %llu\n",
      (unsigned long long)metrics_.lookups.load(), (unsigned long long)metrics_.listed.load(),
      (unsigned long long)metrics_.timeouts.load(), (unsigned long long)metrics_.errors.load(),
      (unsigned long long)metrics_.cache_hits.load());
  out += buf;
}

}  // namespace mamori::dnsbl
