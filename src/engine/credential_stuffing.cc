#include "engine/credential_stuffing.h"

#include <algorithm>

namespace mamori::engine {

Finding CredentialStuffing::make_finding(const CredentialStuffingConfig& config, BlockKey block,
                                         std::string source, const state::DistinctWindow& accounts,
                                         const state::DistinctWindow& successes, std::int64_t now,
                                         std::size_t limit) const {
  Finding f;
  f.reason = Reason::kCredentialStuffing;
  f.action = Action::kDeny;
  f.block = block;
  f.target = source;
  f.block_for = config.block;
  f.risk = kRiskCredentialStuffing;
  f.incident = store::IncidentKind::kCredentialStuffing;
  f.source = std::move(source);
  const std::int64_t window = config.window.count();
  accounts.for_each_seen(now, window, [&](std::string_view a, std::int64_t seen) {
    if (f.accounts.size() < limit)
      f.accounts.push_back({std::string(a), false, from_unix_ms(seen)});
  });
  successes.for_each_seen(now, window, [&](std::string_view a, std::int64_t seen) {
    f.accounts.push_back({std::string(a), true, from_unix_ms(seen)});
  });
  return f;
}

Finding CredentialStuffing::network_finding(const CredentialStuffingConfig& config, const Event& e,
                                            const state::DistinctWindow& accounts,
                                            const state::DistinctWindow& successes,
                                            std::int64_t now) const {
  const IpAddress net = e.ip.aggregate_network();
  return make_finding(config, BlockKey::network(e.ip),
                      Cidr(net, e.ip.aggregate_prefix()).to_string(), accounts, successes, now,
                      config.network_threshold);
}

CredentialStuffing::NetworkStep CredentialStuffing::add_to_network(
    const CredentialStuffingConfig& config, FailingNetwork& w, const Event& e, std::uint64_t ip,
    std::size_t ip_count, const Carried* carried) const {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  std::uint64_t only = w.accounts.mark();
  // A new window, or one whose accounts all expired: this IP is its only one.
  if (only == 0 && w.accounts.empty()) {
    w.accounts.set_mark(ip);
    only = ip;
  }
  if (only == ip) return {ip_count, true, 0};
  if (only != 0) {
    if (carried == nullptr) return {0, false, only};
    // Another thread may have copied them meanwhile (the mark is gone then),
    // or the window restarted with another IP: then its accounts are not
    // here. Adding a key drops the mark.
    if (carried->from == only) {
      for (const auto& [account, seen] : carried->accounts)
        w.accounts.add(account, seen, window, config.network_threshold);
    }
  }
  return {w.accounts.add(e.account, now, window, config.network_threshold), false, 0};
}

void CredentialStuffing::on_failure(const CredentialStuffingConfig& config, const Event& e,
                                    std::vector<Finding>& out) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  const std::uint64_t ip = FailingNetwork::ip_mark(e.ip);
  // The IP's window stands for its network while it is the network's only
  // failing IP, so it keeps up to the network's threshold of accounts too.
  const std::size_t cap = std::max(config.threshold, config.network_threshold);
  std::size_t ip_count = 0;
  by_ip_.update(ip, [&](FailingIp& w, state::Worth& worth) {
    ip_count = w.accounts.add(e.account, now, window, cap);
    worth = std::max(worth, state::worth_of(ip_count, config.threshold));
    // The IP's finding lists the first `threshold` accounts, as it did when
    // the window kept no more.
    if (ip_count >= config.threshold) {
      out.push_back(make_finding(config, BlockKey::ip_deny(e.ip), e.ip.to_string(), w.accounts,
                                 w.successes, now, config.threshold));
    }
  });

  const std::uint64_t net = e.ip.aggregate_network().hash();
  bool found = false;  // the network's finding, made under its lock
  auto take = [&](const Carried* carried) {
    return by_network_.update(net, [&](FailingNetwork& w, state::Worth& worth) {
      const NetworkStep step = add_to_network(config, w, e, ip, ip_count, carried);
      worth = std::max(worth, state::worth_of(step.count, config.network_threshold));
      if (step.carry_from == 0 && !step.alone && step.count >= config.network_threshold) {
        out.push_back(network_finding(config, e, w.accounts, w.successes, now));
        found = true;
      }
      return step;
    });
  };
  NetworkStep step = take(nullptr);
  if (step.carry_from != 0) {
    // A second IP of the network: copy the first one's accounts, read
    // without holding the network's lock.
    Carried carried{step.carry_from, {}};
    by_ip_.read(step.carry_from, [&](const FailingIp& w) {
      w.accounts.for_each_seen(now, window, [&](std::string_view a, std::int64_t seen) {
        carried.accounts.emplace_back(a, seen);
      });
    });
    step = take(&carried);
  }
  if (found || !step.alone || step.count < config.network_threshold) return;
  // The network's only failing IP: its failures, and the successes of any
  // of the network's addresses.
  Finding f;
  const state::DistinctWindow none;
  if (!by_ip_.read(
          ip, [&](const FailingIp& w) { f = network_finding(config, e, w.accounts, none, now); }))
    return;  // evicted meanwhile
  by_network_.read(net, [&](const FailingNetwork& n) {
    n.successes.for_each_seen(now, window, [&](std::string_view a, std::int64_t seen) {
      f.accounts.push_back({std::string(a), true, from_unix_ms(seen)});
    });
  });
  out.push_back(std::move(f));
}

void CredentialStuffing::on_success(const CredentialStuffingConfig& config, const Event& e) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  by_ip_.update_if_present(FailingNetwork::ip_mark(e.ip), [&](FailingIp& w, state::Worth&) {
    w.successes.add(e.account, now, window, config.threshold);
  });
  by_network_.update_if_present(e.ip.aggregate_network().hash(),
                                [&](FailingNetwork& n, state::Worth&) {
                                  n.successes.add(e.account, now, window, config.network_threshold);
                                });
}

std::size_t CredentialStuffing::network_count_without_success(
    const CredentialStuffingConfig& config, const Event& e) const {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  std::uint64_t only = 0;
  std::size_t n = 0;
  bool succeeded = false;
  by_network_.read(e.ip.aggregate_network().hash(), [&](const FailingNetwork& w) {
    only = w.accounts.mark();
    if (only == 0) n = w.accounts.count(now, window);
    succeeded = w.successes.count(now, window) > 0;
  });
  if (succeeded) return 0;
  // The network's only failing IP: its count stands for the network's.
  if (only != 0) by_ip_.read(only, [&](const FailingIp& w) { n = w.accounts.count(now, window); });
  return n;
}

}  // namespace mamori::engine
