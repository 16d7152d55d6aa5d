#ifndef MAMORI_ENGINE_EFFECTS_H_
#define MAMORI_ENGINE_EFFECTS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/decision.h"
#include "core/event.h"
#include "core/ip_address.h"
#include "core/location.h"
#include "store/store.h"

namespace mamori::engine {

// What an owner notice is about; each kind has a template per language.
enum class NoticeKind : std::uint8_t {
  kNewLogin,       // a successful login from a new device or place
  kAccountLocked,  // the account was locked (sent to the old address after an e-mail change)
  // A login from an incident's source (an address that attacked many
  // accounts) succeeded with the owner's password.
  kCompromised,
  // An incident's source tried the account and failed: the password was not
  // confirmed to the attacker (POST /v1/incidents/{id}/notify-owners).
  kTargeted,
};

// A notice to an account's owner, with the facts of the event behind it.
struct OwnerNotice {
  NoticeKind kind = NoticeKind::kNewLogin;
  std::string account;
  std::string event_id;
  TimePoint time{};
  IpAddress ip;
  Location where;
  std::string user_agent;
  std::string protocol;
  bool new_device = false, new_location = false;
  std::vector<Reason> reasons;
  // Where to send it instead of the contact's address (the old address of an
  // e-mail change); empty: the account's contact address.
  std::string to_address;
  // kAccountLocked: the operator's lock reason, shown to the owner as written
  // (empty for a detector's lock), and whether a password reset unlocks it.
  std::string note;
  bool password_reset_required = false;
  // kCompromised, kTargeted: the incident, and whether the account is locked
  // now (kAccountLocked is locked by definition).
  std::string incident_id;
  bool locked = false;
  // kAccountLocked: the owner locked it ("this wasn't me" on the owner's page).
  bool by_owner = false;
};

// What a client was told about a decision, when its adapter words decisions
// its own way (Postfix: DEFER_IF_PERMIT, REJECT, DUNNO).
struct ClientAnswer {
  // The action in the API's words, and "defer": told to try again later.
  std::string action;
  std::string reply;  // the protocol's answer as sent
};

// How an adapter words a decision for its client. The engine asks it before
// it alerts, so that the operator's alert says what the client was told;
// the adapter then sends the same reply (Outcome::answer). Thread-safe.
class ClientWording {
 public:
  virtual ~ClientWording() = default;
  virtual ClientAnswer answer(const Event& e, const Decision& d,
                              std::optional<Duration> retry_after) const = 0;
};

// A decision above allow, for the operator's webhooks and the decision log.
struct Alert {
  std::string event_id;
  EventType type = EventType::kLoginAttempt;
  std::string account;
  IpAddress ip;
  std::string protocol;  // the event's ("imap", "smtp", ...); empty: not given
  Location where;
  TimePoint time{};
  Decision decision;
  std::string incident_id;
  // What the client was told, when its adapter words it (empty action: the
  // decision's action is the answer, as over the HTTP API).
  ClientAnswer answer;

  // The action the client was given, in the API's words.
  std::string_view client_action() const {
    return answer.action.empty() ? to_string(decision.action()) : std::string_view(answer.action);
  }
};

// The engine's side effects beyond its own state: owner notices and webhook
// alerts. Implementations write them to the durable outbox (queued on the
// store's writer) and deliver them later with retry; the caller waits for the
// returned ticket before answering, so an acknowledged event's notice is not
// lost. Thread-safe.
class Effects {
 public:
  virtual ~Effects() = default;

  struct Queued {
    store::WriteTicket ticket = 0;  // 0: nothing written
    bool queued = false;            // false: no address, or the owner opted out
  };
  virtual Queued notify_owner(const OwnerNotice& notice) = 0;
  // One outbox entry per configured webhook; none when there are none.
  virtual store::WriteTicket alert(const Alert& alert) = 0;
  // False when alert() would write nothing (no webhooks configured): the
  // engine then does not build the Alert at all.
  virtual bool alerts_enabled() const { return true; }
  // An operator's action (the audit record): one `operator_action` entry per
  // configured webhook, never throttled. An implementation without
  // webhooks writes nothing (returns 0).
  virtual store::WriteTicket operator_action(const store::AuditRecord&) { return 0; }
};

// Where every decision above allow is written as it is made (the decision
// log, server/decision_log.h). record() must not hold the event up:
// implementations queue and drop. Thread-safe.
class DecisionSink {
 public:
  virtual ~DecisionSink() = default;
  // False when record() would write nothing: the engine then builds no Alert.
  virtual bool enabled() const = 0;
  virtual void record(const Alert& decision) = 0;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_EFFECTS_H_
