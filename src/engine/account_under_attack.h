#ifndef MAMORI_ENGINE_ACCOUNT_UNDER_ATTACK_H_
#define MAMORI_ENGINE_ACCOUNT_UNDER_ATTACK_H_

#include <string>
#include <vector>

#include "core/event.h"
#include "engine/engine_config.h"
#include "engine/finding.h"
#include "engine/keys.h"
#include "state/windowed_counts.h"

namespace mamori::engine {

// account_under_attack: failed logins for one account from all IPs. At the
// threshold, logins to the account must pass a second factor for
// `challenge_for`. Never locks (failures alone must not be a lock-out weapon).
// Thread-safe.
class AccountUnderAttack {
 public:
  explicit AccountUnderAttack(state::MemoryBudget& budget) : windows_(budget) {}

  void on_failure(const AccountUnderAttackConfig& config, const Event& e,
                  std::vector<Finding>& out);
  // Forgets the windows that have emptied and ranks the rest by their count
  // at `now` (state::ClockMap::refresh). Called by the engine's maintenance.
  void refresh(const AccountUnderAttackConfig& config, TimePoint now) {
    windows_.refresh(to_unix_ms(now), config.window.count(), config.threshold);
  }

 private:
  state::WindowedCounts<std::string, StringHash> windows_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_ACCOUNT_UNDER_ATTACK_H_
