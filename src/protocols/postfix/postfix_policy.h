#ifndef MAMORI_PROTOCOLS_POSTFIX_POSTFIX_POLICY_H_
#define MAMORI_PROTOCOLS_POSTFIX_POSTFIX_POLICY_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "dnsbl/dnsbl_resolver.h"
#include "engine/engine.h"

namespace mamori::postfix {

// One policy request: Postfix's name=value attributes, in order.
class Attributes {
 public:
  // Parses the lines of one request (without the terminating empty line).
  // Fails with `invalid_request` for a line without '='.
  static Result<Attributes> parse(std::string_view text);
  std::string_view get(std::string_view name) const;
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<std::pair<std::string_view, std::string_view>> items_;  // views into the caller's text
};

// What one policy connection remembers between its requests: Postfix sends
// an SMTP session's requests over one connection, in order.
struct ConnectionState {
  std::string counted_instance;  // the mail transaction whose recipients were counted
};

// The action for a decision about an authenticated sender; with
// `retry_after` (the refusal ends then) a deferral says when to try again.
std::string sender_action(const Decision& d, std::string_view account,
                          const engine::MailVolumeConfig& quota,
                          std::optional<Duration> retry_after = std::nullopt);

// sender_action() for the engine (Engine::process), so that the operator's
// alert says what Postfix was told: DUNNO is `allow`, REJECT `deny` and
// DEFER_IF_PERMIT `defer`. Reads the engine's mail_volume config at each
// answer. Thread-safe.
class SenderWording final : public engine::ClientWording {
 public:
  explicit SenderWording(const engine::Engine& engine) : engine_(engine) {}
  engine::ClientAnswer answer(const Event& e, const Decision& d,
                              std::optional<Duration> retry_after) const override;

 private:
  const engine::Engine& engine_;
};

// The adapter for Postfix's access policy delegation protocol
// (check_policy_service): one request's attributes in, one `action=` out.
//
// Authenticated senders (sasl_username set) are mail_sent events of that
// account: at RCPT a check that one more recipient fits the quota, at DATA
// or END-OF-MESSAGE the message's recipient_count counted once per mail
// transaction (`instance`), at any stage a check that the account is not
// locked. Over quota: DEFER_IF_PERMIT (the client sees 450 4.7.1); locked or
// deny-listed: REJECT (554 5.7.1). Unauthenticated clients (mail from other
// servers) are checked against the IP lists and the DNS blocklists: listed,
// REJECT naming the zone. Everything else: DUNNO (Postfix goes on with its
// own restrictions). Thread-safe.
class PostfixPolicy {
 public:
  // `dnsbl` may be null (no blocklists). Both must outlive this.
  PostfixPolicy(engine::Engine& engine, dnsbl::DnsblResolver* dnsbl, const Clock& clock);

  // The answer: the action text (without "action=") and the store writes to
  // wait for before answering.
  using Reply = std::function<void(std::string action, store::WriteSpan writes)>;
  // The action when those writes could not be stored: Postfix defers the
  // mail (the client retries) rather than let it pass unrecorded.
  static constexpr std::string_view kNotStored =
      "DEFER_IF_PERMIT mamori: temporary failure, try again later";

  // Decides one request. `reply` runs once: on this thread, or on the DNSBL
  // resolver's thread when a lookup was needed.
  void decide(const Attributes& a, ConnectionState& state, Reply reply);

 private:
  engine::Engine& engine_;
  dnsbl::DnsblResolver* dnsbl_;
  const Clock& clock_;
  SenderWording wording_;
};

}  // namespace mamori::postfix

#endif  // MAMORI_PROTOCOLS_POSTFIX_POSTFIX_POLICY_H_
