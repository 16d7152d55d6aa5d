#include "engine/login_risk.h"

#include <algorithm>

#include "engine/dormant_account.h"
#include "engine/finding.h"
#include "engine/impossible_travel.h"
#include "engine/new_device.h"
#include "engine/new_location.h"

namespace mamori::engine {

namespace {

template <typename F>
void for_each_signal(const LoginAssessment& a, F&& f) {
  if (a.new_device) f(Reason::kNewDevice);
  if (a.new_location) f(Reason::kNewLocation);
  if (a.anonymous_network) f(Reason::kAnonymousNetwork);
  if (a.impossible_travel) f(Reason::kImpossibleTravel);
  if (a.dormant_account) f(Reason::kDormantAccount);
}

}  // namespace

LoginAssessment assess_login(const store::AccountProfile& profile, std::string_view device_key,
                             const Location& where, TimePoint now, const LoginRiskConfig& config) {
  LoginAssessment a;
  a.new_device = is_new_device(profile, device_key);
  a.new_location = is_new_location(profile, where);
  a.anonymous_network = where.anonymous();
  a.impossible_travel = is_impossible_travel(profile.last_success, where, now, config);
  a.dormant_account = is_dormant(profile, now, config.dormant_after);
  int risk = 0;
  for_each_signal(a, [&](Reason r) { risk += risk_of(r); });
  a.risk = std::min(risk, 100);
  a.suspicious = a.risk > 0 && a.risk >= config.challenge_risk;
  return a;
}

void LoginAssessment::add_to(Decision& d, bool mfa_passed) const {
  const Action action = suspicious && !mfa_passed ? Action::kChallenge : Action::kAllow;
  for_each_signal(*this, [&](Reason r) { d.add(action, r, risk); });
}

std::string LoginAssessment::reasons() const {
  std::string out;
  for_each_signal(*this, [&](Reason r) {
    if (!out.empty()) out += ',';
    out += to_string(r);
  });
  return out;
}

}  // namespace mamori::engine
