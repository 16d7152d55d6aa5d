#include "engine/brute_force.h"

namespace mamori::engine {

void BruteForce::on_failure(const BruteForceConfig& config, const Event& e,
                            std::vector<Finding>& out) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  const std::uint16_t fp =
      e.pwhash.empty() ? 0 : std::uint16_t(std::uint16_t(hash_bytes(e.pwhash)) | 1u);
  const std::uint32_t count =
      windows_.update(AccountIpKeyHash::of(e.account, e.ip), [&](Window& w, state::Worth& worth) {
        if (w.failures.empty(now, window)) w.recent_pwhashes = 0;
        bool retried = false;
        for (int i = 0; i < kRecent && fp != 0; ++i)
          retried = retried || std::uint16_t(w.recent_pwhashes >> (16 * i)) == fp;
        if (!retried) {
          w.failures.add(now, window);
          if (fp != 0) w.recent_pwhashes = (w.recent_pwhashes << 16) | fp;
        }
        const std::uint32_t n = w.failures.count(now, window);
        worth = state::worth_of(n, config.threshold);
        return n;
      });
  if (count < config.threshold) return;
  Finding f;
  f.reason = Reason::kBruteForce;
  f.action = Action::kDeny;
  f.block = BlockKey::account_ip(e.account, e.ip);
  f.target = e.account + "|" + e.ip.to_string();
  f.block_for = config.block;
  f.risk = kRiskBruteForce;
  out.push_back(std::move(f));
}

void BruteForce::refresh(const BruteForceConfig& config, TimePoint now) {
  const std::int64_t t = to_unix_ms(now);
  const std::int64_t window = config.window.count();
  windows_.refresh([&](Window& w, state::Worth& worth) {
    const std::uint32_t n = w.failures.count(t, window);
    worth = state::worth_of(n, config.threshold);
    return n > 0;
  });
}

}  // namespace mamori::engine
