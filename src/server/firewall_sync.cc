#include "server/firewall_sync.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/log.h"

namespace mamori::server {

namespace {

bool is_loopback(const IpAddress& ip) {
  if (ip.is_v4()) return (ip.v4() >> 24) == 127;
  const auto& b = ip.bytes();
  for (int i = 0; i < 15; ++i)
    if (b[i] != 0) return false;
  return b[15] == 1;
}

// `a` ends no earlier than `b` (none: never ends).
bool lasts_as_long(const std::optional<TimePoint>& a, const std::optional<TimePoint>& b) {
  return !a || (b && *b <= *a);
}

}  // namespace

DeniedSet denied_set(const std::vector<Denied>& candidates) {
  DeniedSet out;
  DeniedMap merged;
  merged.reserve(candidates.size());
  std::set<int> prefixes[2];  // of the networks present, per family (0: v4)
  for (const Denied& d : candidates) {
    const Cidr& c = d.network;
    if (is_loopback(c.network()) || (c.prefix() == 0)) continue;
    auto [it, fresh] = merged.try_emplace(c, d.until);
    if (!fresh && lasts_as_long(d.until, it->second)) it->second = d.until;
    if (!c.is_single_address()) prefixes[c.network().is_v4() ? 0 : 1].insert(c.prefix());
  }
  if (prefixes[0].empty() && prefixes[1].empty()) {  // no networks: nothing is inside another
    out.elements = std::move(merged);
    return out;
  }
  out.elements.reserve(merged.size());
  for (const auto& [c, until] : merged) {
    bool inside = false;
    for (int p : prefixes[c.network().is_v4() ? 0 : 1]) {
      if (p >= c.prefix()) break;
      auto wider = merged.find(Cidr(c.network(), p));
      if (wider == merged.end()) continue;
      inside = true;
      if (!lasts_as_long(wider->second, until))
        out.recheck_at =
            out.recheck_at ? std::min(*out.recheck_at, *wider->second) : *wider->second;
    }
    if (!inside) out.elements.emplace(c, until);
  }
  return out;
}

firewall::Batch plan_batch(const DeniedMap& applied, const DeniedMap& wanted, TimePoint now,
                           bool restore) {
  firewall::Batch b;
  b.restore = restore;
  if (restore) b.add.reserve(wanted.size());
  auto element = [&](const Cidr& c, const std::optional<TimePoint>& until) {
    firewall::Element e{c, std::nullopt};
    if (until) e.timeout = *until - now;
    return e;
  };
  for (const auto& [c, until] : wanted) {
    if (until && *until <= now) continue;
    if (!restore) {
      auto it = applied.find(c);
      if (it != applied.end() && (!it->second || it->second > now)) {
        if (it->second != until) b.refresh.push_back(element(c, until));
        continue;
      }
    }
    b.add.push_back(element(c, until));
  }
  if (!restore) {
    for (const auto& [c, until] : applied) {
      if (until && *until <= now) continue;  // expired in the kernel too
      if (!wanted.contains(c)) b.remove.push_back(c);
    }
  }
  return b;
}

std::vector<Denied> denied_candidates(const engine::BlockTable& blocks,
                                      const engine::ListIndex& lists, const FirewallConfig& config,
                                      TimePoint now) {
  using engine::BlockScope;
  std::vector<Denied> out;
  out.reserve(blocks.size(BlockScope::kIp) + blocks.size(BlockScope::kNetwork) +
              (config.account_ip_blocks ? blocks.size(BlockScope::kAccountIp) : 0) +
              lists.entries().size());
  // One pass over the blocks of every scope.
  blocks.for_each_active(now, [&](const engine::BlockKey& k, const store::Block& b) {
    const bool kernel = k.scope == BlockScope::kIp || k.scope == BlockScope::kNetwork ||
                        (config.account_ip_blocks && k.scope == BlockScope::kAccountIp);
    if (!kernel || b.action < Action::kDeny) return;
    const int prefix =
        k.scope == BlockScope::kNetwork ? k.ip.aggregate_prefix() : k.ip.max_prefix();
    out.push_back(Denied{Cidr(k.ip, prefix), b.until});
  });
  for (const store::ListEntry& e : lists.entries()) {
    if (e.kind != store::ListKind::kDeny) continue;
    if (e.expires && *e.expires <= now) continue;
    auto target = engine::parse_list_target(e.target);
    if (!target || target->kind != engine::ListTarget::Kind::kNetwork) continue;
    out.push_back(Denied{target->network, e.expires});
  }
  return out;
}

FirewallSync::FirewallSync(engine::Engine& engine, firewall::Firewall& fw, FirewallConfig config,
                           const Clock& clock)
    : engine_(engine), fw_(fw), config_(std::move(config)), clock_(clock) {}

FirewallSync::~FirewallSync() { stop(); }

Status FirewallSync::sync_now() {
  std::lock_guard lock(mu_);
  return sync_locked(true);
}

Status FirewallSync::sync_locked(bool force) {
  const auto planning = std::chrono::steady_clock::now();
  const TimePoint now = clock_.now();
  const bool restore = !restored_;
  if (restore && !force && now < retry_at_) return {};
  const std::uint64_t version = engine_.blocks().version();
  const std::shared_ptr<const engine::ListIndex> lists = engine_.lists().index();
  const bool due = recheck_at_ && *recheck_at_ <= now;
  if (!restore && version == seen_version_ && lists == seen_lists_ && !due) return {};

  DeniedSet wanted = denied_set(denied_candidates(engine_.blocks(), *lists, config_, now));
  const firewall::Batch batch = plan_batch(applied_, wanted.elements, now, restore);
  seen_version_ = version;
  seen_lists_ = lists;
  recheck_at_ = wanted.recheck_at;
  if (batch.empty()) return {};

  const auto start = std::chrono::steady_clock::now();
  Status s = fw_.apply(batch);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  if (!s) {
    errors_.fetch_add(1);
    restored_ = false;  // the kernel's sets are unknown now: restore them whole
    retry_at_ = now + backoff_;
    backoff_ = std::min<Duration>(backoff_ * 2, std::chrono::seconds(60));
    if (s.error().message != last_error_) {
      log_error("firewall: " + s.error().message + " (" + std::to_string(batch.size()) +
                " elements not applied; retrying with a full restore, still answering)");
      last_error_ = s.error().message;
    }
    return s;
  }
  batches_.fetch_add(1);
  batch_us_sum_.fetch_add(std::uint64_t(us));
  last_batch_us_.store(std::uint64_t(us));
  last_batch_elements_.store(batch.size());
  added_.fetch_add(batch.add.size());
  removed_.fetch_add(batch.remove.size());
  refreshed_.fetch_add(batch.refresh.size());
  // Now the kernel holds what was wanted (the ended ones expired there).
  applied_ = std::move(wanted.elements);
  applied_count_.store(applied_.size());
  if (restore) {
    const auto planned_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(start - planning).count();
    log_info("firewall: table inet " + config_.table + " restored with " +
             std::to_string(batch.add.size()) + " elements in one batch (" +
             std::to_string(us / 1000) + " ms; planned in " + std::to_string(planned_ms) + " ms)");
  }
  if (!last_error_.empty()) {
    log_info("firewall: nftables batches apply again");
    last_error_.clear();
  }
  restored_ = true;
  backoff_ = std::chrono::seconds(1);
  return {};
}

void FirewallSync::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, config_.batch_every, [&] { return stopping_; })) {
      lock.unlock();
      {
        std::lock_guard sync(mu_);
        (void)sync_locked(false);  // logged and counted there
      }
      lock.lock();
    }
  });
}

void FirewallSync::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FirewallSync::render_metrics(std::string& out) const {
  auto one = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  one("mamori_firewall_elements_added_total", "counter",
      "Addresses and networks added to the nftables deny sets.", added_.load());
  one("mamori_firewall_elements_removed_total", "counter",
      "Addresses and networks taken out of the nftables deny sets (lifted blocks, removed "
      "entries).",
      removed_.load());
  one("mamori_firewall_elements_refreshed_total", "counter",
      "Elements of the nftables deny sets whose timeout was changed (extended blocks).",
      refreshed_.load());
  one("mamori_firewall_batches_total", "counter",
      "nftables transactions applied (each one batch of changes).", batches_.load());
  one("mamori_firewall_errors_total", "counter",
      "nftables transactions that failed (no CAP_NET_ADMIN, no nf_tables); nothing of them "
      "applied.",
      errors_.load());
  one("mamori_firewall_elements", "gauge",
      "Elements mamori holds in its nftables deny sets (not counting those expired in the kernel).",
      applied_count_.load());
  const std::uint64_t n = batches_.load();
  out +=
      "# HELP mamori_firewall_batch_seconds Time to apply one nftables batch.\n"
      "# TYPE mamori_firewall_batch_seconds summary\n"
      "mamori_firewall_batch_seconds_sum " +
      std::to_string(double(batch_us_sum_.load()) / 1e6) +
      "\nmamori_firewall_batch_seconds_count " + std::to_string(n) + "\n";
  one("mamori_firewall_last_batch_elements", "gauge",
      "Elements in the last nftables batch applied.", last_batch_elements_.load());
}

}  // namespace mamori::server
