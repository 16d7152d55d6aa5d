#ifndef MAMORI_ENGINE_ENGINE_CONFIG_H_
#define MAMORI_ENGINE_ENGINE_CONFIG_H_

#include <cstddef>
#include <cstdint>

#include "core/clock.h"

namespace mamori::engine {

using std::chrono::hours;
using std::chrono::minutes;

// Every number of docs/design.md's detections table, with its documented default.
// The config file's [detections.NAME] sections set them.

struct BruteForceConfig {  // failures for one account from one IP
  std::uint32_t threshold = 10;
  Duration window = hours(1);
  Duration block = hours(1);
};

struct AccountUnderAttackConfig {  // failures for one account, all IPs
  std::uint32_t threshold = 50;
  Duration window = hours(1);
  Duration challenge_for = hours(1);
};

struct IpFailuresConfig {  // failures from one IP, all accounts
  std::uint32_t threshold = 100;  // delay from here
  Duration window = hours(24);
  std::uint32_t delay_ms = 2000;
  std::uint32_t deny_threshold = 200;  // deny from here
  Duration block = hours(1);
};

// Failures from one /24 (IPv4) or /64 (IPv6), all addresses and accounts:
// a flood from many addresses of one network, each failing once or twice,
// passes every per-address rule. The defaults leave room for a carrier-grade
// NAT's /24 with tens of thousands of honest users (README: "network_failures").
struct NetworkFailuresConfig {
  std::uint32_t threshold = 2000;  // delay from here
  Duration window = hours(1);
  std::uint32_t delay_ms = 2000;
  std::uint32_t deny_threshold = 10000;  // deny from here
  Duration block = minutes(15);
};

struct CredentialStuffingConfig {  // distinct accounts failing from one source
  std::uint32_t threshold = 20;           // one IP
  std::uint32_t network_threshold = 100;  // one /24 (IPv4) or /64 (IPv6)
  Duration window = minutes(10);
  Duration block = hours(1);
  // An account a login from the source got into (its incident counts it
  // compromised) is locked until its password is reset, and its owner told.
  bool require_password_reset = true;
};

struct PasswordSprayConfig {  // one password hash failing on distinct accounts
  std::uint32_t threshold = 10;
  Duration window = hours(1);
  Duration block = hours(1);
  std::uint32_t max_sources = 64;  // source IPs remembered per password hash
  // An account the sprayed password got into is locked until its password
  // is reset, and its owner told.
  bool require_password_reset = true;
};

// Credential stuffing spread thin: a wave from thousands of addresses over
// many networks and autonomous systems, a few attempts each, that stays
// under every per-IP and per-/24 threshold (README: "Distributed stuffing").
// A source is a wide prefix (/16 IPv4, /48 IPv6), an autonomous system or a
// client fingerprint (user agent family, major version and OS, plus the
// app's client_fingerprint); it is hot when `*_threshold` distinct accounts
// failed from it within `window` and at least `min_failure_percent` of its
// logins in the window failed. `min_hot_sources` hot sources within the
// window, or one fingerprint denied, make a wave.
// distributed_stuffing's service-wide signal: the failure ratio and the
// rate of failures for unknown accounts against their usual level for the
// hour of the week (failure_baseline.h).
struct FailureBaselineConfig {
  bool enabled = true;
  Duration window = minutes(10);          // the recent logins judged: 1 to 60 minutes
  std::uint32_t min_results = 200;        // login results in the window before its ratio counts
  std::uint32_t min_unknown = 50;         // failures for unknown accounts before their rate counts
  std::uint32_t factor_percent = 300;     // the window against the hour's usual: at least this %
  std::uint32_t min_excess_percent = 15;  // and the failure ratio this many points above it
};

struct DistributedStuffingConfig {
  bool enabled = true;
  Duration window = hours(1);
  int prefix_v4 = 16;                        // the wide prefix's length: 8-24 for IPv4
  int prefix_v6 = 48;                        // 16-64 for IPv6
  std::uint32_t prefix_threshold = 20;       // distinct failing accounts per wide prefix
  std::uint32_t asn_threshold = 40;          // per autonomous system
  std::uint32_t fingerprint_threshold = 50;  // per client fingerprint
  std::uint32_t min_failure_percent = 50;    // of a source's logins in the window
  std::uint32_t min_hot_sources = 2;         // hot prefixes, ASes, fingerprints: a wave
  // A hot fingerprint of which at least this share of logins failed is the
  // attacker's own: denied for `block`.
  std::uint32_t deny_failure_percent = 95;
  // During a wave, a /24 (/64) in a hot wide prefix with this many distinct
  // failing accounts within credential_stuffing's window is denied for `block`.
  std::uint32_t narrow_threshold = 5;
  Duration block = hours(1);
  // The service-wide raised protection (attempts and successful logins from
  // devices the account never used are challenged) lasts this long after
  // the last failure from a hot source.
  Duration raise_for = hours(1);
  FailureBaselineConfig baseline;
};

// The signals of a successful login against the account's profile. Each adds
// its weight (finding.h) to the login's risk; at challenge_risk or more the
// login is suspicious: it is challenged, and until a challenge is passed a
// credential change locks the account (risky_change).
struct LoginRiskConfig {
  int challenge_risk = 50;
  double max_speed_kmh = 900;    // impossible_travel: faster than a plane
  double min_distance_km = 300;  // ... over at least this far (GeoIP is coarse)
  Duration dormant_after = hours(24 * 180);
};
struct RiskyChangeConfig {  // credential change after a suspicious login
  Duration window = hours(24);
};
struct MessageFanoutConfig {  // distinct recipients of in-app messages
  std::uint32_t threshold = 30;
  Duration window = minutes(10);
};
struct ProfileConfig {  // what an account's profile keeps
  std::uint32_t max_devices = 20;
  std::uint32_t max_countries = 30;
  std::uint32_t max_asns = 30;
  // The times of a familiar login are written at most this often (what a
  // login teaches the profile is written at once).
  Duration persist_every = hours(1);
};

struct MailVolumeConfig {  // recipients sent by one SMTP AUTH user (or mail_sent events)
  std::uint32_t threshold = 300;  // recipients per `window`
  Duration window = hours(1);
  std::uint32_t daily_threshold = 1000;  // recipients per `daily_window`
  Duration daily_window = hours(24);
};

struct MailGeographyConfig {  // successful SMTP AUTH logins for one mailbox
  std::uint32_t countries = 3;  // distinct countries within `window`
  std::uint32_t ips = 10;       // distinct IPs within `window`
  Duration window = hours(1);
};

struct IncidentConfig {
  Duration idle = hours(1);  // an incident with no activity for this long is closed
  std::size_t max_accounts = 1'000'000;  // accounts remembered per open incident
};

struct EngineConfig {
  BruteForceConfig brute_force;
  AccountUnderAttackConfig account_under_attack;
  IpFailuresConfig ip_failures;
  NetworkFailuresConfig network_failures;
  CredentialStuffingConfig credential_stuffing;
  PasswordSprayConfig password_spray;
  DistributedStuffingConfig distributed_stuffing;
  MailVolumeConfig mail_volume;
  MailGeographyConfig mail_geography;
  IncidentConfig incidents;
  LoginRiskConfig login_risk;
  RiskyChangeConfig risky_change;
  MessageFanoutConfig message_fanout;
  ProfileConfig profiles;
  std::size_t memory_budget_bytes = std::size_t(256) << 20;
  Duration activity_retention = hours(24 * 90);
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_ENGINE_CONFIG_H_
