#ifndef MAMORI_ENGINE_FINDING_H_
#define MAMORI_ENGINE_FINDING_H_

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/decision.h"
#include "core/ip_address.h"
#include "engine/block_table.h"
#include "store/records.h"

namespace mamori::engine {

// An account a source touched: for an incident, what it looks back on when
// it opens (the source's logins the detector's window remembers).
struct TouchedAccount {
  std::string account;
  bool login_succeeded = false;  // a login to it from the source succeeded
  TimePoint seen{};              // when the source last touched it
};

// What a detector reports when its threshold is reached: the block to set,
// and, for wide attacks, the incident to open. The engine applies it.
struct Finding {
  Reason reason = Reason::kBruteForce;
  Action action = Action::kDeny;
  BlockKey block;           // what to block
  std::string target;       // the block's display form ("203.0.113.0/24", "alice|203.0.113.5")
  Duration block_for{};
  std::uint32_t delay_ms = 0;  // kDelay: how long
  int risk = 0;
  std::optional<store::IncidentKind> incident;  // open an incident of this kind
  std::string incident_key;                     // the incident's key in its kind; empty: `target`
  std::string source;                        // the incident's source
  // The accounts the source touched within the window, failures and
  // successes; the incident opened records them all.
  std::vector<TouchedAccount> accounts;
  std::vector<IpAddress> other_sources;      // further IPs to block alike (password spray)
};

// Risk weights of the source-side findings (0-100).
inline constexpr int kRiskDenyList = 100;
inline constexpr int kRiskAccountLocked = 100;
inline constexpr int kRiskCredentialStuffing = 90;
inline constexpr int kRiskPasswordSpray = 90;
// A wave's own fingerprint or /24 denied; a login from a new device challenged
// service-wide during the wave.
inline constexpr int kRiskDistributedStuffing = 70;
inline constexpr int kRiskBruteForce = 80;
inline constexpr int kRiskAccountUnderAttack = 60;
inline constexpr int kRiskIpFailures = 50;
// Less than one IP's own failures: a network's addresses are shared (a NAT's
// honest users, a provider's customers), so its count says less about any
// one attempt from it.
inline constexpr int kRiskNetworkFailures = 40;
inline constexpr int kRiskMailGeography = 100;
inline constexpr int kRiskMailVolume = 50;
inline constexpr int kRiskDnsbl = 30;

// Weights of a successful login's signals against the account's profile;
// summed (capped at 100) into the login's risk. Chosen so that one signal
// that is common in honest use stays under the challenge threshold (50) and
// any two together reach it:
// - a new device alone is a new phone or browser, common: notify only;
// - a new country alone is rare for most owners and the first thing an
//   intruder abroad changes: challenge;
// - an anonymous network (VPN, Tor, hosting, proxy) alone is a privacy
//   habit for some owners: adds risk;
// - impossible travel cannot be honest unless GeoIP is wrong: challenge;
// - a dormant account is what intruders pick because nobody watches it:
//   adds risk.
inline constexpr int kRiskNewDevice = 25;
inline constexpr int kRiskNewLocation = 50;
inline constexpr int kRiskAnonymousNetwork = 30;
inline constexpr int kRiskImpossibleTravel = 60;
inline constexpr int kRiskDormantAccount = 25;
inline constexpr int kRiskRiskyChange = 100;
inline constexpr int kRiskMessageFanout = 70;

int risk_of(Reason r);

// The step of a delay-then-deny detector (ip_failures, network_failures)
// whose count reached its threshold: kDelay by config.delay_ms under
// config.deny_threshold, kDeny from it, each with its own block key, both
// for config.block. The caller sets reason, target and risk.
template <class DelayThenDenyConfig>
Finding delay_or_deny(const DelayThenDenyConfig& config, std::uint32_t count, BlockKey deny,
                      BlockKey delay) {
  Finding f;
  f.block_for = config.block;
  if (count >= config.deny_threshold) {
    f.action = Action::kDeny;
    f.block = deny;
  } else {
    f.action = Action::kDelay;
    f.block = delay;
    f.delay_ms = config.delay_ms;
  }
  return f;
}

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_FINDING_H_
