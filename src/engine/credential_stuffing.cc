#include "engine/credential_stuffing.h"

namespace mamori::engine {

Finding CredentialStuffing::make_finding(BlockKey block, std::string source, const Window& w,
                                         std::int64_t now) const {
  Finding f;
  f.reason = Reason::kCredentialStuffing;
  f.action = Action::kDeny;
  f.block = block;
  f.target = source;
  f.block_for = config_.block;
  f.risk = kRiskCredentialStuffing;
  f.incident = store::IncidentKind::kCredentialStuffing;
  f.source = std::move(source);
  w.accounts.for_each(now, config_.window.count(),
                      [&](std::string_view a) { f.accounts.emplace_back(a); });
  return f;
}

void CredentialStuffing::on_failure(const Event& e, std::vector<Finding>& out) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config_.window.count();
  by_ip_.update(e.ip.hash(), [&](Window& w) {
    if (w.accounts.add(e.account, now, window, config_.threshold) >= config_.threshold)
      out.push_back(make_finding(BlockKey::ip_deny(e.ip), e.ip.to_string(), w, now));
  });
  const IpAddress net = e.ip.aggregate_network();
  by_network_.update(net.hash(), [&](Window& w) {
    if (w.accounts.add(e.account, now, window, config_.network_threshold) >=
        config_.network_threshold) {
      out.push_back(make_finding(BlockKey::network(e.ip),
                                 Cidr(net, e.ip.aggregate_prefix()).to_string(), w, now));
    }
  });
}

}  // namespace mamori::engine
