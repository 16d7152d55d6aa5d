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
    w.accounts.for_each(now, window, [&](std::string_view a) { f.accounts.emplace_back(a); });
    w.sources.for_each(now, window, [&](std::string_view s) {
      if (auto a = IpAddress::parse(s)) f.other_sources.push_back(*a);
    });
    out.push_back(std::move(f));
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
