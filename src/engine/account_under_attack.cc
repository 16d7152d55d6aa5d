#include "engine/account_under_attack.h"

namespace mamori::engine {

void AccountUnderAttack::on_failure(const AccountUnderAttackConfig& config, const Event& e,
                                    std::vector<Finding>& out) {
  const std::uint32_t count =
      windows_.add(e.account, to_unix_ms(e.time), config.window.count(), config.threshold);
  if (count < config.threshold) return;
  Finding f;
  f.reason = Reason::kAccountUnderAttack;
  f.action = Action::kChallenge;
  f.block = BlockKey::account(e.account);
  f.target = e.account;
  f.block_for = config.challenge_for;
  f.risk = kRiskAccountUnderAttack;
  out.push_back(std::move(f));
}

}  // namespace mamori::engine
