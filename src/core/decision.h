#ifndef MAMORI_CORE_DECISION_H_
#define MAMORI_CORE_DECISION_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mamori {

// What the caller should do. Ordered: a stronger action wins.
enum class Action : std::uint8_t { kAllow, kDelay, kChallenge, kDeny, kLock };
inline constexpr int kActionCount = 5;

std::string_view to_string(Action a);

// Why. Machine-readable, the words of docs/design.md's detections table.
enum class Reason : std::uint8_t {
  kBruteForce,
  kAccountUnderAttack,
  kIpFailures,
  kCredentialStuffing,
  kPasswordSpray,
  kDenyList,
  kAllowList,
  kAccountLocked,
  kPasswordReset,
  kOperatorRelease,
  kNewDevice,
  kNewLocation,
  kAnonymousNetwork,
  kImpossibleTravel,
  kDormantAccount,
  kRiskyChange,
  kMessageFanout,
  kMailVolume,
  kMailGeography,
  kDnsbl,
  kNetworkFailures,
  kDistributedStuffing,
};
inline constexpr int kReasonCount = 22;

std::string_view to_string(Reason r);
std::optional<Reason> reason_from_string(std::string_view s);

// The engine's answer to one event: the strongest action any finding asked
// for, every reason that contributed, and a risk score 0-100. A plain value
// with a fixed capacity of reasons (no allocation on the request path).
class Decision {
 public:
  static constexpr int kMaxReasons = 8;

  Action action() const { return action_; }
  std::uint32_t delay_ms() const { return delay_ms_; }
  int risk() const { return risk_; }
  int reason_count() const { return n_; }
  Reason reason(int i) const { return reasons_[i]; }
  bool has(Reason r) const {
    for (int i = 0; i < n_; ++i)
      if (reasons_[i] == r) return true;
    return false;
  }

  // The reason that set the action: the first one added at the decision's
  // final action. None when there is no reason. Metrics count each decision
  // once, under this reason.
  std::optional<Reason> deciding_reason() const {
    if (n_ == 0) return std::nullopt;
    return reasons_[deciding_];
  }

  // Raises the action to `a` if stronger, records `r` once, raises the risk.
  void add(Action a, Reason r, int risk = 0) {
    const bool decides = a > action_ || n_ == 0;
    if (a > action_) action_ = a;
    int i = 0;
    while (i < n_ && reasons_[i] != r) ++i;
    if (i == n_ && n_ < kMaxReasons) reasons_[n_++] = r;
    if (decides && i < n_) deciding_ = std::uint8_t(i);
    if (risk > risk_) risk_ = risk > 100 ? 100 : risk;
  }
  void set_delay_ms(std::uint32_t ms) { if (ms > delay_ms_) delay_ms_ = ms; }

 private:
  std::array<Reason, kMaxReasons> reasons_{};
  std::uint32_t delay_ms_ = 0;
  Action action_ = Action::kAllow;
  std::uint8_t n_ = 0;
  std::uint8_t deciding_ = 0;  // index into reasons_
  std::uint8_t risk_ = 0;
};

}  // namespace mamori

#endif  // MAMORI_CORE_DECISION_H_
