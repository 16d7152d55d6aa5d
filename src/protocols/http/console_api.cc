#include "protocols/http/console_api.h"

#include <simdjson.h>

#include "core/json_writer.h"
#include "protocols/http/api_handler.h"

namespace mamori::http {

namespace {

constexpr std::size_t kMaxSecretBytes = 1024;

// The string fields of a JSON object body that the console's routes read;
// a field that is absent or null stays empty.
struct Fields {
  std::string token, name, password, code;
};

Result<Fields> parse_fields(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  auto doc = parser.parse(body.data(), body.size(), true);
  simdjson::dom::object obj;
  if (body.empty() || doc.error() || doc.value().get_object().get(obj))
    return make_error("invalid_json", "the request body must be a JSON object");
  Fields out;
  for (auto [name, field] : {std::pair<std::string_view, std::string*>{"token", &out.token},
                             {"name", &out.name},
                             {"password", &out.password},
                             {"code", &out.code}}) {
    simdjson::dom::element e;
    if (obj.at_key(name).get(e) != simdjson::SUCCESS || e.is_null()) continue;
    std::string_view v;
    if (e.get_string().get(v) != simdjson::SUCCESS)
      return make_error("invalid_field", "field '" + std::string(name) + "' must be a string");
    if (v.size() > kMaxSecretBytes)
      return make_error("field_too_long", "field '" + std::string(name) + "' is longer than " +
                                              std::to_string(kMaxSecretBytes) + " bytes");
    field->assign(v);
  }
  return out;
}

Result<Fields> parse_sign_in(std::string_view body) {
  auto f = parse_fields(body);
  if (f && f->token.empty() && (f->name.empty() || f->password.empty() || f->code.empty()))
    return make_error("missing_field", "give either 'token' or 'name', 'password' and 'code'");
  return f;
}

// A route of the console's session called with a bearer token.
void not_signed_in(Response& resp) {
  set_error(resp, 401, "unauthorized", "not signed in to the console (no session cookie)");
  resp.headers.emplace_back("WWW-Authenticate", "Bearer");
}

void sign_in_failed(Response& resp) {
  set_error(resp, 401, "sign_in_failed", "sign-in failed: the credentials were not accepted");
}

}  // namespace

ConsoleApi::ConsoleApi(ConsoleSessions& sessions, account::OperatorAccounts& operators,
                       engine::Engine& engine, const Clock& clock, bool secure_cookie,
                       std::size_t check_threads)
    : sessions_(sessions),
      operators_(operators),
      engine_(engine),
      clock_(clock),
      secure_cookie_(secure_cookie),
      checks_(check_threads != 0 ? check_threads : WorkPool::threads_for_cores(4),
              kQueuedChecksPerThread *
                  (check_threads != 0 ? check_threads : WorkPool::threads_for_cores(4)),
              "sign-in-check") {}

std::string ConsoleApi::cookie(std::string_view value, bool clear) const {
  std::string c = std::string(kConsoleCookie) + "=" + std::string(value) +
                  "; Path=/; HttpOnly; SameSite=Strict";
  if (clear) c += "; Max-Age=0";
  if (secure_cookie_) c += "; Secure";
  return c;
}

void ConsoleApi::answer_session(Response& resp, const ConsoleSession& s, bool set_cookie) {
  resp.status = 200;
  resp.content_type = "application/json";
  JsonWriter w(resp.body);
  w.begin_object()
      .field("operator", s.name)
      .field("kind", s.kind)
      .field("csrf", s.csrf)
      .field("idle_timeout_s", std::int64_t(std::chrono::duration_cast<std::chrono::seconds>(
                                                sessions_.options().idle_timeout)
                                                .count()))
      .field("expires", format_rfc3339(s.expires))
      .end_object();
  if (set_cookie) resp.headers.emplace_back("Set-Cookie", cookie(s.id, false));
  resp.headers.emplace_back("Cache-Control", "no-store");
}

void ConsoleApi::sign_in(const Request& req, Response& resp, const AdminTokens& admin_tokens) {
  auto body = parse_sign_in(req.body);
  if (!body) return set_error(resp, 400, body.error().code, body.error().message);
  const bool by_token = !body->token.empty();
  if (!by_token && !valid_actor_name(body->name)) return sign_in_failed(resp);

  Event e;
  e.type = EventType::kLoginAttempt;
  e.account = "console:" + (by_token ? std::string("token") : body->name);
  e.ip = req.peer;
  e.protocol = "console";
  e.user_agent = std::string(req.header("User-Agent").substr(0, kMaxUserAgentBytes));
  e.time = clock_.now();
  engine::Outcome attempt = engine_.process(e);
  store::WriteSpan writes = attempt.writes;
  resp.wait_from = writes.first;
  resp.wait_for = writes.last;
  const Action a = attempt.decision.action();
  if (a == Action::kDelay || a == Action::kDeny || a == Action::kLock) {
    set_error(resp, 429, "sign_in_refused",
              "too many failed sign-ins from this address or for this name; try again later");
    if (attempt.retry_after) {
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(*attempt.retry_after);
      resp.headers.emplace_back("Retry-After",
                                std::to_string(std::max<std::int64_t>(1, s.count() + 1)));
    }
    return;
  }

  if (by_token) return finish_sign_in(e, writes, admin_tokens(body->token), "token", resp);

  // An operator's password: hashed on the pool, the answer deferred.
  struct Check {
    DeferredAnswer answer;
    Fields body;
    Event e;
    store::WriteSpan writes;
  };
  auto check = std::make_shared<Check>(Check{resp.defer(), std::move(*body), std::move(e), writes});
  if (!check->answer) return;  // `resp` holds the refusal
  std::function<void()> job = [this, check] {
    Response r;
    try {
      auto checked = operators_.check(check->body.name, check->body.password, check->body.code);
      if (!checked) {
        set_error(r, 500, checked.error().code, checked.error().message);
        r.wait_from = check->writes.first;
        r.wait_for = check->writes.last;
      } else {
        check->writes.add(checked->ticket);
        std::optional<std::string> name;
        if (checked->ok) name = check->body.name;
        finish_sign_in(check->e, check->writes, name, "operator", r);
      }
    } catch (const std::exception&) {
      r = Response();
      set_error(r, 500, "internal_error", "internal error while checking the sign-in");
    }
    check->answer.finish(std::move(r));
  };
  if (!checks_.try_post(job)) {
    Response r;
    set_error(r, 503, "sign_in_busy", "too many sign-ins are being checked; try again in a second");
    r.headers.emplace_back("Retry-After", "1");
    r.wait_from = writes.first;
    r.wait_for = writes.last;
    check->answer.finish(std::move(r));
  }
}

void ConsoleApi::finish_sign_in(Event& e, store::WriteSpan writes,
                                const std::optional<std::string>& name, const std::string& kind,
                                Response& resp) {
  e.type = EventType::kLoginResult;
  e.success = name.has_value();
  e.mfa = kind == "operator" && name.has_value();
  e.time = clock_.now();
  engine::Outcome result = engine_.process(e);
  writes.add(result.writes);
  resp.wait_from = writes.first;
  resp.wait_for = writes.last;
  if (!name) return sign_in_failed(resp);
  answer_session(resp, sessions_.open(*name, kind, clock_.now()), true);
}

store::AuditRecord ConsoleApi::audit(const Caller& by, std::string action,
                                     const std::string& name) const {
  store::AuditRecord r;
  r.time = clock_.now();
  r.actor = by.name;
  r.actor_kind = by.kind;
  r.action = std::move(action);
  r.target = "operator:" + name;
  return r;
}

void ConsoleApi::answer_totp(Response& resp, int status, const account::OperatorTotp& t) {
  resp.status = status;
  resp.content_type = "application/json";
  JsonWriter w(resp.body);
  w.begin_object()
      .field("name", t.name)
      .field("totp_uri", t.otpauth_uri)
      .field("totp_secret", t.secret_base32)
      .end_object();
  resp.headers.emplace_back("Cache-Control", "no-store");
}

void ConsoleApi::operator_create(const Request& req, Response& resp, const Caller& by) {
  auto body = parse_fields(req.body);
  if (!body) return set_error(resp, 400, body.error().code, body.error().message);
  if (body->name.empty() || body->password.empty())
    return set_error(resp, 400, "missing_field", "give 'name' and 'password'");
  auto prepared = operators_.prepare(body->name, body->password);
  if (!prepared) {
    const int status = prepared.error().code == "internal_error" ? 500 : 400;
    return set_error(resp, status, prepared.error().code, prepared.error().message);
  }
  auto exists = operators_.exists(body->name);
  if (!exists) return set_error(resp, 500, exists.error().code, exists.error().message);
  if (*exists)
    return set_error(resp, 409, "operator_exists", "operator '" + body->name + "' exists");
  std::optional<Result<account::OperatorTotp>> added;
  store::AuditRecord rec = audit(by, "operator_add", body->name);
  const store::WriteSpan writes = engine_.audited(rec, {}, [&] {
    added = operators_.add(std::move(*prepared));
    store::WriteSpan span;
    if (*added) span.add((*added)->ticket);
    return span;
  });
  resp.wait_from = writes.first;
  resp.wait_for = writes.last;
  if (!*added) return set_error(resp, 409, added->error().code, added->error().message);
  answer_totp(resp, 201, **added);
}

void ConsoleApi::operators_list(Response& resp) {
  auto rows = operators_.list();
  if (!rows) return set_error(resp, 500, rows.error().code, rows.error().message);
  resp.status = 200;
  resp.content_type = "application/json";
  JsonWriter w(resp.body);
  w.begin_object().key("operators").begin_array();
  for (const store::OperatorRecord& r : *rows) {
    w.begin_object().field("name", r.name).field("created", format_rfc3339(r.created));
    w.key("last_sign_in");
    if (r.last_sign_in) {
      w.value(format_rfc3339(*r.last_sign_in));
    } else {
      w.null();
    }
    w.end_object();
  }
  w.end_array().end_object();
}

bool ConsoleApi::operator_found(const std::string& name, Response& resp) {
  auto exists = operators_.exists(name);
  if (!exists) {
    set_error(resp, 500, exists.error().code, exists.error().message);
    return false;
  }
  if (!*exists) {
    set_error(resp, 404, "operator_not_found", "no operator '" + name + "'");
    return false;
  }
  return true;
}

void ConsoleApi::operator_delete(std::string_view raw, Response& resp, const Caller& by) {
  const std::string name(raw);
  if (!operator_found(name, resp)) return;
  std::optional<Result<store::WriteTicket>> removed;
  store::AuditRecord rec = audit(by, "operator_remove", name);
  const store::WriteSpan writes = engine_.audited(rec, {}, [&] {
    removed = operators_.remove(name);
    store::WriteSpan span;
    if (*removed) span.add(**removed);
    return span;
  });
  resp.wait_from = writes.first;
  resp.wait_for = writes.last;
  if (!*removed) return set_error(resp, 404, removed->error().code, removed->error().message);
  sessions_.close_all(name, "operator");
  resp.status = 204;
  resp.content_type.clear();
}

void ConsoleApi::operator_totp_reset(std::string_view raw, Response& resp, const Caller& by) {
  const std::string name(raw);
  if (!operator_found(name, resp)) return;
  std::optional<Result<account::OperatorTotp>> reset;
  store::AuditRecord rec = audit(by, "operator_totp_reset", name);
  const store::WriteSpan writes = engine_.audited(rec, {}, [&] {
    reset = operators_.reset_totp(name);
    store::WriteSpan span;
    if (*reset) span.add((*reset)->ticket);
    return span;
  });
  resp.wait_from = writes.first;
  resp.wait_for = writes.last;
  if (!*reset) return set_error(resp, 404, reset->error().code, reset->error().message);
  sessions_.close_all(name, "operator");
  answer_totp(resp, 200, **reset);
}

bool ConsoleApi::session_route(const Request& req, Response& resp, ConsoleSession& s) {
  switch (authenticate(req, resp, s)) {
    case Auth::kRefused:
      return false;
    case Auth::kNoCookie:
      not_signed_in(resp);
      return false;
    case Auth::kSession:
      break;
  }
  return true;
}

void ConsoleApi::sign_out(const Request& req, Response& resp) {
  ConsoleSession s;
  if (!session_route(req, resp, s)) return;
  sessions_.close(s.id);
  resp.status = 204;
  resp.content_type.clear();
  resp.headers.emplace_back("Set-Cookie", cookie("", true));
}

void ConsoleApi::me(const Request& req, Response& resp) {
  ConsoleSession s;
  if (!session_route(req, resp, s)) return;
  answer_session(resp, s, false);
}

ConsoleApi::Auth ConsoleApi::authenticate(const Request& req, Response& resp, ConsoleSession& out) {
  const std::string_view id = cookie_value(req.header("Cookie"), kConsoleCookie);
  if (id.empty()) return Auth::kNoCookie;
  auto s = sessions_.use(id, clock_.now());
  if (!s) {
    set_error(resp, 401, "unauthorized",
              "the console session has ended (signed out, idle or expired); sign in again");
    resp.headers.emplace_back("WWW-Authenticate", "Bearer");
    return Auth::kRefused;
  }
  if (req.method != "GET" && req.method != "HEAD" &&
      !ConsoleSessions::csrf_matches(*s, req.header("X-CSRF-Token"))) {
    set_error(resp, 403, "csrf_failed",
              "a console write needs the session's token in the X-CSRF-Token header");
    return Auth::kRefused;
  }
  out = std::move(*s);
  return Auth::kSession;
}

void ConsoleApi::retain_tokens(const std::function<bool(std::string_view name)>& still_admin) {
  sessions_.close_if(
      [&](const ConsoleSession& s) { return s.kind == "token" && !still_admin(s.name); });
}

}  // namespace mamori::http
