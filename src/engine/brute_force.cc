#include "engine/brute_force.h"

#include <algorithm>

namespace mamori::engine {

void BruteForce::on_failure(const Event& e, std::vector<Finding>& out) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config_.window.count();
  const std::uint32_t fp =
      e.pwhash.empty() ? 0 : std::uint32_t(hash_bytes(e.pwhash)) | 1u;
  const std::uint32_t count = windows_.update(AccountIpKeyHash::of(e.account, e.ip), [&](Window& w) {
    if (w.failures.empty(now, window)) w.recent_pwhashes.fill(0);
    const bool retried = fp != 0 && std::find(w.recent_pwhashes.begin(), w.recent_pwhashes.end(),
                                              fp) != w.recent_pwhashes.end();
    if (!retried) {
      w.failures.add(now, window);
      if (fp != 0) {
        w.recent_pwhashes[w.next] = fp;
        w.next = std::uint8_t((w.next + 1) % w.recent_pwhashes.size());
      }
    }
    return w.failures.count(now, window);
  });
  if (count < config_.threshold) return;
  Finding f;
  f.reason = Reason::kBruteForce;
  f.action = Action::kDeny;
  f.block = BlockKey::account_ip(e.account, e.ip);
  f.target = e.account + "|" + e.ip.to_string();
  f.block_for = config_.block;
  f.risk = kRiskBruteForce;
  out.push_back(std::move(f));
}

}  // namespace mamori::engine
