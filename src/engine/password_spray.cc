#include "engine/password_spray.h"

namespace mamori::engine {

void PasswordSpray::on_failure(const PasswordSprayConfig& config, const Event& e,
                               std::vector<Finding>& out) {
  if (e.pwhash.empty()) return;
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  const std::string ip = e.ip.to_string();
  windows_.update(StringHash{}(e.pwhash), [&](Window& w, state::Worth& worth) {
    w.sources.add(ip, now, window, config.max_sources);
    const std::size_t accounts = w.accounts.add(e.account, now, window, config.threshold);
    worth = state::worth_of(accounts, config.threshold);
    if (accounts < config.threshold) return;
    Finding f;
    f.reason = Reason::kPasswordSpray;
    f.action = Action::kDeny;
    f.block = BlockKey::pwhash(e.pwhash);
    f.target = "pwhash:" + e.pwhash;
    f.block_for = config.block;
    f.risk = kRiskPasswordSpray;
    f.incident = store::IncidentKind::kPasswordSpray;
    f.source = ip;
    w.accounts.for_each_seen(now, window, [&](std::string_view a, std::int64_t seen) {
      f.accounts.push_back({std::string(a), false, from_unix_ms(seen)});
    });
    w.successes.for_each_seen(now, window, [&](std::string_view a, std::int64_t seen) {
      f.accounts.push_back({std::string(a), true, from_unix_ms(seen)});
    });
    w.sources.for_each(now, window, [&](std::string_view s) {
      if (auto a = IpAddress::parse(s)) f.other_sources.push_back(*a);
    });
    out.push_back(std::move(f));
  });
}

void PasswordSpray::on_success(const PasswordSprayConfig& config, const Event& e) {
  if (e.pwhash.empty()) return;
  windows_.update_if_present(StringHash{}(e.pwhash), [&](Window& w, state::Worth&) {
    w.successes.add(e.account, to_unix_ms(e.time), config.window.count(), config.threshold);
  });
}

void PasswordSpray::refresh(const PasswordSprayConfig& config, TimePoint now) {
  const std::int64_t t = to_unix_ms(now);
  const std::int64_t window = config.window.count();
  windows_.refresh([&](Window& w, state::Worth& worth) {
    const std::size_t accounts = w.accounts.count(t, window);
    worth = state::worth_of(accounts, config.threshold);
    return accounts > 0 || w.sources.count(t, window) > 0;
  });
}

}  // namespace mamori::engine
