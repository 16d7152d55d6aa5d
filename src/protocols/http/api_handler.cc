#include "protocols/http/api_handler.h"

#include <simdjson.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <cstdio>

#include "core/json_writer.h"
#include "core/log.h"
#include "engine/lists.h"
#include "notify/time_zone.h"
#include "protocols/http/console_api.h"
#include "protocols/http/openapi_document.h"
#include "protocols/http/url_decode.h"

namespace mamori::http {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::size_t kMaxReasonBytes = 256;
constexpr std::size_t kMaxNoteBytes = 1024;
constexpr std::size_t kDefaultActivityLimit = 100;
constexpr std::size_t kMaxActivityLimit = 1000;

// A request's JSON body as an object, with typed field readers that produce
// the API's error codes. The first error wins; later reads are no-ops.
class Body {
 public:
  bool parse(std::string_view body) {
    thread_local simdjson::dom::parser parser;
    if (body.empty()) return fail("invalid_json", "the request body must be a JSON object");
    auto doc = parser.parse(body.data(), body.size(), true);
    if (doc.error()) return fail("invalid_json", std::string("the request body is not valid JSON: ") +
                                                     simdjson::error_message(doc.error()));
    auto obj = doc.value().get_object();
    if (obj.error()) return fail("invalid_json", "the request body must be a JSON object");
    obj_ = obj.value();
    return true;
  }

  bool ok() const { return error_code_.empty(); }
  const std::string& code() const { return error_code_; }
  const std::string& message() const { return error_message_; }

  bool has(std::string_view name) const {
    element e;
    return obj_.at_key(name).get(e) == simdjson::SUCCESS && !e.is_null();
  }

  // A string field of at most `max` bytes; absent or null leaves `out`.
  bool string(std::string_view name, std::string& out, std::size_t max, bool required) {
    if (!ok()) return false;
    element e;
    if (obj_.at_key(name).get(e) != simdjson::SUCCESS || e.is_null())
      return required ? fail("missing_field", "missing field '" + std::string(name) + "'") : true;
    std::string_view v;
    if (e.get_string().get(v) != simdjson::SUCCESS)
      return fail("invalid_field", "field '" + std::string(name) + "' must be a string");
    if (v.size() > max)
      return fail("field_too_long", "field '" + std::string(name) + "' is longer than " +
                                        std::to_string(max) + " bytes");
    out.assign(v);
    return true;
  }
  bool boolean(std::string_view name, bool& out, bool required) {
    if (!ok()) return false;
    element e;
    if (obj_.at_key(name).get(e) != simdjson::SUCCESS || e.is_null())
      return required ? fail("missing_field", "missing field '" + std::string(name) + "'") : true;
    if (e.get_bool().get(out) != simdjson::SUCCESS)
      return fail("invalid_field", "field '" + std::string(name) + "' must be true or false");
    return true;
  }
  bool integer(std::string_view name, std::int64_t& out, std::int64_t min, std::int64_t max,
               bool required) {
    if (!ok()) return false;
    element e;
    if (obj_.at_key(name).get(e) != simdjson::SUCCESS || e.is_null())
      return required ? fail("missing_field", "missing field '" + std::string(name) + "'") : true;
    std::int64_t v;
    if (e.get_int64().get(v) != simdjson::SUCCESS)
      return fail("invalid_field", "field '" + std::string(name) + "' must be an integer");
    if (v < min || v > max)
      return fail("invalid_field", "field '" + std::string(name) + "' must be between " +
                                       std::to_string(min) + " and " + std::to_string(max));
    out = v;
    return true;
  }
  bool string_array(std::string_view name, std::vector<std::string>& out, std::size_t max_items,
                    std::size_t max_bytes) {
    if (!ok()) return false;
    element e;
    if (obj_.at_key(name).get(e) != simdjson::SUCCESS || e.is_null())
      return fail("missing_field", "missing field '" + std::string(name) + "'");
    simdjson::dom::array arr;
    if (e.get_array().get(arr) != simdjson::SUCCESS)
      return fail("invalid_field", "field '" + std::string(name) + "' must be an array of strings");
    if (arr.size() > max_items)
      return fail("invalid_field", "field '" + std::string(name) + "' has more than " +
                                       std::to_string(max_items) + " items");
    for (element item : arr) {
      std::string_view v;
      if (item.get_string().get(v) != simdjson::SUCCESS)
        return fail("invalid_field", "field '" + std::string(name) + "' must be an array of strings");
      if (v.size() > max_bytes)
        return fail("field_too_long", "an item of '" + std::string(name) + "' is longer than " +
                                          std::to_string(max_bytes) + " bytes");
      out.emplace_back(v);
    }
    return true;
  }

  bool fail(std::string code, std::string message) {
    if (ok()) {
      error_code_ = std::move(code);
      error_message_ = std::move(message);
    }
    return false;
  }

 private:
  object obj_;
  std::string error_code_, error_message_;
};

bool valid_protocol(std::string_view p) {
  if (p.empty() || p.size() > kMaxProtocolBytes) return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

void write_decision_reasons(JsonWriter& w, const Decision& d) {
  w.key("reasons").begin_array();
  for (int i = 0; i < d.reason_count(); ++i) w.value(to_string(d.reason(i)));
  w.end_array();
}

// Delay and deny answers: the whole seconds until the refusal's causes end
// (rounded up), absent when one of them has no end.
void write_retry_after(JsonWriter& w, const engine::Outcome& o) {
  if (!o.retry_after) return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*o.retry_after).count();
  w.field("retry_after_s", std::int64_t((ms + 999) / 1000));
}

void write_time_or_null(JsonWriter& w, std::string_view key, const std::optional<TimePoint>& t) {
  w.key(key);
  if (t) w.value(format_rfc3339(*t));
  else w.null();
}

void write_incident(JsonWriter& w, const store::Incident& i) {
  w.begin_object()
      .field("id", i.id)
      .field("kind", store::to_string(i.kind))
      .field("started", format_rfc3339(i.started))
      .field("last_seen", format_rfc3339(i.last_seen));
  w.key("sources").begin_array();
  for (const auto& s : i.sources) w.value(s);
  w.end_array();
  w.field("accounts_targeted", i.accounts_targeted)
      .field("accounts_compromised", i.accounts_compromised);
  write_time_or_null(w, "closed", i.closed);
  w.end_object();
}

// A JSON object's text, its fields written by fill(JsonWriter&).
template <typename Fill>
std::string json_object(Fill&& fill) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  fill(w);
  w.end_object();
  return out;
}

// The account a list target names (`account:NAME`), whose activity shows
// the list change; none for addresses and countries.
std::vector<std::string> list_target_accounts(std::string_view target) {
  if (!target.starts_with("account:")) return {};
  return {std::string(target.substr(8))};
}

void write_list_entry(JsonWriter& w, const store::ListEntry& e) {
  w.begin_object()
      .field("id", e.id)
      .field("kind", store::to_string(e.kind))
      .field("target", e.target)
      .field("reason", e.reason)
      .field("created", format_rfc3339(e.created));
  write_time_or_null(w, "expires", e.expires);
  w.end_object();
}

// Splits "/a/b?x=1&y=2" into path segments and query pairs, raw: a segment is
// decoded with decode_path_segment and a query value with decode_query_value
// by the route that reads it (after the split, so "%2F" and "%26" stay data).
struct Target {
  // Inline capacity for every route's path and a typical query: no
  // allocation per request.
  boost::container::small_vector<std::string_view, 8> segments;
  boost::container::small_vector<std::pair<std::string_view, std::string_view>, 4> query;
  bool trailing_slash = false;

  explicit Target(std::string_view t) {
    const auto q = t.find('?');
    std::string_view path = t.substr(0, q);
    if (q != std::string_view::npos) {
      std::string_view rest = t.substr(q + 1);
      while (!rest.empty()) {
        const auto amp = rest.find('&');
        std::string_view kv = rest.substr(0, amp);
        const auto eq = kv.find('=');
        if (!kv.empty())
          query.emplace_back(kv.substr(0, eq),
                             eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        rest = rest.substr(amp + 1);
      }
    }
    trailing_slash = path.size() > 1 && path.back() == '/';
    while (!path.empty()) {
      if (path.front() == '/') {
        path.remove_prefix(1);
        continue;
      }
      const auto slash = path.find('/');
      segments.push_back(path.substr(0, slash));
      if (slash == std::string_view::npos) break;
      path = path.substr(slash + 1);
    }
  }

  std::optional<std::string_view> param(std::string_view name) const {
    for (const auto& [k, v] : query)
      if (k == name) return v;
    return std::nullopt;
  }
};

}  // namespace

struct ApiHandler::Call {
  const Request& req;
  Response& resp;
  Target target;
  Route route = Route::kUnknown;
  Role role = Role::kApp;
  Body body;
  Actor actor;

  void error(int status, std::string_view code, std::string_view message) {
    set_error(resp, status, code, message);
  }
  void bad_body() { error(400, body.code(), body.message()); }
  // The answer goes out once `writes` are committed, as 503
  // `store_unavailable` if one of them was not stored.
  void wait_for(const store::WriteSpan& writes) {
    resp.wait_from = writes.first;
    resp.wait_for = writes.last;
  }
  // A write that was waited for here failed to commit.
  void store_unavailable(const Error& e) {
    error(503, "store_unavailable",
          "the request's writes could not be stored (" + e.message +
              "); nothing of it took effect, try again");
    resp.headers.emplace_back("Retry-After", "1");
  }
  void json(int status = 200) {
    resp.status = status;
    resp.content_type = "application/json";
  }
};

ApiHandler::ApiHandler(ApiOptions options, engine::Engine& engine, store::Store& store,
                       const Clock& clock)
    : options_(std::move(options)),
      engine_(engine),
      store_(store),
      clock_(clock),
      started_(clock.now()),
      dovecot_(engine) {
  set_tokens(options_.tokens);
}

void ApiHandler::set_tokens(const std::vector<ApiToken>& tokens) {
  auto map = std::make_shared<TokenMap>();
  for (const ApiToken& t : tokens)
    (*map)[t.token] = TokenInfo{t.role, t.name.empty() ? default_token_name(t.token) : t.name};
  if (options_.console) {
    options_.console->retain_tokens([&](std::string_view name) {
      for (const auto& [token, info] : *map)
        if (info.role == Role::kAdmin && info.name == name) return true;
      return false;
    });
  }
  tokens_.store(std::move(map));
}

std::optional<std::string> ApiHandler::admin_token_name(std::string_view token) const {
  const std::shared_ptr<const TokenMap> tokens = tokens_.load();
  auto it = tokens->find(token);
  if (it == tokens->end() || it->second.role != Role::kAdmin) return std::nullopt;
  return it->second.name;
}

void ApiHandler::operator_sign_in(Call& c) {
  options_.console->sign_in(c.req, c.resp,
                            [this](std::string_view token) { return admin_token_name(token); });
}
void ApiHandler::operator_sign_out(Call& c) { options_.console->sign_out(c.req, c.resp); }
void ApiHandler::operator_me(Call& c) { options_.console->me(c.req, c.resp); }
void ApiHandler::operators_list(Call& c) { options_.console->operators_list(c.resp); }
void ApiHandler::operator_create(Call& c) {
  options_.console->operator_create(c.req, c.resp, {c.actor.name, c.actor.kind});
}
void ApiHandler::operator_delete(Call& c) {
  options_.console->operator_delete(c.target.segments[2], c.resp, {c.actor.name, c.actor.kind});
}
void ApiHandler::operator_totp_reset(Call& c) {
  options_.console->operator_totp_reset(c.target.segments[2], c.resp, {c.actor.name, c.actor.kind});
}

void ApiHandler::handle(const Request& request, Response& response) {
  const std::uint64_t t0 = monotonic_ns();
  Call c{request, response, Target(request.target), Route::kUnknown, Role::kApp, Body(), Actor()};
  dispatch(c);
  metrics_.count_request(c.route, response.status, monotonic_ns() - t0);
}

void ApiHandler::dispatch(Call& c) {
  const auto& s = c.target.segments;
  const std::string_view m = c.req.method;
  // Route table: which route, which methods, which role.
  struct Match {
    Route route;
    std::string_view method;
    Role role;
    bool auth;
    void (ApiHandler::*fn)(Call&);
  };
  // At most two methods share a path; a fixed array keeps the request path
  // free of allocations.
  struct Candidates {
    std::array<Match, 2> items{};
    std::size_t count = 0;
    void push_back(const Match& m) { items[count++] = m; }
    bool empty() const { return count == 0; }
    const Match& front() const { return items[0]; }
    const Match* begin() const { return items.data(); }
    const Match* end() const { return items.data() + count; }
  } candidates;
  auto add = [&](Route r, std::string_view method, Role role, void (ApiHandler::*fn)(Call&),
                 bool auth = true) { candidates.push_back({r, method, role, auth, fn}); };
  const std::size_t n = s.size();
  if (n == 1 && s[0] == "healthz") add(Route::kHealthz, "GET", Role::kApp, &ApiHandler::healthz, false);
  else if (n == 1 && s[0] == "metrics") add(Route::kMetrics, "GET", Role::kApp, &ApiHandler::metrics_text, false);
  else if (n == 2 && s[0] == "range")
    add(Route::kPwnedRange, "GET", Role::kApp, &ApiHandler::pwned_range, !options_.range_public);
  else if (n == 2 && s[0] == "dovecot" && s[1] == "policy")
    add(Route::kDovecotPolicy, "POST", Role::kApp, &ApiHandler::dovecot_policy);
  else if (n >= 2 && s[0] == "v1") {
    if (n == 2 && s[1] == "status") add(Route::kStatus, "GET", Role::kAdmin, &ApiHandler::status);
    else if (n == 2 && s[1] == "openapi.json")
      add(Route::kOpenApi, "GET", Role::kApp, &ApiHandler::openapi);
    else if (n == 3 && s[1] == "login" && s[2] == "attempt")
      add(Route::kLoginAttempt, "POST", Role::kApp, nullptr);
    else if (n == 3 && s[1] == "login" && s[2] == "result")
      add(Route::kLoginResult, "POST", Role::kApp, nullptr);
    else if (n == 2 && s[1] == "events") add(Route::kEvents, "POST", Role::kApp, &ApiHandler::events);
    else if (s[1] == "accounts" && n == 3) add(Route::kAccount, "GET", Role::kApp, &ApiHandler::account_get);
    else if (s[1] == "accounts" && n == 4) {
      if (s[3] == "activity") add(Route::kAccountActivity, "GET", Role::kApp, &ApiHandler::account_activity);
      else if (s[3] == "lock") add(Route::kAccountLock, "POST", Role::kAdmin, &ApiHandler::account_lock);
      else if (s[3] == "unlock") add(Route::kAccountUnlock, "POST", Role::kAdmin, &ApiHandler::account_unlock);
      else if (s[3] == "contact") add(Route::kAccountContact, "PUT", Role::kApp, &ApiHandler::account_contact);
      else if (s[3] == "activity-link")
        add(Route::kAccountActivityLink, "POST", Role::kApp, &ApiHandler::account_activity_link);
      else if (s[3] == "totp") {
        add(Route::kTotp, "POST", Role::kApp, &ApiHandler::totp_enrol);
        add(Route::kTotp, "DELETE", Role::kApp, &ApiHandler::totp_delete);
      }
    } else if (s[1] == "accounts" && n == 5 && s[3] == "totp") {
      if (s[4] == "confirm") add(Route::kTotpConfirm, "POST", Role::kApp, &ApiHandler::totp_confirm);
      else if (s[4] == "verify") add(Route::kTotpVerify, "POST", Role::kApp, &ApiHandler::totp_verify);
    } else if (n == 3 && s[1] == "passwords" && s[2] == "check") {
      add(Route::kPasswordCheck, "POST", Role::kApp, &ApiHandler::password_check);
    } else if (n == 2 && s[1] == "lists") {
      add(Route::kLists, "GET", Role::kAdmin, &ApiHandler::lists_get);
      add(Route::kLists, "POST", Role::kAdmin, &ApiHandler::lists_post);
    } else if (n == 3 && s[1] == "lists" && s[2] == "import") {
      add(Route::kListImport, "POST", Role::kAdmin, &ApiHandler::list_import);
    } else if (n == 3 && s[1] == "lists") {
      add(Route::kListEntry, "DELETE", Role::kAdmin, &ApiHandler::list_delete);
    } else if (n == 2 && s[1] == "blocked") {
      add(Route::kBlocked, "GET", Role::kAdmin, &ApiHandler::blocked);
    } else if (n == 4 && s[1] == "blocked") {
      add(Route::kBlock, "DELETE", Role::kAdmin, &ApiHandler::block_delete);
    } else if (n == 2 && s[1] == "audit") {
      add(Route::kAudit, "GET", Role::kAdmin, &ApiHandler::audit_get);
    } else if (n == 3 && s[1] == "mail" && s[2] == "senders") {
      add(Route::kMailSenders, "GET", Role::kAdmin, &ApiHandler::mail_senders);
    } else if (n == 5 && s[1] == "mail" && s[2] == "senders" && s[4] == "release") {
      add(Route::kMailSenderRelease, "POST", Role::kAdmin, &ApiHandler::mail_sender_release);
    } else if (n == 2 && s[1] == "incidents") {
      add(Route::kIncidents, "GET", Role::kAdmin, &ApiHandler::incidents_list);
    } else if (n == 3 && s[1] == "stats" && s[2] == "decisions") {
      add(Route::kStatsDecisions, "GET", Role::kAdmin, &ApiHandler::stats_decisions);
    } else if (n == 3 && s[1] == "operators" && options_.console) {
      if (s[2] == "sign-in")
        add(Route::kOperatorSignIn, "POST", Role::kApp, &ApiHandler::operator_sign_in, false);
      else if (s[2] == "sign-out")
        add(Route::kOperatorSignOut, "POST", Role::kAdmin, &ApiHandler::operator_sign_out);
      else if (s[2] == "me")
        add(Route::kOperatorMe, "GET", Role::kAdmin, &ApiHandler::operator_me);
      else
        add(Route::kOperator, "DELETE", Role::kAdmin, &ApiHandler::operator_delete);
    } else if (n == 2 && s[1] == "operators" && options_.console) {
      add(Route::kOperators, "GET", Role::kAdmin, &ApiHandler::operators_list);
      add(Route::kOperators, "POST", Role::kAdmin, &ApiHandler::operator_create);
    } else if (n == 4 && s[1] == "operators" && s[3] == "totp-reset" && options_.console) {
      add(Route::kOperatorTotpReset, "POST", Role::kAdmin, &ApiHandler::operator_totp_reset);
    } else if (n == 3 && s[1] == "incidents" && s[2] == "affected") {
      add(Route::kIncidentsAffected, "GET", Role::kApp, &ApiHandler::incidents_affected);
    } else if (n == 3 && s[1] == "incidents") {
      add(Route::kIncident, "GET", Role::kAdmin, &ApiHandler::incident_get);
    } else if (n == 4 && s[1] == "incidents" && s[3] == "accounts") {
      add(Route::kIncidentAccounts, "GET", Role::kAdmin, &ApiHandler::incident_accounts);
    } else if (n == 4 && s[1] == "incidents" && s[3] == "notify-owners") {
      add(Route::kIncidentNotifyOwners, "POST", Role::kAdmin, &ApiHandler::incident_notify_owners);
    } else if (n == 4 && s[1] == "incidents" && s[3] == "accounts.csv") {
      add(Route::kIncidentCsv, "GET", Role::kAdmin, &ApiHandler::incident_csv);
    } else if (n == 4 && s[1] == "incidents" && s[3] == "close") {
      add(Route::kIncidentClose, "POST", Role::kAdmin, &ApiHandler::incident_close);
    } else if (n == 4 && s[1] == "incidents" && s[3] == "require-reset") {
      add(Route::kIncidentRequireReset, "POST", Role::kAdmin, &ApiHandler::incident_require_reset);
    }
  }
  if (candidates.empty()) {
    c.error(404, "not_found", "no such route: " + std::string(c.req.target.substr(0, 200)));
    return;
  }
  c.route = candidates.front().route;
  const Match* match = nullptr;
  for (const Match& cand : candidates)
    if (cand.method == m || (cand.method == "GET" && m == "HEAD")) match = &cand;
  if (!match) {
    std::string allow;
    for (const Match& cand : candidates) allow += (allow.empty() ? "" : ", ") + std::string(cand.method);
    c.error(405, "method_not_allowed", std::string(m) + " is not allowed here; use " + allow);
    c.resp.headers.emplace_back("Allow", allow);
    return;
  }
  if (match->auth) {
    std::string_view auth = c.req.header("Authorization");
    // The console's session cookie stands for an admin token when no
    // bearer token is given; its writes need the session's CSRF token.
    bool by_cookie = false;
    if (auth.empty() && options_.console) {
      ConsoleSession session;
      switch (options_.console->authenticate(c.req, c.resp, session)) {
        case ConsoleApi::Auth::kRefused:
          return;
        case ConsoleApi::Auth::kSession:
          c.role = Role::kAdmin;
          c.actor = Actor{std::move(session.name), std::move(session.kind)};
          by_cookie = true;
          break;
        case ConsoleApi::Auth::kNoCookie:
          break;
      }
    }
    if (!by_cookie) {
      if (!auth.starts_with("Bearer ") && !auth.starts_with("bearer ")) {
        c.error(401, "unauthorized", "missing bearer token (Authorization: Bearer TOKEN)");
        c.resp.headers.emplace_back("WWW-Authenticate", "Bearer");
        return;
      }
      const std::shared_ptr<const TokenMap> tokens = tokens_.load();
      auto it = tokens->find(auth.substr(7));
      if (it == tokens->end()) {
        c.error(401, "unauthorized", "unknown token");
        c.resp.headers.emplace_back("WWW-Authenticate", "Bearer");
        return;
      }
      c.role = it->second.role;
      c.actor = Actor{it->second.name, "token"};
      if (match->role == Role::kAdmin && c.role != Role::kAdmin) {
        c.error(403, "forbidden", "this call needs an admin token");
        return;
      }
    }
  }
  if (match->route == Route::kLoginAttempt) return login(c, EventType::kLoginAttempt);
  if (match->route == Route::kLoginResult) return login(c, EventType::kLoginResult);
  (this->*(match->fn))(c);
}

void ApiHandler::healthz(Call& c) {
  c.json();
  c.resp.body = R"({"status":"ok"})";
}

void ApiHandler::metrics_text(Call& c) {
  c.resp.status = 200;
  c.resp.content_type = "text/plain; version=0.0.4";
  std::string& out = c.resp.body;
  metrics_.render(engine_.decision_counts(), out);
  const engine::HotStateStats h = engine_.hot_state();
  char line[1024];
  std::snprintf(line, sizeof line,
                "# HELP mamori_hot_state_entries Entries in the hot windows.\n"
                "# TYPE mamori_hot_state_entries gauge\nmamori_hot_state_entries %zu\n"
                "# HELP mamori_hot_state_bytes Bytes the hot windows take.\n"
                "# TYPE mamori_hot_state_bytes gauge\nmamori_hot_state_bytes %zu\n"
                "# HELP mamori_hot_state_budget_bytes The hot windows' memory budget.\n"
                "# TYPE mamori_hot_state_budget_bytes gauge\nmamori_hot_state_budget_bytes %zu\n"
                "# HELP mamori_hot_state_evictions_total Hot-window entries evicted to stay in budget.\n"
                "# TYPE mamori_hot_state_evictions_total counter\nmamori_hot_state_evictions_total %llu\n",
                h.entries, h.bytes, h.budget_bytes, (unsigned long long)h.evictions);
  out += line;
  std::snprintf(line, sizeof line,
                "# HELP mamori_blocks Active engine blocks.\n# TYPE mamori_blocks gauge\nmamori_blocks %zu\n"
                "# HELP mamori_locked_accounts Locked accounts.\n# TYPE mamori_locked_accounts gauge\nmamori_locked_accounts %zu\n"
                "# HELP mamori_open_incidents Open incidents.\n# TYPE mamori_open_incidents gauge\nmamori_open_incidents %zu\n",
                engine_.blocks().size(), engine_.locks().size(), engine_.incidents().open_count());
  out += line;
  if (options_.more_metrics) options_.more_metrics(out);
}

// Dovecot's auth policy (auth_policy_server_url = http://HOST:PORT/dovecot/policy
// with auth_policy_server_api_header = "Authorization: Bearer TOKEN").
void ApiHandler::dovecot_policy(Call& c) {
  auto command = c.target.param("command");
  auto reply = dovecot_.handle(command ? *command : std::string_view(), c.req.body, now());
  if (!reply) return c.error(400, reply.error().code, reply.error().message);
  c.json();
  c.resp.body = reply->json();
  c.wait_for(reply->outcome.writes);
}

// The API's own description; any token may read it, as every /v1 call needs one.
void ApiHandler::openapi(Call& c) {
  c.json();
  c.resp.body = openapi_document();
}

void ApiHandler::status(Call& c) {
  const engine::HotStateStats h = engine_.hot_state();
  const TimePoint t = now();
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object()
      .field("version", options_.version)
      .field("uptime_s", std::int64_t(std::chrono::duration_cast<std::chrono::seconds>(t - started_).count()))
      .field("replay", options_.replay);
  w.key("hot_state").begin_object()
      .field("entries", std::uint64_t(h.entries))
      .field("bytes", std::uint64_t(h.bytes))
      .field("budget_bytes", std::uint64_t(h.budget_bytes))
      .field("evictions", h.evictions)
      .end_object();
  w.field("blocks", std::uint64_t(engine_.blocks().active(t).size()))
      .field("locked_accounts", std::uint64_t(engine_.locks().size()))
      .field("list_entries", std::uint64_t(engine_.lists().entries(std::nullopt, t).size()))
      .field("open_incidents", std::uint64_t(engine_.incidents().open_count()))
      .end_object();
}

// The engine's decisions per minute (engine/decision_minutes.h), for the
// console's overview.
void ApiHandler::stats_decisions(Call& c) {
  int minutes = engine::DecisionMinutes::kMinutes;
  if (auto q = c.target.param("minutes")) {
    auto [p, ec] = std::from_chars(q->data(), q->data() + q->size(), minutes);
    if (ec != std::errc() || p != q->data() + q->size() || minutes < 1 ||
        minutes > engine::DecisionMinutes::kMinutes)
      return c.error(400, "invalid_query", "minutes must be between 1 and 1440");
  }
  const engine::DecisionMinutes::Window window = engine_.decision_minutes().read(now(), minutes);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().field("start", format_rfc3339(window.start)).field("step_s", 60);
  w.key("series").begin_array();
  for (const auto& s : window.series) {
    w.begin_object()
        .field("action", to_string(s.action))
        .field("reason", s.reason == engine::DecisionMinutes::kNoReason
                             ? std::string_view("none")
                             : to_string(Reason(s.reason)));
    w.key("counts").begin_array();
    for (const std::uint64_t n : s.counts) w.value(n);
    w.end_array().end_object();
  }
  w.end_array().end_object();
}

namespace {

// Checks the fields that describe the client (protocol, user agent, device
// id) once read. Returns false with the body's error set.
bool check_client_fields(Body& b, const Event& e) {
  if (!valid_protocol(e.protocol))
    return b.fail("invalid_field", "field 'protocol' must be one lower-case word (web, app, imap, smtp, ...)");
  if (!is_valid_utf8(e.user_agent) || !is_valid_utf8(e.device_id))
    return b.fail("invalid_field", "user_agent and device_id must be valid UTF-8");
  for (const char ch : e.client_fingerprint)
    if (ch < 0x20 || ch > 0x7e)
      return b.fail(
          "invalid_field",
          "field 'client_fingerprint' must be printable ASCII (a JA4 hash, a header order)");
  return true;
}

// Reads the common event fields (docs/openapi.json) into `e`. Returns false with the
// body's error set.
bool read_common(Body& b, Event& e, bool replay, ReplayClock* replay_clock, TimePoint now) {
  std::string account, ip, time;
  b.string("account", account, 4096, true);
  b.string("ip", ip, 64, true);
  b.string("user_agent", e.user_agent, kMaxUserAgentBytes, false);
  b.string("device_id", e.device_id, kMaxDeviceIdBytes, false);
  b.string("protocol", e.protocol, kMaxProtocolBytes, false);
  b.string("pwhash", e.pwhash, kMaxPwhashBytes, false);
  b.string("client_fingerprint", e.client_fingerprint, kMaxClientFingerprintBytes, false);
  b.string("time", time, 64, false);
  if (!b.ok()) return false;
  auto a = normalize_account(account);
  if (!a) return b.fail(a.error().code, a.error().message);
  e.account = std::move(*a);
  auto addr = IpAddress::parse(ip);
  if (!addr) return b.fail(addr.error().code, addr.error().message);
  e.ip = *addr;
  if (!check_client_fields(b, e)) return false;
  e.time = now;
  if (!time.empty()) {
    auto t = parse_rfc3339(time);
    if (!t) return b.fail(t.error().code, t.error().message);
    if (replay) e.time = *t;
  }
  if (replay_clock) replay_clock->observe(e.time);
  return true;
}

}  // namespace

void ApiHandler::login(Call& c, EventType type) {
  if (!c.body.parse(c.req.body)) return c.bad_body();
  Event e;
  e.type = type;
  read_common(c.body, e, options_.replay, options_.replay_clock, now());
  if (type == EventType::kLoginResult) {
    c.body.boolean("success", e.success, true);
    c.body.boolean("mfa", e.mfa, false);
    if (c.body.has("account_known")) {
      bool known = true;
      if (c.body.boolean("account_known", known, false)) e.account_known = known;
    }
  }
  if (!c.body.ok()) return c.bad_body();
  if (type == EventType::kLoginResult && e.success && options_.profile_loads != nullptr &&
      !options_.replay && options_.profile_loads->needs_load(e.account))
    return login_after_profile(c, std::move(e));
  answer_login(c.resp, type, engine_.process(e));
}

void ApiHandler::answer_login(Response& resp, EventType type, const engine::Outcome& o) {
  const Decision& d = o.decision;
  resp.status = 200;
  resp.content_type = "application/json";
  JsonWriter w(resp.body);
  w.begin_object().field("action", to_string(d.action()));
  if (type == EventType::kLoginAttempt) w.field("delay_ms", d.delay_ms());
  write_decision_reasons(w, d);
  write_retry_after(w, o);
  w.field("risk", d.risk());
  if (type == EventType::kLoginResult) {
    w.field("new_device", o.new_device)
        .field("new_location", o.new_location)
        .field("notified", o.notified);
  }
  w.field("event_id", o.event_id).end_object();
  resp.wait_from = o.writes.first;
  resp.wait_for = o.writes.last;
}

void ApiHandler::login_after_profile(Call& c, Event e) {
  struct Pending {
    DeferredAnswer answer;
    Event e;
  };
  auto pending = std::make_shared<Pending>(Pending{c.resp.defer(), std::move(e)});
  if (!pending->answer) return;  // `c.resp` holds the refusal
  std::function<void()> decide = [this, pending] {
    Response r;
    try {
      answer_login(r, EventType::kLoginResult, engine_.process(pending->e));
    } catch (const std::exception& ex) {
      r = Response();
      set_error(r, 500, "internal_error", "internal error while handling the request");
      log_error_limited("http: login result threw",
                        std::string("http: deciding a login result threw: ") + ex.what());
    }
    pending->answer.finish(std::move(r));
  };
  // The queue full: decided here, the profile read on this thread.
  if (!options_.profile_loads->load(pending->e.account, decide)) decide();
}

void ApiHandler::events(Call& c) {
  if (!c.body.parse(c.req.body)) return c.bad_body();
  Event e;
  std::string type;
  c.body.string("type", type, 64, true);
  if (!c.body.ok()) return c.bad_body();
  auto t = account_event_type_from_string(type);
  if (!t)
    return c.error(400, "invalid_type",
                   "unknown event type '" + type.substr(0, 64) +
                       "'; one of password_changed, email_changed, mfa_enabled, mfa_disabled, "
                       "challenge_passed, challenge_failed, message_sent, mail_sent, logout");
  e.type = *t;
  read_common(c.body, e, options_.replay, options_.replay_clock, now());
  switch (e.type) {
    case EventType::kEmailChanged:
      c.body.string("old_email", e.old_email, kMaxEmailBytes, false);
      c.body.string("new_email", e.new_email, kMaxEmailBytes, true);
      break;
    case EventType::kMessageSent:
      c.body.string_array("recipients", e.recipients, kMaxRecipients, kMaxRecipientBytes);
      if (c.body.ok() && e.recipients.empty())
        c.body.fail("invalid_field", "field 'recipients' must not be empty");
      e.recipient_count = std::uint32_t(e.recipients.size());
      break;
    case EventType::kMailSent: {
      std::int64_t n = 0;
      c.body.integer("recipients", n, 0, 1'000'000, true);
      e.recipient_count = std::uint32_t(n);
      break;
    }
    default:
      break;
  }
  if (!c.body.ok()) return c.bad_body();
  engine::Outcome o = engine_.process(e);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().field("action", to_string(o.decision.action()));
  write_decision_reasons(w, o.decision);
  write_retry_after(w, o);
  w.field("event_id", o.event_id).end_object();
  c.wait_for(o.writes);
}

namespace {
// The account named in the path, decoded and normalized.
Result<std::string> path_account(std::string_view segment) {
  auto raw = decode_path_segment(segment);
  if (!raw) return make_error("invalid_account", "account name: " + raw.error().message);
  return normalize_account(*raw);
}
}  // namespace

void ApiHandler::write_account(Call& c, const std::string& account, std::optional<bool> notified) {
  auto v = engine_.account(account);
  if (!v) return c.error(500, v.error().code, v.error().message);
  bool totp_enabled = false;
  if (options_.totp) {
    auto e = options_.totp->enabled(account);
    if (!e) return c.error(500, e.error().code, e.error().message);
    totp_enabled = *e;
  }
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object()
      .field("account", v->account)
      .field("known", v->known || totp_enabled)
      .field("status", v->lock ? "locked" : "active")
      .field("password_reset_required", v->lock && v->lock->password_reset_required);
  w.key("lock");
  if (v->lock) {
    w.begin_object()
        .field("reason", v->lock->reason)
        .field("since", format_rfc3339(v->lock->since))
        .field("by", v->lock->by)
        .field("password_reset_required", v->lock->password_reset_required)
        .end_object();
  } else {
    w.null();
  }
  w.key("mfa").begin_object().field("totp", totp_enabled).end_object();
  w.key("contact").begin_object()
      .field("email", v->contact.email)
      .field("lang", v->contact.lang)
      .field("notify", v->contact.notify)
      .field("time_zone", v->contact.time_zone.empty()
                              ? notify::default_time_zone(v->contact.lang)
                              : v->contact.time_zone)
      .end_object();
  w.key("devices").begin_array();
  for (const store::KnownDevice& d : v->profile.devices) {
    w.begin_object()
        .field("device_id", d.device_id)
        .field("user_agent", d.user_agent)
        .field("first_seen", format_rfc3339(d.first_seen))
        .field("last_seen", format_rfc3339(d.last_seen))
        .end_object();
  }
  w.end_array();
  w.key("countries").begin_array();
  for (const std::string& country : v->profile.countries) w.value(country);
  w.end_array();
  w.key("last_login");
  if (v->last_login) {
    w.begin_object()
        .field("time", format_rfc3339(v->last_login->time))
        .field("ip", v->last_login->ip.to_string())
        .field("country", v->last_login->country)
        .end_object();
  } else {
    w.null();
  }
  if (notified) w.field("notified", *notified);
  w.end_object();
}

void ApiHandler::account_get(Call& c) {
  auto a = path_account(c.target.segments[2]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  write_account(c, *a);
}

void ApiHandler::account_activity(Call& c) {
  auto a = path_account(c.target.segments[2]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  TimePoint since = now() - engine_.config()->activity_retention;
  std::size_t limit = kDefaultActivityLimit;
  if (auto s = c.target.param("since")) {
    auto decoded = decode_query_value(*s);
    if (!decoded) return c.error(400, "invalid_query", "since: " + decoded.error().message);
    auto t = parse_rfc3339(*decoded);
    if (!t) return c.error(400, "invalid_query", "since must be an RFC 3339 time");
    since = *t;
  }
  if (auto l = c.target.param("limit")) {
    unsigned long v = 0;
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
    if (ec != std::errc() || p != l->data() + l->size() || v == 0 || v > kMaxActivityLimit)
      return c.error(400, "invalid_query", "limit must be between 1 and 1000");
    limit = v;
  }
  auto events = store_.activity(*a, since, limit);
  if (!events) return c.error(500, events.error().code, events.error().message);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().key("events").begin_array();
  for (const store::ActivityRecord& r : *events) {
    w.begin_object()
        .field("event_id", r.event_id)
        .field("time", format_rfc3339(r.time))
        .field("type", to_string(r.type))
        .field("ip", r.ip.to_string())
        .field("country", r.country)
        .field("city", r.city)
        .field("user_agent", r.user_agent)
        .field("device_id", r.device_id)
        .field("protocol", r.protocol);
    w.key("success");
    if (r.success) w.value(*r.success);
    else w.null();
    w.field("action", to_string(r.action));
    if (r.type == EventType::kOperatorAction) w.field("actor", r.actor).field("note", r.note);
    w.key("reasons").begin_array();
    for (const auto& reason : r.reasons) w.value(reason);
    w.end_array().end_object();
  }
  w.end_array().end_object();
}

void ApiHandler::account_lock(Call& c) {
  auto a = path_account(c.target.segments[2]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  if (!c.body.parse(c.req.body)) return c.bad_body();
  std::string reason;
  bool reset = false;
  c.body.string("reason", reason, kMaxReasonBytes, true);
  c.body.boolean("require_password_reset", reset, false);
  if (!c.body.ok()) return c.bad_body();
  if (reason.empty()) return c.error(400, "invalid_field", "field 'reason' must not be empty");
  bool notified = false;
  store::AuditRecord r =
      audit_record(c, "account_lock", "account:" + *a, reason,
                   json_object([&](JsonWriter& w) { w.field("require_password_reset", reset); }));
  const store::WriteSpan writes = engine_.audited(
      r, {*a}, [&] { return engine_.lock(*a, reason, reset, c.actor.name, r.time, &notified); });
  write_account(c, *a, notified);
  c.wait_for(writes);
}

void ApiHandler::account_unlock(Call& c) {
  auto a = path_account(c.target.segments[2]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  std::string note;
  if (!c.req.body.empty()) {
    if (!c.body.parse(c.req.body)) return c.bad_body();
    c.body.string("note", note, kMaxNoteBytes, false);
    if (!c.body.ok()) return c.bad_body();
  }
  store::AuditRecord r = audit_record(c, "account_unlock", "account:" + *a, note);
  const store::WriteSpan writes =
      engine_.audited(r, {*a}, [&] { return engine_.unlock(*a, note, r.time); });
  write_account(c, *a);
  c.wait_for(writes);
}

void ApiHandler::account_activity_link(Call& c) {
  auto a = path_account(c.target.segments[2]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  if (options_.owner_links == nullptr)
    return c.error(503, "feature_unavailable",
                   "the owners' pages are off: set [owner_pages] base_url to turn them on");
  TimePoint expires{};
  const std::string url =
      options_.owner_links->url(notify::LinkPurpose::kActivity, *a, now(), &expires);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().field("url", url).field("expires", format_rfc3339(expires)).end_object();
}

void ApiHandler::account_contact(Call& c) {
  auto a = path_account(c.target.segments[2]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  if (!c.body.parse(c.req.body)) return c.bad_body();
  store::Contact contact;
  c.body.string("email", contact.email, kMaxEmailBytes, true);
  c.body.string("lang", contact.lang, 8, false);
  c.body.boolean("notify", contact.notify, false);
  c.body.string("time_zone", contact.time_zone, 64, false);
  if (!c.body.ok()) return c.bad_body();
  if (contact.email.find('@') == std::string::npos ||
      std::any_of(contact.email.begin(), contact.email.end(),
                  [](char ch) { return static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f; }))
    return c.error(400, "invalid_field", "field 'email' must be an e-mail address");
  if (!contact.time_zone.empty()) {
    if (auto z = notify::find_time_zone(contact.time_zone); !z)
      return c.error(400, z.error().code, z.error().message);
  }
  if (contact.lang != "en" && contact.lang != "ja")
    return c.error(400, "invalid_field", "field 'lang' must be \"en\" or \"ja\"");
  const store::WriteTicket t = store_.put_contact(*a, contact);
  if (Status s = store_.wait(t); !s) return c.store_unavailable(s.error());
  write_account(c, *a);
}

void ApiHandler::lists_get(Call& c) {
  std::optional<store::ListKind> kind;
  if (auto k = c.target.param("kind")) {
    kind = store::list_kind_from_string(*k);
    if (!kind) return c.error(400, "invalid_kind", "kind must be allow or deny");
  }
  // Search: entries whose target or reason contains `q` (ASCII letters
  // compared case-insensitively), a page of `limit` from `offset`.
  std::string q;
  if (auto raw = c.target.param("q")) {
    auto decoded = decode_query_value(*raw);
    if (!decoded) return c.error(400, "invalid_query", "q: " + decoded.error().message);
    if (decoded->size() > 512) return c.error(400, "invalid_query", "q is longer than 512 bytes");
    q = std::move(*decoded);
  }
  std::size_t limit = 1000, offset = 0;
  for (auto [name, out, max] :
       {std::tuple<std::string_view, std::size_t*, std::size_t>{"limit", &limit, 1000},
        {"offset", &offset, std::size_t(1) << 40}}) {
    auto v = c.target.param(name);
    if (!v) continue;
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size() || n > max || (name == "limit" && n == 0))
      return c.error(400, "invalid_query",
                     std::string(name) + " must be a whole number" +
                         (name == "limit" ? " between 1 and 1000" : ""));
    *out = n;
  }
  auto lower = [](std::string_view t) {
    std::string l(t);
    for (char& ch : l)
      if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
    return l;
  };
  const std::string needle = lower(q);
  std::vector<store::ListEntry> found;
  for (auto& e : engine_.lists().entries(kind, now()))
    if (needle.empty() || lower(e.target).find(needle) != std::string::npos ||
        lower(e.reason).find(needle) != std::string::npos)
      found.push_back(std::move(e));
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().key("entries").begin_array();
  for (std::size_t i = offset; i < found.size() && i < offset + limit; ++i)
    write_list_entry(w, found[i]);
  w.end_array().field("total", std::uint64_t(found.size())).end_object();
}

void ApiHandler::lists_post(Call& c) {
  if (!c.body.parse(c.req.body)) return c.bad_body();
  std::string kind_text, target, reason;
  std::int64_t ttl_s = 0;
  c.body.string("kind", kind_text, 16, true);
  c.body.string("target", target, 512, true);
  c.body.string("reason", reason, kMaxReasonBytes, false);
  c.body.integer("ttl_s", ttl_s, 1, std::int64_t(100) * 365 * 86400, false);
  if (!c.body.ok()) return c.bad_body();
  auto kind = store::list_kind_from_string(kind_text);
  if (!kind) return c.error(400, "invalid_kind", "kind must be allow or deny");
  auto parsed = engine::parse_list_target(target);
  if (!parsed) return c.error(400, parsed.error().code, parsed.error().message);
  store::AuditRecord r =
      audit_record(c, "list_add", parsed->canonical, reason, json_object([&](JsonWriter& w) {
                     w.field("kind", store::to_string(*kind)).field("ttl_s", ttl_s);
                   }));
  Result<store::ListEntry> e = make_error("not_added", "not added");
  const store::WriteSpan writes = engine_.audited(r, list_target_accounts(parsed->canonical), [&] {
    store::WriteTicket ticket = 0;
    e = engine_.lists().add(*kind, target, reason, std::chrono::seconds(ttl_s), r.time,
                            engine_.ids().next(r.time), ticket);
    store::WriteSpan span;
    span.add(ticket);
    return span;
  });
  if (!e) return c.error(400, e.error().code, e.error().message);
  c.json(201);
  JsonWriter w(c.resp.body);
  write_list_entry(w, *e);
  c.wait_for(writes);
}

void ApiHandler::list_delete(Call& c) {
  auto id = decode_path_segment(c.target.segments[2]);
  if (!id) return c.error(400, id.error().code, "list entry id: " + id.error().message);
  std::string note;
  if (!c.req.body.empty()) {
    if (!c.body.parse(c.req.body)) return c.bad_body();
    c.body.string("note", note, kMaxNoteBytes, false);
    if (!c.body.ok()) return c.bad_body();
  }
  std::optional<store::ListEntry> entry;
  for (auto& e : engine_.lists().entries(std::nullopt, now()))
    if (e.id == *id) entry = std::move(e);
  if (!entry) return c.error(404, "not_found", "no list entry with id '" + *id + "'");
  store::AuditRecord r =
      audit_record(c, "list_remove", entry->target, note, json_object([&](JsonWriter& w) {
                     w.field("id", entry->id)
                         .field("kind", store::to_string(entry->kind))
                         .field("reason", entry->reason);
                   }));
  Status removed;
  const store::WriteSpan writes = engine_.audited(r, list_target_accounts(entry->target), [&] {
    store::WriteTicket ticket = 0;
    removed = engine_.lists().remove(*id, ticket);
    store::WriteSpan span;
    span.add(ticket);
    return span;
  });
  if (!removed) return c.error(404, removed.error().code, removed.error().message);
  c.json();
  c.resp.body = R"({"deleted":true})";
  c.wait_for(writes);
}

void ApiHandler::blocked(Call& c) {
  const TimePoint t = now();
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().key("blocks").begin_array();
  for (const store::Block& b : engine_.blocks().active(t)) {
    w.begin_object()
        .field("scope", b.scope)
        .field("target", b.key)
        .field("reason", to_string(b.reason))
        .field("action", to_string(b.action))
        .field("since", format_rfc3339(b.since))
        .field("until", format_rfc3339(b.until));
    w.key("incident_id");
    if (b.incident_id.empty()) w.null();
    else w.value(b.incident_id);
    w.end_object();
  }
  w.end_array().key("locked_accounts").begin_array();
  auto locks = engine_.locks().all();
  std::sort(locks.begin(), locks.end(), [](const auto& a, const auto& b) { return a.second.since > b.second.since; });
  for (const auto& [account, l] : locks) {
    w.begin_object()
        .field("account", account)
        .field("reason", l.reason)
        .field("since", format_rfc3339(l.since))
        .field("password_reset_required", l.password_reset_required)
        .end_object();
  }
  w.end_array().end_object();
}

void ApiHandler::incidents_list(Call& c) {
  TimePoint since = TimePoint(Duration(0));
  if (auto s = c.target.param("since")) {
    auto decoded = decode_query_value(*s);
    if (!decoded) return c.error(400, "invalid_query", "since: " + decoded.error().message);
    auto t = parse_rfc3339(*decoded);
    if (!t) return c.error(400, "invalid_query", "since must be an RFC 3339 time");
    since = *t;
  }
  auto list = store_.incidents(since);
  if (!list) return c.error(500, list.error().code, list.error().message);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().key("incidents").begin_array();
  for (const auto& i : *list) write_incident(w, i);
  w.end_array().end_object();
}

void ApiHandler::incident_get(Call& c) {
  auto id = decode_path_segment(c.target.segments[2]);
  if (!id) return c.error(400, id.error().code, "incident id: " + id.error().message);
  auto i = store_.incident(*id);
  if (!i) return c.error(500, i.error().code, i.error().message);
  if (!*i) return c.error(404, "not_found", "no such incident");
  c.json();
  JsonWriter w(c.resp.body);
  write_incident(w, **i);
}

void ApiHandler::incident_accounts(Call& c) {
  auto id = decode_path_segment(c.target.segments[2]);
  if (!id) return c.error(400, id.error().code, "incident id: " + id.error().message);
  auto i = store_.incident(*id);
  if (!i) return c.error(500, i.error().code, i.error().message);
  if (!*i) return c.error(404, "not_found", "no such incident");
  auto accounts = store_.incident_accounts((*i)->id);
  if (!accounts) return c.error(500, accounts.error().code, accounts.error().message);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().key("incident");
  write_incident(w, **i);
  w.key("accounts").begin_array();
  for (const auto& a : *accounts) {
    w.begin_object()
        .field("account", a.account)
        .field("first_seen", format_rfc3339(a.first_seen))
        .field("last_seen", format_rfc3339(a.last_seen))
        .field("login_succeeded", a.login_succeeded)
        .end_object();
  }
  w.end_array().end_object();
}

void ApiHandler::incidents_affected(Call& c) {
  auto raw = c.target.param("account");
  if (!raw || raw->empty()) return c.error(400, "missing_field", "missing query parameter 'account'");
  auto decoded = decode_query_value(*raw);
  if (!decoded) return c.error(400, "invalid_account", "account: " + decoded.error().message);
  auto a = normalize_account(*decoded);
  if (!a) return c.error(400, a.error().code, a.error().message);
  auto list = store_.incidents_for_account(*a);
  if (!list) return c.error(500, list.error().code, list.error().message);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().field("affected", !list->empty()).key("incidents").begin_array();
  for (const auto& i : *list) write_incident(w, i);
  w.end_array().end_object();
}

void ApiHandler::incident_notify_owners(Call& c) {
  auto id = decode_path_segment(c.target.segments[2]);
  if (!id) return c.error(400, id.error().code, id.error().message);
  if (options_.incident_notices == nullptr)
    return c.error(503, "feature_unavailable", "owner notices are not sent in replay mode");
  auto sent = options_.incident_notices->notify_owners(*id, now());
  if (!sent) {
    if (sent.error().code == "not_found") return c.error(404, "not_found", "no such incident");
    return c.error(500, sent.error().code, sent.error().message);
  }
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object()
      .field("incident_id", *id)
      .field("compromised_notified", std::uint64_t(sent->compromised))
      .field("targeted_notified", std::uint64_t(sent->targeted))
      .field("already_notified", std::uint64_t(sent->already))
      .field("no_address", std::uint64_t(sent->no_address))
      .end_object();
  c.wait_for(sent->writes);
}

// ---- second factor (TOTP) ----

namespace {

// The optional common fields of a TOTP call, for the event it feeds the
// engine: where the code came from. Without `ip`, the unspecified address.
bool read_totp_context(Body& b, Event& e, const std::string& account, TimePoint now) {
  std::string ip;
  b.string("ip", ip, 64, false);
  b.string("user_agent", e.user_agent, kMaxUserAgentBytes, false);
  b.string("device_id", e.device_id, kMaxDeviceIdBytes, false);
  b.string("protocol", e.protocol, kMaxProtocolBytes, false);
  if (!b.ok()) return false;
  if (!ip.empty()) {
    auto addr = IpAddress::parse(ip);
    if (!addr) return b.fail(addr.error().code, addr.error().message);
    e.ip = *addr;
  }
  if (!check_client_fields(b, e)) return false;
  e.account = account;
  e.time = now;
  return true;
}

constexpr std::size_t kMaxCodeBytes = 64;

}  // namespace

void ApiHandler::totp_error(Call& c, const Error& e) {
  int status = 500;
  if (e.code == "totp_not_enabled") status = 404;
  else if (e.code == "totp_already_enabled") status = 409;
  else if (e.code == "too_many_attempts") status = 429;
  else if (e.code == "invalid_code") status = 400;
  c.error(status, e.code, e.message);
  if (e.retry_after_s > 0) c.resp.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s));
}

void ApiHandler::totp_enrol(Call& c) {
  if (!options_.totp) return c.error(503, "feature_unavailable", "TOTP is not configured");
  auto a = path_account(c.target.segments[2]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  if (!c.req.body.empty()) {
    if (!c.body.parse(c.req.body)) return c.bad_body();
  }
  auto e = options_.totp->enrol(*a);
  if (!e) return totp_error(c, e.error());
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object()
      .field("account", *a)
      .field("secret", e->secret_base32)
      .field("otpauth_uri", e->otpauth_uri)
      .field("qr_svg", e->qr_svg)
      .field("confirmed", false)
      .end_object();
  c.resp.headers.emplace_back("Cache-Control", "no-store");
  c.resp.wait_for = e->ticket;
}

void ApiHandler::totp_confirm(Call& c) { totp_verify(c); }

void ApiHandler::totp_verify(Call& c) {
  if (!options_.totp) return c.error(503, "feature_unavailable", "TOTP is not configured");
  auto a = path_account(c.target.segments[2]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  if (!c.body.parse(c.req.body)) return c.bad_body();
  std::string code;
  Event e;
  c.body.string("code", code, kMaxCodeBytes, true);
  read_totp_context(c.body, e, *a, now());
  if (!c.body.ok()) return c.bad_body();
  const bool confirming = c.route == Route::kTotpConfirm;
  auto r = confirming ? options_.totp->confirm(*a, code) : options_.totp->verify(*a, code);
  sodium_memzero(code.data(), code.size());
  if (!r) return totp_error(c, r.error());
  // Findings for the engine: a wrong code is a failed challenge; a first
  // confirmed code turns the second factor on.
  e.type = !r->ok ? EventType::kChallengeFailed
                  : (confirming ? EventType::kMfaEnabled : EventType::kChallengePassed);
  engine::Outcome o = engine_.process(e);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().field("ok", r->ok);
  if (r->ok) {
    w.field("method", r->method_or_reason);
  } else {
    w.field("reason", r->method_or_reason);
  }
  if (confirming && r->ok) {
    w.key("recovery_codes").begin_array();
    for (const std::string& rc : r->recovery_codes) w.value(rc);
    w.end_array();
  }
  w.field("recovery_codes_left", r->recovery_codes_left).field("event_id", o.event_id).end_object();
  if (confirming && r->ok) c.resp.headers.emplace_back("Cache-Control", "no-store");
  store::WriteSpan writes = o.writes;
  writes.add(r->ticket);
  c.wait_for(writes);
}

void ApiHandler::totp_delete(Call& c) {
  if (!options_.totp) return c.error(503, "feature_unavailable", "TOTP is not configured");
  auto a = path_account(c.target.segments[2]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  std::optional<std::string> code;
  Event e;
  e.account = *a;
  e.time = now();
  if (!c.req.body.empty()) {
    if (!c.body.parse(c.req.body)) return c.bad_body();
    std::string text;
    c.body.string("code", text, kMaxCodeBytes, false);
    read_totp_context(c.body, e, *a, now());
    if (!c.body.ok()) return c.bad_body();
    if (c.body.has("code")) code = std::move(text);
  }
  if (c.role != Role::kAdmin && !code)
    return c.error(403, "forbidden",
                   "removing a second factor with an app token needs field 'code': a current "
                   "TOTP code or an unused recovery code (admin tokens need none)");
  if (c.role == Role::kAdmin) code.reset();
  // An admin's removal is an operator's TOTP reset: audited, its delete
  // committed with its record.
  std::optional<Result<account::CodeCheck>> removed;
  store::WriteSpan writes;
  if (c.role == Role::kAdmin) {
    store::AuditRecord rec = audit_record(c, "totp_reset", "account:" + *a, "");
    writes = engine_.audited(rec, {*a}, [&] {
      removed = options_.totp->remove(*a, code);
      store::WriteSpan span;
      if (*removed) span.add((*removed)->ticket);
      return span;
    });
  } else {
    removed = options_.totp->remove(*a, code);
  }
  auto& r = *removed;
  if (!r) return totp_error(c, r.error());
  e.type = r->ok ? EventType::kMfaDisabled : EventType::kChallengeFailed;
  engine::Outcome o = engine_.process(e);
  writes.add(o.writes);
  writes.add(r->ticket);
  c.wait_for(writes);
  if (!r->ok)
    return c.error(403, "wrong_code",
                   "the code is neither a current TOTP code nor an unused recovery code (" +
                       r->method_or_reason + "); the second factor stays");
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().field("ok", true).field("deleted", true).field("event_id", o.event_id).end_object();
}

// ---- passwords ----

void ApiHandler::password_check(Call& c) {
  if (!options_.passwords) return c.error(503, "feature_unavailable", "password checks are not configured");
  // The request body holds the password: wipe it (and our copy) whatever the outcome.
  struct WipeBody {
    std::string_view body;
    std::string& copy;
    ~WipeBody() {
      // The transport owns a mutable buffer behind this view and drops it after the call.
      sodium_memzero(const_cast<char*>(body.data()), body.size());
      sodium_memzero(copy.data(), copy.size());
    }
  };
  std::string password;
  WipeBody wipe{c.req.body, password};
  if (!c.body.parse(c.req.body)) return c.bad_body();
  std::string account;
  std::vector<std::string> inputs;
  c.body.string("password", password, account::PasswordChecker::kMaxPasswordBytes, true);
  c.body.string("account", account, kMaxAccountBytes, false);
  if (c.body.has("user_inputs"))
    c.body.string_array("user_inputs", inputs, account::PasswordChecker::kMaxUserInputs, 256);
  if (!c.body.ok()) return c.bad_body();
  if (password.empty()) return c.error(400, "invalid_field", "field 'password' must not be empty");
  if (!is_valid_utf8(password)) return c.error(400, "invalid_field", "field 'password' must be valid UTF-8");
  const account::PasswordVerdict v = options_.passwords->check(password, account, inputs);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object()
      .field("score", v.score)
      .field("guesses_log10", v.guesses_log10)
      .field("breached", v.breached)
      .field("breach_count", std::uint64_t(v.breach_count))
      .field("acceptable", v.acceptable);
  w.key("feedback").begin_array();
  for (const std::string& f : v.feedback) w.value(f);
  w.end_array().end_object();
}

void ApiHandler::pwned_range(Call& c) {
  const std::string_view prefix = c.target.segments[1];
  auto hex = [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
  };
  if (prefix.size() != 5 || !std::all_of(prefix.begin(), prefix.end(), hex))
    return c.error(400, "invalid_prefix",
                   "the range prefix must be the first 5 hex digits of a SHA-1 hash");
  auto store = options_.pwned ? options_.pwned->get() : nullptr;
  if (!store)
    return c.error(503, "feature_unavailable",
                   "no breached-password store is loaded (run 'mamori pwned import')");
  std::uint32_t bucket = 0;
  std::from_chars(prefix.data(), prefix.data() + 5, bucket, 16);
  std::vector<account::PwnedRangeEntry> entries = store->range(bucket);
  std::string_view pad = c.req.header("Add-Padding");
  const bool padding = pad.size() == 4 && (pad[0] == 't' || pad[0] == 'T') &&
                       (pad[1] == 'r' || pad[1] == 'R') && (pad[2] == 'u' || pad[2] == 'U') &&
                       (pad[3] == 'e' || pad[3] == 'E');
  if (padding && entries.size() < std::size_t(options_.range_padding_lines)) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::vector<std::string> seen;
    seen.reserve(entries.size());
    for (const auto& e : entries) seen.push_back(e.suffix);
    std::sort(seen.begin(), seen.end());
    while (entries.size() < std::size_t(options_.range_padding_lines)) {
      std::uint8_t rnd[18];
      randombytes_buf(rnd, sizeof rnd);
      std::string s(35, '0');
      for (std::size_t i = 0; i < 35; ++i) s[i] = kHex[(rnd[i / 2] >> ((i % 2) * 4)) & 15];
      auto it = std::lower_bound(seen.begin(), seen.end(), s);
      if (it != seen.end() && *it == s) continue;  // already a line (real or padding)
      seen.insert(it, s);
      entries.push_back(account::PwnedRangeEntry{std::move(s), 0});
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& x, const auto& y) { return x.suffix < y.suffix; });
  }
  c.resp.status = 200;
  c.resp.content_type = "text/plain";
  std::string& out = c.resp.body;
  out.reserve(entries.size() * 42);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += "\r\n";
    out += entries[i].suffix;
    out += ':';
    out += std::to_string(entries[i].count);
  }
}

// ---- operator actions and the operator's views ----

namespace {

constexpr std::size_t kMaxImportLines = 10'000;

// One field of an RFC 4180 record: quoted when it holds a comma, a quote or
// a line break (quotes doubled), and a leading = + - @ defused with a quote
// so that a spreadsheet does not read it as a formula.
void append_csv_field(std::string& out, std::string_view v) {
  const bool formula = !v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@');
  if (!formula && v.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += v;
    return;
  }
  out += '"';
  if (formula) out += '\'';
  for (char ch : v) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
}

// Splits one CSV line (RFC 4180 quoting, no line breaks inside fields) into
// fields. Fails with a message on an unterminated quote.
Result<std::vector<std::string>> split_csv_line(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        fields.back() += ch;
      }
    } else if (ch == '"' && fields.back().empty()) {
      quoted = true;
    } else if (ch == ',') {
      fields.emplace_back();
    } else {
      fields.back() += ch;
    }
  }
  if (quoted) return make_error("invalid_csv", "a quoted field is not closed");
  return fields;
}

// An optional RFC 3339 query parameter.
Result<std::optional<TimePoint>> time_param(const Target& t, std::string_view name) {
  auto raw = t.param(name);
  if (!raw) return std::optional<TimePoint>();
  auto decoded = decode_query_value(*raw);
  if (!decoded)
    return make_error("invalid_query", std::string(name) + ": " + decoded.error().message);
  auto v = parse_rfc3339(*decoded);
  if (!v) return make_error("invalid_query", std::string(name) + " must be an RFC 3339 time");
  return std::optional<TimePoint>(*v);
}

// An optional body {"note": TEXT}; false with the body's error set.
bool read_note(Body& b, std::string_view body, std::string& note) {
  if (body.empty()) return true;
  if (!b.parse(body)) return false;
  return b.string("note", note, kMaxNoteBytes, false);
}

void write_audit(JsonWriter& w, const store::AuditRecord& r) {
  w.begin_object()
      .field("id", r.id)
      .field("time", format_rfc3339(r.time))
      .field("actor", r.actor)
      .field("actor_kind", r.actor_kind)
      .field("action", r.action)
      .field("target", r.target)
      .field("note", r.note);
  w.key("details").raw(r.details.empty() ? std::string_view("{}") : std::string_view(r.details));
  w.end_object();
}

}  // namespace

std::string default_token_name(std::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[5];
  std::snprintf(hex, sizeof hex, "%02x%02x", digest[0], digest[1]);
  return std::string("token-") + hex;
}

bool valid_actor_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  auto word = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  if (!word(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char ch) { return word(ch) || ch == '-' || ch == '_' || ch == '.'; });
}

store::AuditRecord ApiHandler::audit_record(const Call& c, std::string action, std::string target,
                                            std::string note, std::string details) {
  store::AuditRecord r;
  r.time = now();
  r.actor = c.actor.name;
  r.actor_kind = c.actor.kind;
  r.action = std::move(action);
  r.target = std::move(target);
  r.note = std::move(note);
  r.details = std::move(details);
  return r;
}

void ApiHandler::audit_get(Call& c) {
  store::AuditQuery q;
  auto since = time_param(c.target, "since");
  if (!since) return c.error(400, since.error().code, since.error().message);
  auto until = time_param(c.target, "until");
  if (!until) return c.error(400, until.error().code, until.error().message);
  q.since = *since;
  q.until = *until;
  for (auto [name, out] : {std::pair<std::string_view, std::string*>{"actor", &q.actor},
                           {"action", &q.action},
                           {"target", &q.target},
                           {"before", &q.before}}) {
    auto raw = c.target.param(name);
    if (!raw) continue;
    auto decoded = decode_query_value(*raw);
    if (!decoded)
      return c.error(400, "invalid_query", std::string(name) + ": " + decoded.error().message);
    if (decoded->size() > 512)
      return c.error(400, "invalid_query", std::string(name) + " is longer than 512 bytes");
    *out = std::move(*decoded);
  }
  if (auto l = c.target.param("limit")) {
    unsigned long v = 0;
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
    if (ec != std::errc() || p != l->data() + l->size() || v == 0 || v > 1000)
      return c.error(400, "invalid_query", "limit must be between 1 and 1000");
    q.limit = v;
  }
  auto records = store_.audit(q);
  if (!records) return c.error(500, records.error().code, records.error().message);
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object().key("entries").begin_array();
  for (const store::AuditRecord& r : *records) write_audit(w, r);
  w.end_array().key("next");
  if (records->size() == q.limit)
    w.value(records->back().id);
  else
    w.null();
  w.end_object();
}

void ApiHandler::block_delete(Call& c) {
  auto scope = decode_path_segment(c.target.segments[2]);
  if (!scope) return c.error(400, scope.error().code, "block scope: " + scope.error().message);
  auto key = decode_path_segment(c.target.segments[3]);
  if (!key) return c.error(400, key.error().code, "block target: " + key.error().message);
  std::string note;
  if (!read_note(c.body, c.req.body, note)) return c.bad_body();
  const TimePoint t = now();
  std::optional<store::Block> found;
  for (store::Block& b : engine_.blocks().active(t))
    if (b.scope == *scope && b.key == *key) found = std::move(b);
  if (!found)
    return c.error(404, "not_found",
                   "no active block " + scope->substr(0, 32) + " " + key->substr(0, 200) +
                       " (GET /v1/blocked lists them: scope and target)");
  std::vector<std::string> accounts;
  if (found->scope == "account") accounts.push_back(found->key);
  if (found->scope == "account_ip") accounts.push_back(found->key.substr(0, found->key.rfind('|')));
  store::AuditRecord r = audit_record(c, "block_lift", found->scope + ":" + found->key, note,
                                      json_object([&](JsonWriter& w) {
                                        w.field("reason", to_string(found->reason))
                                            .field("action", to_string(found->action))
                                            .field("since", format_rfc3339(found->since))
                                            .field("until", format_rfc3339(found->until));
                                      }));
  const store::WriteSpan writes =
      engine_.audited(r, accounts, [&] { return engine_.lift_block(*found); });
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object()
      .field("lifted", true)
      .field("scope", found->scope)
      .field("target", found->key)
      .field("audit_id", r.id)
      .end_object();
  c.wait_for(writes);
}

void ApiHandler::incident_close(Call& c) {
  auto id = decode_path_segment(c.target.segments[2]);
  if (!id) return c.error(400, id.error().code, "incident id: " + id.error().message);
  std::string note;
  if (!read_note(c.body, c.req.body, note)) return c.bad_body();
  auto i = store_.incident(*id);
  if (!i) return c.error(500, i.error().code, i.error().message);
  if (!*i) return c.error(404, "not_found", "no such incident");
  store::Incident incident = std::move(**i);
  store::WriteSpan writes;
  if (!incident.closed) {
    store::AuditRecord r = audit_record(c, "incident_close", "incident:" + incident.id, note);
    writes = engine_.audited(r, {}, [&] { return engine_.close_incident(incident, r.time); });
    incident.closed = r.time;
  }
  c.json();
  JsonWriter w(c.resp.body);
  write_incident(w, incident);
  c.wait_for(writes);
}

void ApiHandler::incident_csv(Call& c) {
  auto id = decode_path_segment(c.target.segments[2]);
  if (!id) return c.error(400, id.error().code, "incident id: " + id.error().message);
  auto i = store_.incident(*id);
  if (!i) return c.error(500, i.error().code, i.error().message);
  if (!*i) return c.error(404, "not_found", "no such incident");
  auto accounts = store_.incident_accounts((*i)->id);
  if (!accounts) return c.error(500, accounts.error().code, accounts.error().message);
  c.resp.status = 200;
  c.resp.content_type = "text/csv; charset=utf-8";
  // Safe as a file name: incident ids are hex from IdGenerator, and the
  // route only reaches here with one that exists.
  c.resp.headers.emplace_back("Content-Disposition",
                              "attachment; filename=\"incident-" + (*i)->id + "-accounts.csv\"");
  std::string& out = c.resp.body;
  out.reserve(64 + accounts->size() * 80);
  out += "incident,kind,account,first_seen,last_seen,login_succeeded\r\n";
  for (const auto& a : *accounts) {
    append_csv_field(out, (*i)->id);
    out += ',';
    out += store::to_string((*i)->kind);
    out += ',';
    append_csv_field(out, a.account);
    out += ',';
    out += format_rfc3339(a.first_seen);
    out += ',';
    out += format_rfc3339(a.last_seen);
    out += a.login_succeeded ? ",true\r\n" : ",false\r\n";
  }
}

void ApiHandler::incident_require_reset(Call& c) {
  auto id = decode_path_segment(c.target.segments[2]);
  if (!id) return c.error(400, id.error().code, "incident id: " + id.error().message);
  std::string note;
  if (!read_note(c.body, c.req.body, note)) return c.bad_body();
  auto i = store_.incident(*id);
  if (!i) return c.error(500, i.error().code, i.error().message);
  if (!*i) return c.error(404, "not_found", "no such incident");
  auto accounts = store_.incident_accounts((*i)->id);
  if (!accounts) return c.error(500, accounts.error().code, accounts.error().message);
  // Every compromised account not yet locked with a reset required.
  std::vector<std::string> to_lock;
  std::size_t compromised = 0;
  for (const auto& a : *accounts) {
    if (!a.login_succeeded) continue;
    ++compromised;
    const auto lock = engine_.locks().find(a.account);
    if (!lock || !lock->password_reset_required) to_lock.push_back(a.account);
  }
  const std::string reason = "incident " + (*i)->id + ": password reset required";
  store::AuditRecord r = audit_record(c, "incident_require_reset", "incident:" + (*i)->id, note,
                                      json_object([&](JsonWriter& w) {
                                        w.field("compromised", std::uint64_t(compromised))
                                            .field("locked", std::uint64_t(to_lock.size()));
                                      }));
  std::size_t notified_count = 0;
  const store::WriteSpan writes = engine_.audited(r, to_lock, [&] {
    store::WriteSpan span;
    for (const std::string& a : to_lock) {
      bool notified = false;
      span.add(engine_.lock(a, reason, true, c.actor.name, r.time, &notified));
      notified_count += notified ? 1 : 0;
    }
    return span;
  });
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object()
      .field("incident_id", (*i)->id)
      .field("compromised", std::uint64_t(compromised))
      .field("locked", std::uint64_t(to_lock.size()))
      .field("already_locked", std::uint64_t(compromised - to_lock.size()))
      .field("notified", std::uint64_t(notified_count))
      .field("audit_id", r.id);
  w.key("accounts").begin_array();
  for (const std::string& a : to_lock) w.value(a);
  w.end_array().end_object();
  c.wait_for(writes);
}

void ApiHandler::mail_senders(Call& c) {
  std::size_t limit = 100;
  if (auto l = c.target.param("limit")) {
    unsigned long v = 0;
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
    if (ec != std::errc() || p != l->data() + l->size() || v == 0 || v > 1000)
      return c.error(400, "invalid_query", "limit must be between 1 and 1000");
    limit = v;
  }
  const TimePoint t = now();
  const auto config = engine_.config();
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object()
      .field("hourly_quota", std::uint64_t(config->mail_volume.threshold))
      .field("daily_quota", std::uint64_t(config->mail_volume.daily_threshold));
  w.key("senders").begin_array();
  for (const auto& u : engine_.mail_senders(t, limit)) {
    const auto lock = engine_.locks().find(u.account);
    w.begin_object()
        .field("account", u.account)
        .field("recipients_hour", std::uint64_t(u.hourly))
        .field("recipients_day", std::uint64_t(u.daily))
        .field("deferred_hour", std::uint64_t(u.deferred))
        .field("locked", lock.has_value())
        .end_object();
  }
  w.end_array().end_object();
}

void ApiHandler::mail_sender_release(Call& c) {
  auto a = path_account(c.target.segments[3]);
  if (!a) return c.error(400, a.error().code, a.error().message);
  std::string note;
  if (!read_note(c.body, c.req.body, note)) return c.bad_body();
  store::AuditRecord r = audit_record(c, "quota_release", "account:" + *a, note);
  const store::WriteSpan writes = engine_.audited(r, {*a}, [&] {
    engine_.release_sends(*a);
    return store::WriteSpan();
  });
  c.json();
  JsonWriter w(c.resp.body);
  w.begin_object()
      .field("account", *a)
      .field("released", true)
      .field("audit_id", r.id)
      .end_object();
  c.wait_for(writes);
}

// POST /v1/lists/import: CSV lines `kind,target[,reason[,ttl_s]]`
// (RFC 4180 quoting), an optional header line `kind,target,reason,ttl_s`,
// blank lines and lines starting with '#' skipped. Every line is checked
// before any is added: the first bad one is answered with its line number
// and nothing changes. The body limit bounds the size; at most
// kMaxImportLines entries.
void ApiHandler::list_import(Call& c) {
  struct Line {
    std::size_t number;
    store::ListKind kind;
    std::string target, reason;
    std::int64_t ttl_s = 0;
  };
  std::vector<Line> lines;
  std::string_view body = c.req.body;
  std::size_t number = 0;
  auto bad = [&](const std::string& why) {
    c.error(400, "invalid_line",
            "line " + std::to_string(number) + ": " + why + "; nothing was added");
  };
  if (!is_valid_utf8(body))
    return c.error(400, "invalid_body", "the body must be UTF-8 text (CSV)");
  while (!body.empty()) {
    ++number;
    const auto nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto fields = split_csv_line(line);
    if (!fields) return bad(fields.error().message);
    if (lines.empty() && number == 1 && (*fields)[0] == "kind") continue;  // the header
    if (fields->size() < 2 || fields->size() > 4)
      return bad("expected kind,target[,reason[,ttl_s]], got " + std::to_string(fields->size()) +
                 " fields");
    auto kind = store::list_kind_from_string((*fields)[0]);
    if (!kind) return bad("kind must be allow or deny");
    auto target = engine::parse_list_target((*fields)[1]);
    if (!target) return bad(target.error().message);
    Line l{number, *kind, target->canonical, fields->size() > 2 ? (*fields)[2] : "", 0};
    if (l.reason.size() > kMaxReasonBytes)
      return bad("reason is longer than " + std::to_string(kMaxReasonBytes) + " bytes");
    if (fields->size() > 3 && !(*fields)[3].empty()) {
      const std::string& t = (*fields)[3];
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), l.ttl_s);
      if (ec != std::errc() || p != t.data() + t.size() || l.ttl_s < 1 ||
          l.ttl_s > std::int64_t(100) * 365 * 86400)
        return bad("ttl_s must be a whole number of seconds, 1 to 100 years");
    }
    if (lines.size() == kMaxImportLines)
      return bad("more than " + std::to_string(kMaxImportLines) + " entries");
    lines.push_back(std::move(l));
  }
  if (lines.empty()) return c.error(400, "invalid_body", "no entries to import");
  std::vector<std::string> accounts;
  for (const Line& l : lines)
    for (std::string& a : list_target_accounts(l.target)) accounts.push_back(std::move(a));
  std::string note;
  if (auto n = c.target.param("note")) {
    auto decoded = decode_query_value(*n);
    if (!decoded || decoded->size() > kMaxNoteBytes)
      return c.error(400, "invalid_query", "note must be at most 1024 bytes of text");
    note = std::move(*decoded);
  }
  store::AuditRecord r = audit_record(
      c, "list_import", "lists", note,
      json_object([&](JsonWriter& w) { w.field("entries", std::uint64_t(lines.size())); }));
  std::vector<store::ListEntry> added;
  const store::WriteSpan writes = engine_.audited(r, accounts, [&] {
    store::WriteSpan span;
    for (const Line& l : lines) {
      store::WriteTicket ticket = 0;
      auto e = engine_.lists().add(l.kind, l.target, l.reason, std::chrono::seconds(l.ttl_s),
                                   r.time, engine_.ids().next(r.time), ticket);
      if (e) added.push_back(std::move(*e));
      span.add(ticket);
    }
    return span;
  });
  c.json(201);
  JsonWriter w(c.resp.body);
  w.begin_object().field("added", std::uint64_t(added.size())).field("audit_id", r.id);
  w.key("entries").begin_array();
  for (const auto& e : added) write_list_entry(w, e);
  w.end_array().end_object();
  c.wait_for(writes);
}

}  // namespace mamori::http
