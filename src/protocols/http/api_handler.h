#ifndef MAMORI_PROTOCOLS_HTTP_API_HANDLER_H_
#define MAMORI_PROTOCOLS_HTTP_API_HANDLER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "account/password_checker.h"
#include "account/pwned_store.h"
#include "account/totp_service.h"
#include "core/clock.h"
#include "engine/engine.h"
#include "engine/profile_batcher.h"
#include "notify/incident_notices.h"
#include "notify/owner_links.h"
#include "protocols/dovecot/dovecot_policy.h"
#include "protocols/http/api_metrics.h"
#include "protocols/http/http_types.h"
#include "store/store.h"

namespace mamori::http {

class ConsoleApi;

enum class Role : std::uint8_t { kApp, kAdmin };

struct ApiToken {
  std::string token;
  Role role = Role::kApp;
  // Who acts with it, in the audit log and `locked by`: a short word
  // (valid_actor_name); empty: default_token_name(token).
  std::string name;
};

// Who makes a request: a token's name (kind `token`) or a signed-in
// operator's (kind `operator`). Every operator action is recorded under it.
struct Actor {
  std::string name;
  std::string kind = "token";  // "token" or "operator"
};

// A token's name when the config gives none: `token-` and the first 4 hex
// digits of the token's SHA-256, stable and not secret.
std::string default_token_name(std::string_view token);
// A name for a token or operator: 1 to 32 of a-z, 0-9, '-', '_', '.',
// starting with a letter or digit.
bool valid_actor_name(std::string_view name);

struct ApiOptions {
  std::vector<ApiToken> tokens;
  bool replay = false;  // honour the events' "time" field
  ReplayClock* replay_clock = nullptr;  // replay mode: told every event time
  std::string version = "0.1.0";
  // Accounts' security features; a null one answers 503 `feature_unavailable`.
  account::TotpService* totp = nullptr;
  const account::PasswordChecker* passwords = nullptr;
  const account::PwnedStoreHolder* pwned = nullptr;
  bool range_public = false;    // GET /range/ without a token
  int range_padding_lines = 900;  // Add-Padding: true pads a range answer to this many lines
  // The owners' pages: signs POST /v1/accounts/{account}/activity-link's
  // links; null answers 503 `feature_unavailable` ([owner_pages] off).
  const notify::OwnerLinks* owner_links = nullptr;
  // POST /v1/incidents/{id}/notify-owners; null answers 503
  // `feature_unavailable` (replay mode sends no notices).
  notify::IncidentNotices* incident_notices = nullptr;
  // The console's sign-in and cookie sessions (protocols/http/console_api.h);
  // null: /v1/operators/sign-in, sign-out and me answer 404 and no cookie
  // is accepted ([console] enabled = false).
  ConsoleApi* console = nullptr;
  // A store across a network (PostgreSQL): a successful login result whose
  // account's profile is not in memory defers its answer, the profile read
  // in a batch off the worker, and is decided once it is cached. Null (the
  // embedded store): decided at once, any read on the worker.
  engine::ProfileBatcher* profile_loads = nullptr;
  // Appends more Prometheus text to /metrics (the outbox's); may be empty.
  std::function<void(std::string&)> more_metrics;
};

// The v1 HTTP API of docs/openapi.json: routes, bearer tokens and roles,
// JSON in and out. An adapter: it turns requests into Events and engine
// calls and the answers back into JSON; it holds no policy. Every rejected
// request is answered before anything changes.
// Thread-safe: handle() runs on every worker thread.
class ApiHandler final : public Handler {
 public:
  ApiHandler(ApiOptions options, engine::Engine& engine, store::Store& store, const Clock& clock);

  void handle(const Request& request, Response& response) override;
  const ApiMetrics& metrics() const { return metrics_; }
  // Replaces the bearer tokens (a config reload): a request is checked
  // against the old set or the new one, and a token removed here is refused
  // from the next request on. Thread-safe.
  void set_tokens(const std::vector<ApiToken>& tokens);
  // The name of admin token `token`; none when it is not one. Thread-safe.
  std::optional<std::string> admin_token_name(std::string_view token) const;

 private:
  struct Call;
  void dispatch(Call& c);
  // One function per route.
  void healthz(Call& c);
  void metrics_text(Call& c);
  void status(Call& c);
  void login(Call& c, EventType type);
  // A login result decided on a profile loader's thread once the account's
  // profile is cached; the answer deferred meanwhile.
  void login_after_profile(Call& c, Event e);
  static void answer_login(Response& resp, EventType type, const engine::Outcome& o);
  void events(Call& c);
  void account_get(Call& c);
  void account_activity(Call& c);
  void account_lock(Call& c);
  void account_unlock(Call& c);
  void account_contact(Call& c);
  void account_activity_link(Call& c);
  void lists_get(Call& c);
  void lists_post(Call& c);
  void list_delete(Call& c);
  void blocked(Call& c);
  void incidents_list(Call& c);
  void incident_get(Call& c);
  void incident_accounts(Call& c);
  void incidents_affected(Call& c);
  void incident_notify_owners(Call& c);
  void totp_enrol(Call& c);
  void totp_confirm(Call& c);
  void totp_verify(Call& c);
  void totp_delete(Call& c);
  void password_check(Call& c);
  void pwned_range(Call& c);
  // Answers a TotpService error with its HTTP status.
  void totp_error(Call& c, const Error& e);
  void dovecot_policy(Call& c);
  void openapi(Call& c);
  // Operator actions and the operator's views.
  void audit_get(Call& c);
  void block_delete(Call& c);
  void incident_close(Call& c);
  void incident_csv(Call& c);
  void incident_require_reset(Call& c);
  void mail_senders(Call& c);
  void mail_sender_release(Call& c);
  void list_import(Call& c);
  // The console (ConsoleApi).
  void operator_sign_in(Call& c);
  void operator_sign_out(Call& c);
  void operator_me(Call& c);
  void stats_decisions(Call& c);
  void operators_list(Call& c);
  void operator_create(Call& c);
  void operator_delete(Call& c);
  void operator_totp_reset(Call& c);
  // An audit record of the caller's action, its time now.
  store::AuditRecord audit_record(const Call& c, std::string action, std::string target,
                                  std::string note, std::string details = "");

  TimePoint now() const { return clock_.now(); }
  // The account view; `notified` (a lock's answer) says whether the owner's
  // notice was queued.
  void write_account(Call& c, const std::string& account,
                     std::optional<bool> notified = std::nullopt);

  ApiOptions options_;
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct TokenInfo {
    Role role;
    std::string name;
  };
  using TokenMap = std::unordered_map<std::string, TokenInfo, TokenHash, std::equal_to<>>;
  std::atomic<std::shared_ptr<const TokenMap>> tokens_;
  engine::Engine& engine_;
  store::Store& store_;
  const Clock& clock_;
  ApiMetrics metrics_;
  const TimePoint started_;
  dovecot::DovecotPolicy dovecot_;
};

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_API_HANDLER_H_
