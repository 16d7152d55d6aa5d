#include "protocols/dovecot/dovecot_policy.h"

#include <simdjson.h>

#include "core/hash.h"

namespace mamori::dovecot {

namespace {

constexpr auto kSessionMemory = std::chrono::minutes(10);

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

bool valid_protocol(std::string_view p) {
  if (p.empty() || p.size() > kMaxProtocolBytes) return false;
  for (char c : p)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

std::string PolicyReply::json() const {
  std::string out = "{\"status\":" + std::to_string(status) + ",\"msg\":";
  append_json_string(out, msg);
  out += "}";
  return out;
}

std::size_t DovecotPolicy::StringHash::operator()(const std::string& s) const {
  return std::size_t(hash_bytes(s));
}

std::string refusal_message(const Decision& d, std::optional<Duration> retry_after) {
  if (d.has(Reason::kMailGeography))
    return "mamori: this account is locked after logins from many places at once; "
           "reset your password or contact support";
  if (d.has(Reason::kAccountLocked))
    return "mamori: this account is locked; reset your password or contact support";
  const std::string when =
      retry_after ? "try again in " + describe_wait(*retry_after) : std::string("try again later");
  if (d.has(Reason::kDenyList))
    return retry_after ? "mamori: logins from your address are refused; " + when
                       : "mamori: logins from your address are refused";
  if (d.has(Reason::kBruteForce))
    return "mamori: too many failed logins from your address; " + when;
  if (d.has(Reason::kCredentialStuffing) || d.has(Reason::kPasswordSpray) ||
      d.has(Reason::kIpFailures))
    return "mamori: your address is blocked after suspicious logins; " + when;
  return retry_after ? "mamori: login refused; " + when : "mamori: login refused";
}

DovecotPolicy::DovecotPolicy(engine::Engine& engine, std::size_t max_sessions)
    : engine_(engine), budget_(max_sessions * 96), sessions_(budget_, 16) {}

Result<PolicyReply> DovecotPolicy::handle(std::string_view command, std::string_view body,
                                          TimePoint now) {
  const bool allow = command == "allow";
  if (!allow && command != "report")
    return make_error("invalid_command", "command must be allow or report");
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (body.empty() || parser.parse(body.data(), body.size(), true).get_object().get(obj))
    return make_error("invalid_json", "the request body must be Dovecot's JSON object");

  auto str = [&](std::string_view key, std::string& out, std::size_t max) -> Status {
    simdjson::dom::element e;
    if (obj.at_key(key).get(e) || e.is_null()) return {};
    std::string_view v;
    if (e.get_string().get(v))
      return make_error("invalid_field", "attribute '" + std::string(key) + "' must be a string");
    if (v.size() > max)
      return make_error("field_too_long", "attribute '" + std::string(key) + "' is too long");
    out.assign(v);
    return {};
  };
  // Booleans; older Dovecot versions send them as strings.
  auto boolean = [&](std::string_view key, bool& out) -> Status {
    simdjson::dom::element e;
    if (obj.at_key(key).get(e) || e.is_null()) return {};
    bool b;
    std::string_view s;
    if (!e.get_bool().get(b)) out = b;
    else if (!e.get_string().get(s)) out = s == "true" || s == "yes" || s == "1";
    else return make_error("invalid_field", "attribute '" + std::string(key) + "' must be a boolean");
    return {};
  };

  Event e;
  std::string login, remote, session;
  e.protocol.clear();
  bool success = false, policy_reject = false;
  for (Status s : {str("login", login, 4096), str("remote", remote, 64),
                   str("pwhash", e.pwhash, kMaxPwhashBytes),
                   str("device_id", e.device_id, kMaxDeviceIdBytes),
                   str("protocol", e.protocol, 256), str("session_id", session, 256),
                   boolean("success", success), boolean("policy_reject", policy_reject)})
    if (!s) return s.error();
  if (login.empty()) return make_error("missing_field", "missing attribute 'login'");
  if (remote.empty()) return make_error("missing_field", "missing attribute 'remote'");
  auto account = normalize_account(login);
  if (!account) return account.error();
  auto ip = IpAddress::parse(remote);
  if (!ip) return ip.error();
  e.account = std::move(*account);
  e.ip = *ip;
  for (char& c : e.protocol)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  if (e.protocol.empty()) e.protocol = "imap";
  if (!valid_protocol(e.protocol))
    return make_error("invalid_field", "attribute 'protocol' must be one word (imap, pop3, smtp, ...)");
  if (!is_valid_utf8(e.device_id))
    return make_error("invalid_field", "attribute 'device_id' must be valid UTF-8");
  e.time = now;

  // Which step of the login this is.
  // Without a session_id (doveadm auth test, some SASL clients) the
  // repeated body identifies the login: same login, address, protocol and
  // password hash.
  Stage before = Stage::kNone;
  {
    const std::string key = (session.empty() ? "~" + remote + '\n' + e.protocol + '\n' + e.pwhash
                                             : session) +
                            '\n' + e.account;
    sessions_.update(key, [&](Session& s) {
      if (s.stage != Stage::kNone && now - s.seen > kSessionMemory) s.stage = Stage::kNone;
      before = s.stage;
      // A report ends the login; another one may follow on the same connection.
      s.stage = !allow ? Stage::kNone
                       : (before == Stage::kNone ? Stage::kAttempted : Stage::kSucceeded);
      s.seen = now;
    });
  }
  PolicyReply reply;
  if (allow) {
    if (before == Stage::kNone) {
      e.type = EventType::kLoginAttempt;
    } else {
      e.type = EventType::kLoginResult;  // the password was right
      e.success = true;
    }
  } else {
    // The report: the login's outcome, unless already judged.
    if (before == Stage::kSucceeded || policy_reject) return reply;
    e.type = EventType::kLoginResult;
    e.success = success;
  }
  reply.outcome = engine_.process(e);
  reply.judged = true;
  if (!allow) return reply;  // Dovecot ignores the answer to a report
  const Decision& d = reply.outcome.decision;
  if (d.action() >= Action::kDeny) {
    reply.status = -1;
    reply.msg = refusal_message(d, reply.outcome.retry_after);
  } else if (d.action() == Action::kDelay && e.type == EventType::kLoginAttempt) {
    reply.status = int((d.delay_ms() + 999) / 1000);
  }
  return reply;
}

}  // namespace mamori::dovecot
