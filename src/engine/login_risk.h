#ifndef MAMORI_ENGINE_LOGIN_RISK_H_
#define MAMORI_ENGINE_LOGIN_RISK_H_

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/decision.h"
#include "core/location.h"
#include "engine/engine_config.h"
#include "store/records.h"

namespace mamori::engine {

// What a successful login shows against the account's profile: which
// signals fired, their summed risk (weights in finding.h, capped at 100),
// and whether that makes it suspicious (risk >= challenge_risk).
struct LoginAssessment {
  bool new_device = false;
  bool new_location = false;
  bool anonymous_network = false;
  bool impossible_travel = false;
  bool dormant_account = false;
  int risk = 0;
  bool suspicious = false;

  bool notify() const { return new_device || new_location; }
  // Adds the fired signals to `d` as reasons with the summed risk; a
  // suspicious login is challenged unless a second factor was passed in it.
  void add_to(Decision& d, bool mfa_passed) const;
  // "new_device,new_location": the fired signals' reason words.
  std::string reasons() const;
};

// Pure: reads the profile as it was before this login.
LoginAssessment assess_login(const store::AccountProfile& profile, std::string_view device_key,
                             const Location& where, TimePoint now, const LoginRiskConfig& config);

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_LOGIN_RISK_H_
