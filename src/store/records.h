#ifndef MAMORI_STORE_RECORDS_H_
#define MAMORI_STORE_RECORDS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/decision.h"
#include "core/event.h"
#include "core/ip_address.h"

namespace mamori::store {

// Durable records. Plain values; every backend stores and returns them whole.

struct LockInfo {
  std::string reason;  // a Reason word (`account_locked` by an operator, `brute_force`, ...) or free text
  TimePoint since{};
  bool password_reset_required = false;
  std::string by;  // "operator" or the detector that locked it

  friend bool operator==(const LockInfo&, const LockInfo&) = default;
};

struct Contact {
  std::string email;
  std::string lang = "en";  // "en" or "ja"
  bool notify = true;
  std::string time_zone;  // IANA name ("Asia/Tokyo"); empty: by lang (ja: Asia/Tokyo, en: UTC)
};

struct LastLogin {
  TimePoint time{};
  IpAddress ip;
  std::string country;  // ISO code or empty when unknown
};

struct AccountRecord {
  std::string account;  // normalized
  std::optional<LockInfo> lock;
  Contact contact;
  std::optional<LastLogin> last_login;
};

// A device an account has logged in from: the app's device id, or else a
// fingerprint of the user agent (browser family and OS).
struct KnownDevice {
  std::string key;        // "id:<device_id>" or "ua:<family>/<os>"
  std::string device_id;  // as the app sent it; may be empty
  std::string user_agent;  // the latest one seen
  TimePoint first_seen{}, last_seen{};
};

// Where and when an account last logged in successfully.
struct LoginPlace {
  TimePoint time{};
  IpAddress ip;
  std::string country, city;
  double latitude = 0, longitude = 0;
  bool has_coordinates = false;
};

// What mamori knows of an account's habits, to tell a familiar login from a
// new one. Bounded: the oldest devices and places are dropped beyond the
// engine's limits.
struct AccountProfile {
  std::vector<KnownDevice> devices;     // most recently seen first
  std::vector<std::string> countries;   // ISO codes, most recently seen first
  std::vector<std::uint32_t> asns;      // most recently seen first
  std::optional<LoginPlace> last_success;
  // The latest suspicious successful login not yet followed by a passed
  // challenge, with what it would add to the profile once passed.
  std::optional<TimePoint> suspicious_since;
  std::string suspicious_reasons;  // comma-separated reason words
  KnownDevice pending_device;
  std::string pending_country;
  std::uint32_t pending_asn = 0;
  // Which stored write this copy is, or was built on: set by
  // ProfileStore::profile() and put_profile() (store/profile_store.h); 0:
  // none (nothing stored yet, or a store that keeps no versions). Not part
  // of what the profile says: not encoded, not compared, not shown.
  std::uint64_t version = 0;

  bool empty() const { return devices.empty() && countries.empty() && !last_success; }
};

enum class ListKind : std::uint8_t { kAllow, kDeny };
std::string_view to_string(ListKind k);
std::optional<ListKind> list_kind_from_string(std::string_view s);

struct ListEntry {
  std::string id;
  ListKind kind = ListKind::kDeny;
  std::string target;  // "203.0.113.5", "203.0.113.0/24", "2001:db8::/32", "account:NAME", "country:CC"
  std::string reason;
  TimePoint created{};
  std::optional<TimePoint> expires;  // none: never
};

// One entry of an account's activity log (docs/openapi.json's ActivityEvent).
struct ActivityRecord {
  std::string event_id;
  TimePoint time{};
  std::string account;
  EventType type = EventType::kLoginAttempt;
  IpAddress ip;
  std::string country, city;
  std::string user_agent, device_id, protocol;
  std::optional<bool> success;  // login results only
  Action action = Action::kAllow;
  std::vector<std::string> reasons;
  // type kOperatorAction only: who acted (a token's or operator's name) and
  // the note they gave; `reasons` holds the audit action word, `protocol`
  // the actor's kind (`token` or `operator`) and `event_id` the audit id.
  std::string actor, note;
};

enum class IncidentKind : std::uint8_t {
  kCredentialStuffing,
  kPasswordSpray,
  kMailAbuse,
  kMessageFanout,
  kDistributedStuffing
};
std::string_view to_string(IncidentKind k);
std::optional<IncidentKind> incident_kind_from_string(std::string_view s);

struct Incident {
  std::string id;
  IncidentKind kind = IncidentKind::kCredentialStuffing;
  TimePoint started{}, last_seen{};
  std::vector<std::string> sources;  // IPs or networks ("203.0.113.0/24")
  std::int64_t accounts_targeted = 0;
  std::int64_t accounts_compromised = 0;
  std::optional<TimePoint> closed;  // an operator closed it; none: open or closed by idling
};

// The part of an incident's header that changes as its sources go on:
// written alone (RecordStore::put_incident_counts), it leaves the rest of
// the header (kind, start, sources, closed) as put_incident last wrote it,
// so a busy incident with a thousand sources does not rewrite them with
// every account it touches.
struct IncidentCounts {
  std::string id;
  TimePoint last_seen{};
  std::int64_t accounts_targeted = 0;
  std::int64_t accounts_compromised = 0;
};

// An account an incident's sources touched.
struct IncidentAccount {
  std::string account;
  TimePoint first_seen{}, last_seen{};
  bool login_succeeded = false;
};

// A temporary block the engine set on its own (not an operator's list entry).
struct Block {
  std::string scope;  // "ip", "network", "account_ip", "account", "pwhash"
  std::string key;    // what is blocked: "203.0.113.5", "203.0.113.0/24", "alice|203.0.113.5", "alice"
  Reason reason = Reason::kBruteForce;
  Action action = Action::kDeny;
  TimePoint since{}, until{};
  std::string incident_id;  // empty when none

  friend bool operator==(const Block&, const Block&) = default;
};

// One recovery code of a TOTP second factor: its keyed hash (never the code).
struct TotpRecoveryCode {
  std::vector<std::uint8_t> hash;
  std::optional<TimePoint> used;  // none: still usable
};

// An account's TOTP second factor. The secret is stored sealed (encrypted and
// authenticated by account/secret_box); the store never sees it in clear.
struct TotpRecord {
  std::string account;
  std::vector<std::uint8_t> sealed_secret;
  bool confirmed = false;       // false: enrolled, waiting for a first valid code
  std::int64_t last_step = -1;  // the last time step whose code was accepted
  TimePoint created{};
  std::optional<TimePoint> confirmed_at;
  std::vector<TotpRecoveryCode> recovery_codes;
  std::vector<TimePoint> recent_failures;  // wrong codes inside the lock-out window, oldest first
};

// ---- operator accounts: who signs in to the console ----

// An operator account of the console: a name, a password (its Argon2id hash
// from crypto_pwhash_str, never the password) and a TOTP secret (sealed by
// the SecretBox like the accounts' TOTP secrets).
struct OperatorRecord {
  std::string name;
  std::string password_hash;                // "$argon2id$v=19$m=...,t=...,p=1$..."
  std::vector<std::uint8_t> sealed_secret;  // the TOTP secret, sealed
  std::int64_t last_step = -1;              // the last TOTP step accepted at sign-in
  TimePoint created{};
  std::optional<TimePoint> last_sign_in;
};

// ---- audit: what operators did ----

// One operator action (lock, unlock, list add/remove, block lifted, TOTP
// reset, quota release, incident close, bulk reset): who, when, what, on
// what, and the note they gave. Written in the same commit as the action's
// own writes (Commits::together), never changed afterwards.
struct AuditRecord {
  std::string id;  // IdGenerator's: sorts by time
  TimePoint time{};
  std::string actor;       // the token's or operator's name
  std::string actor_kind;  // "token" or "operator"
  std::string action;      // "account_lock", "list_add", "block_lift", ...
  std::string target;      // "account:alice", "ip:203.0.113.5", "list:ID", "incident:ID"
  std::string note;        // may be empty
  std::string details;     // a JSON object (text) with the action's particulars; "{}" when none
};

// Which audit records to read: newest first, those with time in [since,
// until), matching every filter given (empty: any), older than the record
// `before` (an id from an earlier page; empty: from the newest), at most
// `limit`.
struct AuditQuery {
  std::optional<TimePoint> since, until;
  std::string actor, action, target;
  std::string before;
  std::size_t limit = 100;
};

// ---- outbox: owner notices and webhook alerts waiting for delivery ----

enum class OutboxChannel : std::uint8_t { kEmail, kWebhook };
inline constexpr int kOutboxChannelCount = 2;
std::string_view to_string(OutboxChannel c);
std::optional<OutboxChannel> outbox_channel_from_string(std::string_view s);

enum class OutboxState : std::uint8_t {
  kPending,    // waiting for its next attempt
  kDelivered,  // the relay or receiver accepted it
  kFailed,     // given up after the configured maximum age
};
std::string_view to_string(OutboxState s);
std::optional<OutboxState> outbox_state_from_string(std::string_view s);

// One message to deliver at least once. `payload` is JSON: for e-mail the
// facts of the notice (rendered into a mail at each attempt, so a fixed
// template applies to what is still queued); for a webhook the request body.
struct OutboxItem {
  std::string id;  // unique; also the Message-ID / delivery id, stable across attempts
  OutboxChannel channel = OutboxChannel::kEmail;
  std::string destination;  // e-mail address or webhook URL
  std::string payload;
  TimePoint created{};
  std::int64_t attempts = 0;  // failed attempts so far
  TimePoint next_attempt{};
  std::string last_error;  // the last attempt's error; empty when none
  OutboxState state = OutboxState::kPending;
  std::optional<TimePoint> done;  // when delivered or given up
};

// How many outbox items are pending and given up, per channel (index:
// OutboxChannel). Delivered items are not counted (there may be many).
struct OutboxCounts {
  std::array<std::int64_t, kOutboxChannelCount> pending{}, failed{};
  std::optional<TimePoint> next_attempt;  // the earliest pending item's; none: nothing pending
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_RECORDS_H_
