#ifndef MAMORI_PROTOCOLS_DOVECOT_DOVECOT_POLICY_H_
#define MAMORI_PROTOCOLS_DOVECOT_DOVECOT_POLICY_H_

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "engine/engine.h"
#include "state/memory_budget.h"
#include "state/sharded_lru.h"

namespace mamori::dovecot {

// What to tell Dovecot: `status` < 0 refuses the login and the mail client
// is shown `msg`; 0 lets it continue; > 0 (on the first check only) makes
// Dovecot wait that many seconds first.
struct PolicyReply {
  int status = 0;
  std::string msg;
  bool judged = false;  // the engine was asked (else: a repeat Dovecot needs no new answer for)
  engine::Outcome outcome;
  std::string json() const;  // {"status":N,"msg":"..."}
};

// The adapter for Dovecot's authentication policy protocol
// (auth_policy_server_url, POST ?command=allow|report with a JSON object of
// string attributes: login, pwhash, remote, protocol, session_id, ...; tls,
// success and policy_reject are booleans).
//
// Dovecot asks `allow` before checking the password, `allow` again with the
// same body after a successful check, and sends `report` at the end. They
// become: the first allow a login attempt; the second allow (same
// session_id) the successful login result, so a lock it causes refuses this
// very login; the report a failed login result, or nothing when the success
// was already reported or the refusal was the policy's own. Each login is
// judged once. A login is recognised by Dovecot's session_id and the login
// name; without a session_id (doveadm auth test, SASL for Postfix) by the
// login, address, protocol and password hash, so that two identical logins
// at the same moment from one address may be taken for one.
//
// Thread-safe. Sessions are remembered for 10 minutes, at most
// `max_sessions` of them.
class DovecotPolicy {
 public:
  explicit DovecotPolicy(engine::Engine& engine, std::size_t max_sessions = 200'000);
  DovecotPolicy(const DovecotPolicy&) = delete;
  DovecotPolicy& operator=(const DovecotPolicy&) = delete;

  // `command` is the query's command ("allow" or "report"), `body` the JSON.
  // Fails with `invalid_command`, `invalid_json`, `missing_field`,
  // `invalid_field`, `invalid_account` or `invalid_ip`; nothing changes then.
  Result<PolicyReply> handle(std::string_view command, std::string_view body, TimePoint now);

 private:
  enum class Stage : std::uint8_t { kNone, kAttempted, kSucceeded };
  struct Session {
    Stage stage = Stage::kNone;
    TimePoint seen{};
    std::size_t memory_bytes() const { return 0; }
  };
  struct StringHash {
    std::size_t operator()(const std::string& s) const;
  };

  engine::Engine& engine_;
  state::MemoryBudget budget_;
  state::ShardedLru<std::string, Session, StringHash> sessions_;
};

// The text a mail client is shown for a refusal; with `retry_after` (the
// refusal ends then) it says when to try again.
std::string refusal_message(const Decision& d, std::optional<Duration> retry_after);

}  // namespace mamori::dovecot

#endif  // MAMORI_PROTOCOLS_DOVECOT_DOVECOT_POLICY_H_
