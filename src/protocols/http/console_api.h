#ifndef MAMORI_PROTOCOLS_HTTP_CONSOLE_API_H_
#define MAMORI_PROTOCOLS_HTTP_CONSOLE_API_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "account/operator_accounts.h"
#include "core/clock.h"
#include "core/work_pool.h"
#include "engine/engine.h"
#include "protocols/http/console_sessions.h"
#include "protocols/http/http_types.h"

namespace mamori::http {

// The console's sign-in, behind the ApiHandler's routes (docs/openapi.json):
//   POST /v1/operators/sign-in   {"token"} or {"name", "password", "code"}
//   POST /v1/operators/sign-out  ends the cookie's session
//   GET  /v1/operators/me        the cookie's session
// the operator accounts (admin):
//   POST   /v1/operators                   {"name", "password"}: 201 and the TOTP secret
//   GET    /v1/operators                   the list
//   DELETE /v1/operators/{name}            204; the operator's sessions end
//   POST   /v1/operators/{name}/totp-reset a new TOTP secret; the sessions end
// (each recorded in the audit log under `actor`), and the cookie
// authentication of every other /v1 route (authenticate()).
//
// A sign-in passes through the engine like any login: a login attempt for
// account `console:NAME` (`console:token` for a token), protocol `console`,
// the peer's address, refused with 429 `sign_in_refused` when the engine
// answers delay, deny or lock, before any credential is checked; then a
// login result with the check's outcome. Every failed check answers the
// same 401 `sign_in_failed`. An operator's password is checked (Argon2id,
// tens of milliseconds) on a pool of `check_threads` threads, the answer
// deferred (Response::defer()) so that the worker serves other requests
// meanwhile; at most kQueuedChecksPerThread checks a thread wait for it,
// and a sign-in beyond them answers 503 `sign_in_busy` with Retry-After.
// sign_out() and me() run after the ApiHandler authenticated the request;
// they act on the cookie's session, and a bearer token, which has none, is
// answered 401 `unauthorized`.
// Thread-safe: called from every worker thread.
class ConsoleApi {
 public:
  // An admin token's name; none when `token` is not an admin token.
  using AdminTokens = std::function<std::optional<std::string>(std::string_view token)>;

  static constexpr std::size_t kQueuedChecksPerThread = 16;

  // `secure_cookie`: the listener has TLS, so the cookie gets `Secure`.
  // `check_threads`: the password checks' pool (0: one a core, at most 4).
  // Everything must outlive the ConsoleApi; destroying it waits for the
  // checks running (queued ones are dropped: their answers are 500s, or
  // nothing once the server stopped).
  ConsoleApi(ConsoleSessions& sessions, account::OperatorAccounts& operators,
             engine::Engine& engine, const Clock& clock, bool secure_cookie,
             std::size_t check_threads = 0);

  void sign_in(const Request& req, Response& resp, const AdminTokens& admin_tokens);
  void sign_out(const Request& req, Response& resp);
  void me(const Request& req, Response& resp);

  // Who acts: the name and kind ("token" or "operator") of the caller.
  struct Caller {
    std::string name, kind;
  };
  void operator_create(const Request& req, Response& resp, const Caller& by);
  void operators_list(Response& resp);
  // `name` is the raw path segment.
  void operator_delete(std::string_view name, Response& resp, const Caller& by);
  void operator_totp_reset(std::string_view name, Response& resp, const Caller& by);

  enum class Auth { kNoCookie, kSession, kRefused };
  // The cookie's session for a /v1 route: kNoCookie when the request
  // carries no console cookie; kRefused (with `resp` set to 401
  // `unauthorized`, or 403 `csrf_failed` for a method other than GET or
  // HEAD without the session's X-CSRF-Token) when it cannot act;
  // kSession with `out` set otherwise.
  Auth authenticate(const Request& req, Response& resp, ConsoleSession& out);

  // Ends the sessions of tokens `still_admin` no longer names (a reload).
  void retain_tokens(const std::function<bool(std::string_view name)>& still_admin);

  ConsoleSessions& sessions() { return sessions_; }

 private:
  // The session of a route that only a console session may call (sign-out,
  // me): false, with `resp` answered (401 `unauthorized` without a cookie,
  // or authenticate()'s refusal), when there is none.
  bool session_route(const Request& req, Response& resp, ConsoleSession& s);
  // After the credentials were checked (`name`: whose they are; none:
  // refused): the login result for attempt `e`, and the answer.
  void finish_sign_in(Event& e, store::WriteSpan writes, const std::optional<std::string>& name,
                      const std::string& kind, Response& resp);
  // Writes the session's answer and its cookie.
  void answer_session(Response& resp, const ConsoleSession& s, bool set_cookie);
  std::string cookie(std::string_view value, bool clear) const;

  // Whether operator `name` exists; when not (or the store fails), `resp`
  // holds the answer: 404 `operator_not_found` (or 500).
  bool operator_found(const std::string& name, Response& resp);
  // Answers a new TOTP secret (create, reset).
  void answer_totp(Response& resp, int status, const account::OperatorTotp& t);
  store::AuditRecord audit(const Caller& by, std::string action, const std::string& name) const;

  ConsoleSessions& sessions_;
  account::OperatorAccounts& operators_;
  engine::Engine& engine_;
  const Clock& clock_;
  const bool secure_cookie_;
  WorkPool checks_;  // last: destroyed (joined) first
};

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_CONSOLE_API_H_
