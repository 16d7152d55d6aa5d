#include "engine/account_under_attack.h"

namespace mamori::engine {

void AccountUnderAttack::on_failure(const Event& e, std::vector<Finding>& out) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config_.window.count();
  const std::uint32_t count = windows_.update(e.account, [&](Window& w) {
    w.failures.add(now, window);
    return w.failures.count(now, window);
  });
  if (count < config_.threshold) return;
  Finding f;
  f.reason = Reason::kAccountUnderAttack;
  f.action = Action::kChallenge;
  f.block = BlockKey::account(e.account);
  f.target = e.account;
  f.block_for = config_.challenge_for;
  f.risk = kRiskAccountUnderAttack;
  out.push_back(std::move(f));
}

}  // namespace mamori::engine
