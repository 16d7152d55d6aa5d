#include "engine/network_failures.h"

#include <algorithm>
#include <memory>

namespace mamori::engine {

void NetworkFailures::on_failure(const NetworkFailuresConfig& config, const Event& e,
                                 std::vector<Finding>& out) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  const IpAddress net = e.ip.aggregate_network();
  const std::uint32_t count =
      networks_.update(net.hash(), [&](FailingNetwork& n, state::Worth& worth) -> std::uint32_t {
        if (!n.failures) {
          if (n.only(e.ip)) return 0;  // ip_failures judges the network's only address
          n.failures = std::make_unique<state::SlidingCounter>();
        }
        n.failures->add(now, window);
        const std::uint32_t c = n.failures->count(now, window);
        worth = std::max(worth, state::worth_of(c, config.threshold));
        return c;
      });
  if (count < config.threshold) return;
  Finding f = delay_or_deny(config, count, BlockKey::network(e.ip), BlockKey::network_delay(e.ip));
  f.reason = Reason::kNetworkFailures;
  f.target = Cidr(net, e.ip.aggregate_prefix()).to_string();
  f.risk = kRiskNetworkFailures;
  out.push_back(std::move(f));
}

}  // namespace mamori::engine
