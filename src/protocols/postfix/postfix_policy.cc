#include "protocols/postfix/postfix_policy.h"

#include <charconv>

namespace mamori::postfix {

namespace {

std::string duration_text(Duration d) {
  using namespace std::chrono;
  const auto s = duration_cast<seconds>(d).count();
  if (s % 86400 == 0 && s >= 86400 && s % 3600 != 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

// Postfix puts the text into an SMTP reply line: keep it printable ASCII.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 256)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

Result<Attributes> Attributes::parse(std::string_view text) {
  Attributes a;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return make_error("invalid_request", "a policy request line must be name=value");
    a.items_.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return a;
}

std::string_view Attributes::get(std::string_view name) const {
  for (const auto& [k, v] : items_)
    if (k == name) return v;
  return {};
}

std::string sender_action(const Decision& d, std::string_view account,
                          const engine::MailVolumeConfig& q, std::optional<Duration> retry_after) {
  const std::string when =
      retry_after ? "try again in " + describe_wait(*retry_after) : std::string("try again later");
  if (d.action() < Action::kDeny) return "DUNNO";
  if (d.has(Reason::kAccountLocked) || d.has(Reason::kMailGeography))
    return "REJECT mamori: account " + printable(account) +
           " is locked; reset the password or contact support";
  if (d.has(Reason::kDenyList)) return "REJECT mamori: sending is refused for this account or address";
  if (d.has(Reason::kMailVolume))
    return "DEFER_IF_PERMIT mamori: " + printable(account) + " is over its sending quota (" +
           std::to_string(q.threshold) + " recipients per " + duration_text(q.window) + ", " +
           std::to_string(q.daily_threshold) + " per " + duration_text(q.daily_window) + "); " +
           when + " or contact support";
  return "DEFER_IF_PERMIT mamori: sending refused for now; " + when;
}

engine::ClientAnswer SenderWording::answer(const Event& e, const Decision& d,
                                           std::optional<Duration> retry_after) const {
  engine::ClientAnswer a;
  a.reply = sender_action(d, e.account, engine_.config()->mail_volume, retry_after);
  if (a.reply.starts_with("DEFER"))
    a.action = "defer";
  else if (a.reply.starts_with("REJECT"))
    a.action = "deny";
  else
    a.action = "allow";
  return a;
}

PostfixPolicy::PostfixPolicy(engine::Engine& engine, dnsbl::DnsblResolver* dnsbl,
                             const Clock& clock)
    : engine_(engine), dnsbl_(dnsbl), clock_(clock), wording_(engine) {}

void PostfixPolicy::decide(const Attributes& a, ConnectionState& state, Reply reply) {
  if (a.get("request") != "smtpd_access_policy") return reply("DUNNO", {});
  auto ip = IpAddress::parse(a.get("client_address"));
  if (!ip) return reply("DUNNO", {});  // "unknown" clients (local submission)
  const TimePoint now = clock_.now();
  const std::string_view sasl = a.get("sasl_username");
  if (sasl.empty()) {
    auto judge = [this, ip = *ip, reply = std::move(reply)](const std::string& zone) {
      const Decision d = engine_.check_inbound(ip, zone, clock_.now());
      if (d.action() < Action::kDeny) return reply("DUNNO", {});
      if (d.has(Reason::kDenyList))
        return reply("REJECT mamori: mail from " + ip.to_string() + " is refused (deny list)", {});
      reply("REJECT mamori: client " + ip.to_string() + " is listed by " + printable(zone), {});
    };
    if (dnsbl_) return dnsbl_->check(*ip, std::move(judge));
    return judge("");
  }
  auto account = normalize_account(sasl);
  if (!account) return reply("DUNNO", {});
  Event e;
  e.type = EventType::kMailSent;
  e.account = std::move(*account);
  e.ip = *ip;
  e.protocol = "smtp";
  e.time = now;
  e.dry_run = true;
  const std::string_view stage = a.get("protocol_state");
  const std::string_view instance = a.get("instance");
  if (stage == "RCPT") {
    e.recipient_count = 1;
  } else if ((stage == "DATA" || stage == "END-OF-MESSAGE") &&
             (instance.empty() || instance != state.counted_instance)) {
    std::uint32_t n = 0;
    const std::string_view rc = a.get("recipient_count");
    std::from_chars(rc.data(), rc.data() + rc.size(), n);
    e.recipient_count = n;
    e.dry_run = false;
  }
  engine::Outcome o = engine_.process(e, &wording_);
  if (!e.dry_run && o.decision.action() < Action::kDeny) state.counted_instance = instance;
  reply(std::move(o.answer.reply), o.writes);
}

}  // namespace mamori::postfix
