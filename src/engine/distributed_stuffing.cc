#include "engine/distributed_stuffing.h"

#include <algorithm>

#include "core/hash.h"
#include "engine/device.h"

namespace mamori::engine {

namespace {

enum Kind : std::uint8_t { kPrefix, kAsn, kAgent, kClient, kKinds };

// A fingerprint with a login from a known device within this long is an
// honest one: a browser's TLS fingerprint that few of the service's users
// have is still theirs when an attacker copies it. One entry per such
// fingerprint (hundreds, not one per address) stays this long.
constexpr std::int64_t kKnownForMs = 30LL * 24 * 3600 * 1000;

std::uint64_t source_key(Kind kind, std::uint64_t h) { return hash_combine(h, 0x5d5700 + kind); }

std::uint32_t threshold_of(const DistributedStuffingConfig& c, Kind kind) {
  switch (kind) {
    case kPrefix:
      return c.prefix_threshold;
    case kAsn:
      return c.asn_threshold;
    default:
      return c.fingerprint_threshold;
  }
}

// Hot: enough distinct failing accounts, and failures a large enough share
// of the source's logins.
bool is_hot(const DistributedStuffingConfig& c, std::size_t accounts, std::uint32_t threshold,
            std::uint64_t failures, std::uint64_t successes) {
  return accounts >= threshold && failures * 100 >= c.min_failure_percent * (failures + successes);
}

// A fingerprint that may be denied: the app's client fingerprint (a TLS or
// header fingerprint honest users share keeps a high share of successes), or
// an app's user agent; never a browser's, which honest users share.
bool deniable(Kind kind, std::string_view fingerprint) {
  return kind == kClient || fingerprint.starts_with("app:");
}

int wide_prefix(const DistributedStuffingConfig& c, const IpAddress& ip) {
  return ip.is_v4() ? c.prefix_v4 : c.prefix_v6;
}

}  // namespace

std::string agent_fingerprint_of(const Event& e) {
  std::string out;
  if (!e.user_agent.empty()) {
    const UserAgentSummary s = summarize_user_agent(e.user_agent);
    const std::string_view version = user_agent_major_version(e.user_agent);
    if (s.family == "Other" && s.os == "Other") {
      // An app's own user agent ("python-requests/2.31.0"): its name and major version.
      const std::string_view ua = e.user_agent;
      const std::string_view name = ua.substr(0, std::min<std::size_t>(ua.find('/'), 64));
      out = "app:";
      out += name;
      if (name.size() < ua.size()) {
        std::string_view rest = ua.substr(name.size() + 1);
        std::size_t n = 0;
        while (n < rest.size() && n < 8 && rest[n] >= '0' && rest[n] <= '9') ++n;
        out += '/';
        out += rest.substr(0, n);
      }
    } else {
      out.reserve(32);
      out += s.family;
      out += '/';
      out += version;
      out += '/';
      out += s.os;
    }
  }
  return out;
}

std::string client_fingerprint_key(const Event& e) {
  return e.client_fingerprint.empty() ? std::string() : "client:" + e.client_fingerprint;
}

DistributedStuffing::Count DistributedStuffing::count_failure(
    const DistributedStuffingConfig& config, std::uint64_t key, std::uint32_t threshold,
    const Event& e) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  Count c;
  sources_.update(key, [&](Source& s, state::Worth& worth) {
    const std::size_t n = s.accounts.add(e.account, now, window, threshold);
    s.failures.add(now, window);
    const std::uint32_t failures = s.failures.count(now, window);
    const std::uint32_t successes = s.successes.count(now, window);
    worth = std::max(worth, state::worth_of(n, threshold));
    if (is_hot(config, n, threshold, failures, successes)) {
      c.hot = true;
      c.deny = std::uint64_t(failures) * 100 >=
                   std::uint64_t(config.deny_failure_percent) * (failures + successes) &&
               (s.known_ms == 0 || s.known_ms <= now - kKnownForMs);
    }
  });
  return c;
}

std::size_t DistributedStuffing::note_hot(std::uint64_t key, std::string_view name,
                                          std::int64_t now, std::int64_t window,
                                          std::vector<std::string>* all) {
  std::lock_guard lock(recent_mu_);
  Recent* slot = nullptr;
  for (Recent& r : recent_) {
    if (r.key == key) {
      slot = &r;
      break;
    }
    if (slot == nullptr || r.last_ms < slot->last_ms) slot = &r;
  }
  if (slot->key != key) {
    slot->key = key;
    slot->name.assign(name);
  }
  slot->last_ms = std::max(slot->last_ms, now);
  std::size_t n = 0;
  for (const Recent& r : recent_) {
    if (r.key == 0 || r.last_ms <= now - window) continue;
    ++n;
    if (all != nullptr) all->push_back(r.name);
  }
  return n;
}

DistributedStuffing::Step DistributedStuffing::on_failure(const DistributedStuffingConfig& config,
                                                          const Event& e, std::uint32_t asn,
                                                          std::string_view agent,
                                                          std::vector<Finding>& out) {
  Step step;
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  const IpAddress prefix = e.ip.masked(wide_prefix(config, e.ip));
  std::array<std::uint64_t, kKinds> keys{};
  keys[kPrefix] = source_key(kPrefix, prefix.hash());
  if (asn != 0) keys[kAsn] = source_key(kAsn, asn);
  const std::string client = client_fingerprint_key(e);
  std::array<std::string_view, kKinds> fingerprint{};
  fingerprint[kAgent] = agent;
  fingerprint[kClient] = client;
  for (int k : {kAgent, kClient})
    if (!fingerprint[k].empty()) keys[k] = source_key(Kind(k), hash_bytes(fingerprint[k]));
  auto name_of = [&](int kind) {
    switch (kind) {
      case kPrefix:
        return Cidr(prefix, wide_prefix(config, e.ip)).to_string();
      case kAsn:
        return "AS" + std::to_string(asn);
      default:
        return "fingerprint:" + std::string(fingerprint[kind]);
    }
  };

  std::array<bool, kKinds> hot{}, deny{};
  for (int k = 0; k < kKinds; ++k) {
    if (keys[k] == 0) continue;
    const Count c = count_failure(config, keys[k], threshold_of(config, Kind(k)), e);
    hot[k] = c.hot;
    deny[k] = c.deny && deniable(Kind(k), fingerprint[k]);
  }
  step.hot = hot[kPrefix] || hot[kAsn] || hot[kAgent] || hot[kClient];
  const bool denied = deny[kAgent] || deny[kClient];
  step.prefix_hot = hot[kPrefix];
  bool started = false;
  std::vector<std::string> all;
  bool raise = false;
  if (step.hot) {
    std::size_t n = 0;
    for (int k = 0; k < kKinds; ++k)
      if (hot[k]) n = note_hot(keys[k], name_of(k), now, window, nullptr);
    raise = n >= config.min_hot_sources || denied;
  }
  const bool service = config.baseline.enabled && baseline_.over(config.baseline, e.time);
  if (raise || service) {
    const std::int64_t until = now + config.raise_for.count();
    std::int64_t prev = wave_until_ms_.load(std::memory_order_relaxed);
    while (prev < until && !wave_until_ms_.compare_exchange_weak(prev, until)) {
    }
    if (prev <= now) {
      wave_since_ms_.store(now, std::memory_order_relaxed);
      wave_number_.fetch_add(1, std::memory_order_relaxed);
      started = true;
      // The wave's incident starts with every source hot within the window.
      for (int k = 0; k < kKinds && all.empty(); ++k)
        if (hot[k]) note_hot(keys[k], name_of(k), now, window, &all);
      if (service) all.push_back("service: " + baseline_.why());
    }
  }
  for (int k : {kAgent, kClient}) {
    if (!deny[k]) continue;
    Finding f;
    f.reason = Reason::kDistributedStuffing;
    f.action = Action::kDeny;
    f.block = BlockKey::fingerprint(fingerprint[k]);
    f.target = std::string(fingerprint[k]);
    f.block_for = config.block;
    f.risk = kRiskDistributedStuffing;
    f.incident = store::IncidentKind::kDistributedStuffing;
    f.incident_key = std::string(kIncidentKey);
    f.source = name_of(k);
    out.push_back(std::move(f));
  }
  step.wave = wave(e.time);
  if (!step.wave) return step;

  if (started) {
    step.sources = std::move(all);
  } else {
    for (int k = 0; k < kKinds; ++k)
      if (hot[k]) step.sources.push_back(name_of(k));
  }
  step.accounts.push_back({e.account, false, e.time});
  // A hot source's first failure in this wave brings the accounts it failed
  // on before.
  const std::uint32_t number = wave_number_.load(std::memory_order_relaxed);
  for (int k = 0; k < kKinds; ++k) {
    if (!hot[k]) continue;
    sources_.update_if_present(keys[k], [&](Source& s, state::Worth&) {
      if (s.wave == number) return;
      s.wave = number;
      s.accounts.for_each_seen(now, window, [&](std::string_view a, std::int64_t seen) {
        if (a != e.account) step.accounts.push_back({std::string(a), false, from_unix_ms(seen)});
      });
    });
  }
  return step;
}

bool DistributedStuffing::on_success(const DistributedStuffingConfig& config, const Event& e,
                                     std::uint32_t asn, std::string_view agent) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  bool hot = false;
  auto count = [&](Kind kind, std::uint64_t key) {
    const std::uint32_t threshold = threshold_of(config, kind);
    sources_.update_if_present(key, [&](Source& s, state::Worth&) {
      s.successes.add(now, window);
      const std::uint32_t failures = s.failures.count(now, window);
      const std::uint32_t successes = s.successes.count(now, window);
      if (is_hot(config, s.accounts.count(now, window), threshold, failures, successes)) hot = true;
    });
  };
  count(kPrefix, source_key(kPrefix, e.ip.masked(wide_prefix(config, e.ip)).hash()));
  if (asn != 0) count(kAsn, source_key(kAsn, asn));
  if (!agent.empty()) count(kAgent, source_key(kAgent, hash_bytes(agent)));
  if (!e.client_fingerprint.empty())
    count(kClient, source_key(kClient, hash_bytes(client_fingerprint_key(e))));
  return hot;
}

void DistributedStuffing::on_known_device(const DistributedStuffingConfig& config, const Event& e,
                                          std::string_view agent) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  auto mark = [&](std::uint64_t key) {
    sources_.update(key, [&](Source& s, state::Worth&) {
      // A new entry: on_success() could not count this login.
      if (s.known_ms == 0 && s.failures.empty(now, window)) s.successes.add(now, window);
      s.known_ms = now;
    });
  };
  if (!agent.empty()) mark(source_key(kAgent, hash_bytes(agent)));
  if (!e.client_fingerprint.empty())
    mark(source_key(kClient, hash_bytes(client_fingerprint_key(e))));
}

Finding DistributedStuffing::narrow_finding(const DistributedStuffingConfig& config,
                                            const Event& e) const {
  Finding f;
  f.reason = Reason::kDistributedStuffing;
  f.action = Action::kDeny;
  f.block = BlockKey::network(e.ip);
  f.target = Cidr(e.ip.aggregate_network(), e.ip.aggregate_prefix()).to_string();
  f.block_for = config.block;
  f.risk = kRiskDistributedStuffing;
  f.incident = store::IncidentKind::kDistributedStuffing;
  f.incident_key = std::string(kIncidentKey);
  f.source = f.target;
  return f;
}

void DistributedStuffing::refresh(const DistributedStuffingConfig& config, TimePoint now) {
  const std::int64_t t = to_unix_ms(now);
  const std::int64_t window = config.window.count();
  // The smallest threshold ranks every kind: an entry does not say its kind.
  const std::uint32_t threshold =
      std::min({config.prefix_threshold, config.asn_threshold, config.fingerprint_threshold});
  sources_.refresh([&](Source& s, state::Worth& worth) {
    const std::size_t accounts = s.accounts.count(t, window);
    const std::uint32_t failures = s.failures.count(t, window);
    worth = state::worth_of(accounts, threshold);
    return accounts > 0 || failures > 0 || (s.known_ms != 0 && s.known_ms > t - kKnownForMs);
  });
}

}  // namespace mamori::engine
