#include "engine/ip_failures.h"

namespace mamori::engine {

void IpFailures::on_failure(const Event& e, std::vector<Finding>& out) {
  const std::uint32_t count = windows_.add(e.ip, to_unix_ms(e.time), config_.window.count());
  if (count < config_.threshold) return;
  Finding f;
  f.reason = Reason::kIpFailures;
  f.target = e.ip.to_string();
  f.block_for = config_.block;
  f.risk = kRiskIpFailures;
  if (count >= config_.deny_threshold) {
    f.action = Action::kDeny;
    f.block = BlockKey::ip_deny(e.ip);
  } else {
    f.action = Action::kDelay;
    f.block = BlockKey::ip_delay(e.ip);
  }
  out.push_back(std::move(f));
}

}  // namespace mamori::engine
