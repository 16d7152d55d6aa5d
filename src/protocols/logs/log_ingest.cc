#include "protocols/logs/log_ingest.h"

#include <algorithm>

namespace mamori::logs {

std::string_view to_string(Skip s) {
  switch (s) {
    case Skip::kTooLong:
      return "too_long";
    case Skip::kBadTime:
      return "bad_time";
    case Skip::kNoAccount:
      return "no_account";
    case Skip::kBadAccount:
      return "bad_account";
    case Skip::kBadIp:
      return "bad_ip";
  }
  return "too_long";
}

void ingest(LogFormat& format, const RawLine& line, LogCounters& counters,
            const std::function<void(Event&)>& emit) {
  counters.lines.fetch_add(1, std::memory_order_relaxed);
  LoginLine l;
  const LineKind kind =
      line.time ? format.parse_message(line.text, *line.time, l) : format.parse_line(line.text, l);
  if (kind == LineKind::kNone) return;
  counters.matched.fetch_add(1, std::memory_order_relaxed);
  switch (kind) {
    case LineKind::kBadTime:
      return counters.skip(Skip::kBadTime);
    case LineKind::kNoAccount:
      return counters.skip(Skip::kNoAccount);
    case LineKind::kNone:
    case LineKind::kCounted:
      return;
    case LineKind::kLogin:
    case LineKind::kSend:
      break;
  }
  auto account = normalize_account(l.account);
  if (!account) return counters.skip(Skip::kBadAccount);
  auto ip = IpAddress::parse(l.ip);
  if (!ip) return counters.skip(Skip::kBadIp);
  // An authenticated send, as Postfix's policy service would report it at
  // the end of the message (a kMailSent that counts).
  auto send = [&](std::string account) {
    Event s;
    s.type = EventType::kMailSent;
    s.account = std::move(account);
    s.ip = *ip;
    s.time = l.time;
    s.protocol.assign(l.protocol);
    s.recipient_count = std::min<std::uint32_t>(l.sent_recipients, kMaxRecipients);
    s.dry_run = false;
    counters.events.fetch_add(1, std::memory_order_relaxed);
    emit(s);
  };
  if (kind == LineKind::kSend) return send(std::move(*account));
  Event e;
  e.type = EventType::kLoginResult;
  e.account = l.sent_recipients > 0 ? *account : std::move(*account);
  e.ip = *ip;
  e.success = l.success;
  e.time = l.time;
  e.protocol.assign(l.protocol);
  if (l.user_agent.size() <= kMaxUserAgentBytes && is_valid_utf8(l.user_agent))
    e.user_agent.assign(l.user_agent);
  // A line of several attempts: copies first, then the event itself.
  const int times = l.success ? 1 : std::clamp(l.attempts, 1, kMaxAttemptsPerLine);
  for (int i = 1; i < times; ++i) {
    counters.events.fetch_add(1, std::memory_order_relaxed);
    Event copy = e;
    emit(copy);
  }
  counters.events.fetch_add(1, std::memory_order_relaxed);
  emit(e);
  if (l.sent_recipients > 0) send(std::move(*account));
}

}  // namespace mamori::logs
