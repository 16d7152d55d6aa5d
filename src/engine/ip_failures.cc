#include "engine/ip_failures.h"

#include <algorithm>

namespace mamori::engine {

void IpFailures::on_failure(const IpFailuresConfig& config, const Event& e,
                            std::vector<Finding>& out) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  const std::uint32_t count = ips_.update(e.ip.hash(), [&](FailingIp& ip, state::Worth& worth) {
    ip.failures.add(now, window);
    const std::uint32_t n = ip.failures.count(now, window);
    worth = std::max(worth, state::worth_of(n, config.threshold));
    return n;
  });
  if (count < config.threshold) return;
  Finding f = delay_or_deny(config, count, BlockKey::ip_deny(e.ip), BlockKey::ip_delay(e.ip));
  f.reason = Reason::kIpFailures;
  f.target = e.ip.to_string();
  f.risk = kRiskIpFailures;
  out.push_back(std::move(f));
}

}  // namespace mamori::engine
