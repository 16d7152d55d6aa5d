#include "core/decision.h"

namespace mamori {

namespace {
constexpr std::array<std::string_view, kActionCount> kActions = {"allow", "delay", "challenge",
                                                                 "deny", "lock"};
constexpr std::array<std::string_view, kReasonCount> kReasons = {
    "brute_force", "account_under_attack", "ip_failures", "credential_stuffing",
    "password_spray", "deny_list", "allow_list", "account_locked", "password_reset",
    "operator_release", "new_device", "new_location", "anonymous_network",
    "impossible_travel", "dormant_account", "risky_change", "message_fanout",
    "mail_volume", "mail_geography", "dnsbl", "network_failures",
    "distributed_stuffing"};
}  // namespace

std::string_view to_string(Action a) { return kActions[static_cast<size_t>(a)]; }
std::string_view to_string(Reason r) { return kReasons[static_cast<size_t>(r)]; }

std::optional<Reason> reason_from_string(std::string_view s) {
  for (size_t i = 0; i < kReasons.size(); ++i)
    if (kReasons[i] == s) return static_cast<Reason>(i);
  return std::nullopt;
}

}  // namespace mamori
