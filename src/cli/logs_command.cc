#include "cli/logs_command.h"

#include <boost/json.hpp>
#include <cstdio>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "protocols/logs/log_replay.h"
#include "server/config.h"

namespace mamori::cli {

namespace {

namespace json = boost::json;

constexpr std::string_view kHelp =
    R"HELP(usage: mamori logs replay FILE --format NAME [--json] [--config FILE]
                         [--login-path PATH] [--success-status LIST] [--failure-status LIST]
                         [--pattern REGEX] [--time-format FORMAT] [--protocol WORD]

Runs a log file through mamorid's whole engine, in this process, with each
line's own time, and prints what would have been refused and why: per
source (or account), the deciding reason, the strongest action, how many
accounts its events touched, the first and last line numbers and the number
of events refused; then a summary (lines read, matched, events, lines
skipped by reason, the events decided with each action and those carrying
each reason, allow's too: new_device, dormant_account). Nothing is sent to a server: the state lives in this
process's memory only, nothing is written to disk, and no notices are sent.

Use it to tune the detections on a real log, as fail2ban-regex does for a
filter, but with every detection and its windows: brute_force,
credential_stuffing, ip_failures, account_under_attack, ...

  --format NAME        dovecot, postfix, sshd, nginx, apache or custom
  --config FILE        take the detections from mamorid's config (default: the
                       built-in defaults); the format settings of a [[logs]]
                       source with this format are used unless given below
  --login-path PATH    nginx, apache: the login URL's path, e.g. /login
  --success-status L   nginx, apache: statuses of a success, e.g. 2xx,3xx (default)
  --failure-status L   nginx, apache: statuses of a failure, e.g. 401,403 (default)
  --pattern REGEX      custom: RE2 expression with (?P<ip>) (?P<account>)
                       (?P<result>) and optionally (?P<time>) (?P<protocol>)
  --time-format F      custom: how (?P<time>) reads (strptime-style, "rfc3339",
                       "syslog", "epoch")
  --protocol WORD      the events' protocol instead of the format's
  --json               print one JSON document instead of tables

Year-less syslog stamps take the year of the file's modification time.
Progress (lines, lines/s) goes to stderr every 2 seconds on big files.
Exit status: 0 done, 1 the file or the store could not be read, 2 usage.
)HELP";

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string count_text(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(std::size_t(i), ",");
  return s;
}

}  // namespace

int run_logs(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  static const std::vector<FlagSpec> kFlags = {
      {"format", true},         {"config", true},         {"json", false},   {"login-path", true},
      {"success-status", true}, {"failure-status", true}, {"pattern", true}, {"time-format", true},
      {"protocol", true},       {"help", false}};
  auto parsed = parse_args(args, kFlags);
  if (!parsed) {
    err << "mamori: " << parsed.error().message << "\n" << kHelp;
    return kExitUsage;
  }
  const auto& words = parsed->positional;
  if (parsed->has("help") || (!words.empty() && words[0] == "help")) {
    out << kHelp;
    return kExitOk;
  }
  if (words.size() != 2 || words[0] != "replay") {
    err << "mamori: expected 'logs replay FILE --format NAME'\n" << kHelp;
    return kExitUsage;
  }
  auto format = parsed->get("format");
  if (!format) {
    err << "mamori: logs replay needs --format (dovecot, postfix, sshd, nginx, apache, custom)\n";
    return kExitUsage;
  }
  logs::ReplayOptions o;
  o.file = words[1];
  o.format.name = *format;
  if (auto path = parsed->get("config")) {
    auto config = server::load_config(*path);
    if (!config) {
      err << "mamori: " << config.error().message << "\n";
      return kExitUsage;
    }
    o.engine = config->engine;
    for (const logs::LogSourceConfig& s : config->logs) {
      if (s.format.name == *format) {
        o.format = s.format;
        o.max_line_bytes = s.max_line_bytes;
        break;
      }
    }
  }
  if (auto v = parsed->get("login-path")) o.format.login_path = *v;
  if (auto v = parsed->get("success-status")) o.format.success_status = split_list(*v);
  if (auto v = parsed->get("failure-status")) o.format.failure_status = split_list(*v);
  if (auto v = parsed->get("pattern")) o.format.pattern = *v;
  if (auto v = parsed->get("time-format")) o.format.time_format = *v;
  if (auto v = parsed->get("protocol")) o.format.protocol = *v;
  o.progress = [&err](std::uint64_t lines, double rate) {
    err << "mamori logs replay: " << count_text(lines) << " lines, "
        << count_text(std::uint64_t(rate)) << " lines/s" << std::endl;
  };
  auto report = logs::replay_log(o);
  if (!report) {
    err << "mamori: " << report.error().message << "\n";
    return report.error().code == "invalid_format" || report.error().code == "invalid_time_format"
               ? kExitUsage
               : kExitRefused;
  }
  const logs::ReplayReport& r = *report;
  const double rate = r.seconds > 0 ? double(r.lines) / r.seconds : 0;
  if (parsed->has("json")) {
    json::object doc;
    doc["file"] = o.file;
    doc["format"] = o.format.name;
    doc["lines"] = r.lines;
    doc["matched"] = r.matched;
    doc["not_matched"] = r.lines - r.matched;
    doc["events"] = r.events;
    json::object skipped;
    for (int i = 0; i < logs::kSkipCount; ++i)
      skipped[logs::to_string(logs::Skip(i))] = r.skipped[std::size_t(i)];
    doc["skipped"] = std::move(skipped);
    json::object decisions, reasons;
    for (int i = 0; i < kActionCount; ++i)
      decisions[to_string(Action(i))] = r.actions[std::size_t(i)];
    for (int i = 0; i < kReasonCount; ++i)
      if (r.reasons[std::size_t(i)] != 0) reasons[to_string(Reason(i))] = r.reasons[std::size_t(i)];
    doc["decisions"] = std::move(decisions);
    doc["reasons"] = std::move(reasons);
    doc["seconds"] = r.seconds;
    doc["lines_per_second"] = rate;
    json::array refused;
    for (const logs::ReplayRefusal& f : r.refusals) {
      json::object e;
      e["reason"] = to_string(f.reason);
      e["action"] = to_string(f.action);
      e["ip"] = f.ip.empty() ? json::value(nullptr) : json::value(f.ip);
      e["account"] = f.account.empty() ? json::value(nullptr) : json::value(f.account);
      e["accounts"] = f.accounts;
      json::array sample;
      for (const std::string& a : f.sample_accounts) sample.emplace_back(a);
      e["sample_accounts"] = std::move(sample);
      e["first_line"] = f.first_line;
      e["last_line"] = f.last_line;
      e["events"] = f.events;
      e["first_time"] = format_rfc3339(f.first_time);
      e["last_time"] = format_rfc3339(f.last_time);
      refused.emplace_back(std::move(e));
    }
    doc["refused"] = std::move(refused);
    out << json::serialize(doc) << "\n";
    return kExitOk;
  }
  out << "mamori logs replay: " << sanitize_for_terminal(o.file) << " (" << o.format.name << "), "
      << count_text(r.lines) << " lines in ";
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2f", r.seconds);
  out << secs << " s (" << count_text(std::uint64_t(rate)) << " lines/s)\n\n";
  if (r.refusals.empty()) {
    out << "nothing would have been refused\n";
  } else {
    out << "would have been refused (" << r.refusals.size() << "):\n";
    Table t({"REASON", "ACTION", "SOURCE", "ACCOUNT", "ACCOUNTS", "FIRST LINE", "LAST LINE",
             "EVENTS", "FIRST TIME"});
    for (const logs::ReplayRefusal& f : r.refusals)
      t.add_row({std::string(to_string(f.reason)), std::string(to_string(f.action)),
                 f.ip.empty() ? "-" : f.ip, f.account.empty() ? "-" : f.account,
                 count_text(f.accounts), count_text(f.first_line), count_text(f.last_line),
                 count_text(f.events), format_rfc3339(f.first_time)});
    out << t.render();
  }
  out << "\nlines read    " << count_text(r.lines) << "\nmatched       " << count_text(r.matched)
      << "\nnot matched   " << count_text(r.lines - r.matched) << "\nevents        "
      << count_text(r.events) << "\nskipped      ";
  for (int i = 0; i < logs::kSkipCount; ++i)
    out << " " << logs::to_string(logs::Skip(i)) << " " << count_text(r.skipped[std::size_t(i)])
        << (i + 1 < logs::kSkipCount ? "," : "\n");
  out << "decisions    ";
  for (int i = 0; i < kActionCount; ++i)
    out << " " << to_string(Action(i)) << " " << count_text(r.actions[std::size_t(i)])
        << (i + 1 < kActionCount ? "," : "\n");
  std::string reasons;
  for (int i = 0; i < kReasonCount; ++i)
    if (r.reasons[std::size_t(i)] != 0)
      reasons += (reasons.empty() ? " " : ", ") + std::string(to_string(Reason(i))) + " " +
                 count_text(r.reasons[std::size_t(i)]);
  out << "reasons      " << (reasons.empty() ? " none" : reasons) << "\n";
  return kExitOk;
}

}  // namespace mamori::cli
