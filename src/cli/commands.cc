#include "cli/commands.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/args.h"
#include "cli/data_dir_commands.h"
#include "cli/http_client.h"
#include "cli/local_time.h"
#include "cli/logs_command.h"
#include "cli/pwned_command.h"
#include "cli/table.h"
#include "core/ip_address.h"
#include "core/result.h"

#ifndef MAMORI_VERSION
#define MAMORI_VERSION "0.1.0"
#endif

namespace mamori::cli {
namespace {

namespace json = boost::json;

// ---- help texts -------------------------------------------------------------

constexpr std::string_view kMainHelp =
    R"HELP(mamori - operate a mamorid server through its HTTP API

usage: mamori [--server URL] [--token TOKEN] [--json] [--tz ZONE] COMMAND [ARGS...]

commands:
  status                           server health and counters
  lists ls [--kind allow|deny]     allow and deny list entries
  lists add allow|deny TARGET [--reason TEXT] [--ttl DURATION]
                                   add a list entry (TARGET: IP, CIDR, account:NAME, country:CC)
  lists rm ID [--note TEXT]        delete a list entry
  lists import FILE|- [--note TEXT]
                                   add many list entries from CSV, all or none
  account show NAME                an account's status, lock, devices and last login
  account lock NAME --reason TEXT [--require-password-reset]
                                   lock an account
  account unlock NAME [--note TEXT]
                                   unlock an account (also lifts its send throttles)
  activity NAME [--since RFC3339] [--limit N]
                                   an account's recent events, newest first
  incidents [ID] [--since RFC3339] incidents, or one incident with the accounts it touched
  incident notify-owners ID        tell every owner the incident touched, once per account
  blocked                          what the engine blocks on its own now, and locked accounts
  unblock SCOPE TARGET [--note TEXT]
                                   lift one of the engine's blocks
  incident close|export|require-reset ID
                                   close an incident, its accounts as CSV, lock its
                                   compromised accounts with a password reset required
  senders ls | senders release NAME
                                   mail senders' quota use; release one's quota
  audit [--since ...] [--actor NAME] [--action WORD] [--target T]
                                   operators' actions: who, when, what, the note
  operator add NAME [--password-file F] | list | remove NAME | reset-totp NAME
                                   the console's operator accounts (password + TOTP)
  pwned import FILE [--data-dir DIR]
                                   build the breached-password store from a Pwned Passwords
                                   file (local; no server needed; see 'mamori pwned --help')
  backup [--data-dir DIR | --config FILE] [--with-pwned] OUT
                                   copy a data dir, live or stopped, into a new directory OUT
                                   (local; see 'mamori backup --help')
  restore BACKUP [--data-dir DIR | --config FILE] [--force]
                                   put a backup into a stopped daemon's data dir (local)
  db migrate [--data-dir DIR | --config FILE | --store URL]
                                   upgrade a stopped daemon's database, or a PostgreSQL
                                   store, to this version's schema
  store copy --from DATA_DIR --to URL [--force]
                                   copy every durable record of a stopped daemon's data dir
                                   into PostgreSQL (see 'mamori store --help')
  logs replay FILE --format NAME [--json] [--config FILE]
                                   run a log through the whole engine with its lines' times and
                                   show what would have been refused (local; see
                                   'mamori logs --help')
  help [COMMAND]                   this text, or a command's

options (accepted before or after the command):
  --server URL    the server; default $MAMORI_SERVER, else http://127.0.0.1:8425.
                  An https:// URL speaks TLS: the server's certificate must
                  name the URL's host and chain to --ca (or the system's CAs).
  --ca FILE       PEM CA certificate(s) that sign the server's; default $MAMORI_CA
  --cert FILE     PEM client certificate, for a server that asks for one
                  (mutual TLS); default $MAMORI_CERT
  --key FILE      its private key; default $MAMORI_KEY
  --token TOKEN   API token (most commands need an admin token); default $MAMORI_TOKEN.
                  Prefer the variable: other local users can see command lines.
  --json          print the server's JSON answer instead of a table
  --tz ZONE       show times in this IANA time zone (Asia/Tokyo, Europe/Berlin);
                  default $TZ, else UTC. --json output keeps the server's UTC times.
  -h, --help      this help; after a command, that command's help
  --version       print the version

exit status:
  0   success
  1   the server refused the request; its error is printed as
      "mamori: MESSAGE (CODE, HTTP STATUS)". pwned, backup, restore, db: the
      work failed or was refused ("mamori: MESSAGE")
  2   usage error: unknown command or option, bad value, missing argument
  3   cannot connect to the server (refused, unresolvable, timed out)
  4   the server's answer is not mamori's API (not JSON, unexpected status)
  70  internal error in mamori itself
)HELP";

constexpr std::string_view kListsHelp =
    R"HELP(usage: mamori lists ls|add|rm|import ...

  lists ls [--kind allow|deny] [--search TEXT]
  lists add allow|deny TARGET [--reason TEXT] [--ttl DURATION]
  lists rm ID [--note TEXT]
  lists import FILE|- [--note TEXT]

Run 'mamori lists SUBCOMMAND --help' for details.
)HELP";

constexpr std::string_view kAccountHelp =
    R"HELP(usage: mamori account show|lock|unlock NAME ...

  account show NAME
  account lock NAME --reason TEXT [--require-password-reset]
  account unlock NAME [--note TEXT]

Run 'mamori account SUBCOMMAND --help' for details.
)HELP";

constexpr std::string_view kIncidentHelp =
    R"HELP(usage: mamori incident close|export|require-reset|notify-owners ID ...

  incident close ID [--note TEXT]
  incident export ID [--output FILE]
  incident require-reset ID [--note TEXT]
  incident notify-owners ID

Run 'mamori incident SUBCOMMAND --help' for details ('mamori incidents' lists them).
)HELP";

constexpr std::string_view kSendersHelp =
    R"HELP(usage: mamori senders ls|release ...

  senders ls [--limit N]
  senders release NAME [--note TEXT]

Run 'mamori senders SUBCOMMAND --help' for details.
)HELP";

constexpr std::string_view kOperatorHelp =
    R"HELP(usage: mamori operator add|list|remove|reset-totp ...

  operator add NAME [--password-file FILE]
  operator list
  operator remove NAME
  operator reset-totp NAME

Run 'mamori operator SUBCOMMAND --help' for details.
)HELP";

// ---- reading the server's JSON ---------------------------------------------

const json::value* field(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  return o ? o->if_contains(key) : nullptr;
}

const json::value* field(const json::value* v, std::string_view key) {
  return v ? field(*v, key) : nullptr;
}

std::string format_number(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

// A JSON value as table text: missing, null and "" become `none`; booleans
// "yes"/"no"; arrays are joined with ", ".
std::string text(const json::value* v, std::string_view none = "-") {
  if (v == nullptr || v->is_null()) return std::string(none);
  switch (v->kind()) {
    case json::kind::string: {
      const json::string& s = v->get_string();
      return s.empty() ? std::string(none) : std::string(s.data(), s.size());
    }
    case json::kind::bool_:
      return v->get_bool() ? "yes" : "no";
    case json::kind::int64:
      return std::to_string(v->get_int64());
    case json::kind::uint64:
      return std::to_string(v->get_uint64());
    case json::kind::double_:
      return format_number(v->get_double());
    case json::kind::array: {
      std::string out;
      for (const json::value& e : v->get_array()) {
        if (!out.empty()) out += ", ";
        out += text(&e, "null");
      }
      return out.empty() ? std::string(none) : out;
    }
    default:
      return json::serialize(*v);
  }
}

// A time field in the operator's zone; missing or null fields become `none`.
std::string when(const LocalTime& zone, const json::value* v, std::string_view none = "-") {
  if (v == nullptr || !v->is_string()) return text(v, none);
  return zone.format(text(v, none));
}

const json::array& array_or_empty(const json::value* v) {
  static const json::array kEmpty;
  return v && v->is_array() ? v->get_array() : kEmpty;
}

std::string on_off(const json::value* v) {
  if (v == nullptr || !v->is_bool()) return text(v);
  return v->get_bool() ? "on" : "off";
}

// "203.0.113.7, 198.51.100.0/24, +5 more"
std::string first_few(const json::value* v, std::size_t shown) {
  const json::array& a = array_or_empty(v);
  if (a.size() <= shown) return text(v);
  std::string out;
  for (std::size_t i = 0; i < shown; ++i) out += text(&a[i], "null") + ", ";
  return out + "+" + std::to_string(a.size() - shown) + " more";
}

std::string format_uptime(const json::value* v) {
  if (v == nullptr || !v->is_number()) return text(v);
  boost::system::error_code ec;
  auto s = v->to_number<std::int64_t>(ec);
  if (ec || s < 0) return text(v);
  std::string out;
  const std::int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  if (d) out += std::to_string(d) + "d ";
  if (d || h) out += std::to_string(h) + "h ";
  if (d || h || m) out += std::to_string(m) + "m ";
  return out + std::to_string(sec) + "s";
}

std::string format_bytes(const json::value* v) {
  if (v == nullptr || !v->is_number()) return text(v);
  boost::system::error_code ec;
  double b = v->to_number<double>(ec);
  if (ec) return text(v);
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (b >= 1024 && unit + 1 < std::size(kUnits)) b /= 1024, ++unit;
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", b, kUnits[unit]);
  return buf;
}

// ---- commands ---------------------------------------------------------------

struct Command;

// A successful (2xx) answer: the parsed JSON and the body as received.
struct Reply {
  json::value value;
  std::string raw;
};

// What a command runs with: the client, the output streams and the options.
class Context {
 public:
  Context(const Command& command, ServerUrl server, std::string token, TlsClientOptions tls,
          bool json_output, LocalTime zone, std::ostream& out, std::ostream& err)
      : command_(command),
        have_token_(!token.empty()),
        client_(std::move(server), std::move(token), std::chrono::seconds(30), std::move(tls)),
        json_output(json_output),
        zone(zone),
        out(out),
        err(err) {}

  // Sends one request. A 2xx answer with a JSON body is a Reply; anything
  // else is an Error whose code is `refused` (the server's error answer) or
  // `unreachable` / `bad_response`, with a ready-to-print message.
  Result<Reply> call(std::string_view method, const std::string& target,
                     const json::object* body = nullptr);
  // As call(), with `text` sent as the body under `content_type`; a 2xx
  // answer's body is returned as it is (`value` null when it is not JSON).
  Result<Reply> call_text(std::string_view method, const std::string& target,
                          std::optional<std::string> payload, std::string_view content_type,
                          bool want_json);

  // Prints `e` and returns its exit code.
  int fail(const Error& e) const;

  // Prints a usage error for this command and returns kExitUsage.
  int usage_error(const std::string& message) const;

  // With --json prints the answer unchanged; returns whether it did.
  bool print_json(const Reply& r) const;

 private:
  const Command& command_;
  bool have_token_;
  HttpClient client_;

 public:
  const bool json_output;
  const LocalTime zone;  // times in tables
  std::ostream& out;
  std::ostream& err;
};

using Handler = std::function<int(Context&, const Args&)>;

struct Command {
  std::string_view name;   // "lists add"
  std::string_view usage;  // after "mamori "
  std::string_view help;   // more lines for `--help`
  std::vector<FlagSpec> flags;
  std::size_t min_positional;
  std::size_t max_positional;
  Handler handler;
};

Result<Reply> Context::call(std::string_view method, const std::string& target,
                            const json::object* body) {
  std::optional<std::string> payload;
  if (body) payload = json::serialize(*body);
  return call_text(method, target, std::move(payload), "application/json", true);
}

Result<Reply> Context::call_text(std::string_view method, const std::string& target,
                                 std::optional<std::string> payload, std::string_view content_type,
                                 bool want_json) {
  auto r = client_.request(method, target, std::move(payload), content_type);
  const std::string server = client_.server().to_string();
  if (!r) return make_error("unreachable", "cannot reach " + server + ": " + r.error().message);

  boost::system::error_code ec;
  json::value value = json::parse(r->body, ec);
  if (r->status >= 400) {
    const json::value* error = field(value, "error");
    const json::value* code = field(error, "code");
    const json::value* message = field(error, "message");
    std::string line;
    if (!ec && code && code->is_string() && message && message->is_string()) {
      line = sanitize_for_terminal(text(message)) + " (" + sanitize_for_terminal(text(code)) +
             ", HTTP " + std::to_string(r->status) + ")";
    } else {
      line = "the server answered HTTP " + std::to_string(r->status) +
             (r->reason.empty() ? "" : " " + sanitize_for_terminal(r->reason));
    }
    if (r->status == 401 && !have_token_) {
      line += "\nmamori: no token given: set MAMORI_TOKEN or use --token";
    }
    return make_error("refused", std::move(line));
  }
  if (r->status < 200 || r->status >= 300) {
    return make_error("bad_response",
                      "unexpected answer HTTP " + std::to_string(r->status) + " from " + server);
  }
  if (!want_json) return Reply{json::value(), std::move(r->body)};
  if (ec) {
    return make_error("bad_response",
                      "unexpected answer from " + server + ": not JSON (" + ec.message() + ")");
  }
  return Reply{std::move(value), std::move(r->body)};
}

int Context::fail(const Error& e) const {
  err << "mamori: " << e.message << "\n";
  if (e.code == "refused") return kExitRefused;
  if (e.code == "unreachable") return kExitUnreachable;
  if (e.code == "bad_response") return kExitBadResponse;
  return kExitUsage;
}

int Context::usage_error(const std::string& message) const {
  err << "mamori: " << sanitize_for_terminal(message) << "\nusage: mamori " << command_.usage
      << "\nRun 'mamori " << command_.name << " --help' for more.\n";
  return kExitUsage;
}

bool Context::print_json(const Reply& r) const {
  if (!json_output) return false;
  std::string_view body = r.raw;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  out << body << "\n";
  return true;
}

// Prints `table`, or `empty_text` when it has no rows.
void print_table(std::ostream& out, const Table& table, std::string_view empty_text) {
  if (table.empty()) {
    out << empty_text << "\n";
  } else {
    out << table.render();
  }
}

// -- status

int cmd_status(Context& ctx, const Args&) {
  auto health = ctx.call("GET", "/healthz");
  if (!health) return ctx.fail(health.error());
  auto status = ctx.call("GET", "/v1/status");
  if (!status) return ctx.fail(status.error());
  if (ctx.json_output) {
    const auto trimmed = [](std::string_view s) {
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
      return s;
    };
    ctx.out << "{\"healthz\":" << trimmed(health->raw) << ",\"status\":" << trimmed(status->raw)
            << "}\n";
    return kExitOk;
  }
  const json::value& s = status->value;
  const json::value* hot = field(s, "hot_state");
  const std::string hot_text = text(field(hot, "entries")) + " entries, " +
                               format_bytes(field(hot, "bytes")) + " of " +
                               format_bytes(field(hot, "budget_bytes")) + ", " +
                               text(field(hot, "evictions")) + " evictions";
  ctx.out << render_fields({
      {"health", text(field(health->value, "status"))},
      {"version", text(field(s, "version"))},
      {"uptime", format_uptime(field(s, "uptime_s"))},
      {"replay", on_off(field(s, "replay"))},
      {"hot state", hot_text},
      {"blocks", text(field(s, "blocks"))},
      {"locked accounts", text(field(s, "locked_accounts"))},
      {"list entries", text(field(s, "list_entries"))},
      {"open incidents", text(field(s, "open_incidents"))},
  });
  return kExitOk;
}

// -- lists

Table list_entries_table(const LocalTime& zone, const json::array& entries) {
  Table table({"id", "kind", "target", "reason", "created", "expires"});
  table.set_max_width(3, 48);
  for (const json::value& e : entries) {
    table.add_row({text(field(e, "id")), text(field(e, "kind")), text(field(e, "target")),
                   text(field(e, "reason")), when(zone, field(e, "created")),
                   when(zone, field(e, "expires"), "never")});
  }
  return table;
}

// A list target without a ':' or '/' must be an IP address: a bare name is
// most likely an account (or a country) missing its prefix.
Status check_target(const std::string& target) {
  if (target.find_first_of(":/") != std::string::npos || IpAddress::parse(target)) return {};
  const bool country = target.size() == 2 && std::isalpha((unsigned char)target[0]) &&
                       std::isalpha((unsigned char)target[1]);
  return make_error("usage", "'" + target + "' is not an IP address or network; did you mean " +
                                 (country ? "country:" : "account:") + target + "?");
}

Status check_kind(const std::string& kind) {
  if (kind == "allow" || kind == "deny") return {};
  return make_error("usage", "list kind must be 'allow' or 'deny', not '" + kind + "'");
}

int cmd_lists_ls(Context& ctx, const Args& args) {
  std::string query;
  if (auto kind = args.get("kind")) {
    if (Status st = check_kind(*kind); !st) return ctx.usage_error(st.error().message);
    query += "kind=" + percent_encode(*kind);
  }
  if (auto q = args.get("search"))
    query += std::string(query.empty() ? "" : "&") + "q=" + percent_encode(*q);
  const std::string target = "/v1/lists" + (query.empty() ? "" : "?" + query);
  auto r = ctx.call("GET", target);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  print_table(ctx.out, list_entries_table(ctx.zone, array_or_empty(field(r->value, "entries"))),
              "No list entries.");
  return kExitOk;
}

int cmd_lists_add(Context& ctx, const Args& args) {
  const std::string& kind = args.positional[0];
  if (Status st = check_kind(kind); !st) return ctx.usage_error(st.error().message);
  if (Status st = check_target(args.positional[1]); !st) return ctx.usage_error(st.error().message);
  json::object body;
  body["kind"] = kind;
  body["target"] = args.positional[1];
  body["reason"] = args.get("reason").value_or("");
  if (auto ttl = args.get("ttl")) {
    auto seconds = parse_duration_seconds(*ttl);
    if (!seconds) return ctx.usage_error(seconds.error().message);
    body["ttl_s"] = *seconds;
  }
  auto r = ctx.call("POST", "/v1/lists", &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  json::array one;
  one.push_back(r->value);
  ctx.out << list_entries_table(ctx.zone, one).render();
  return kExitOk;
}

// Reads a whole file ("-": standard input).
Result<std::string> read_input(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error("usage", "cannot read " + path + ": " + std::strerror(errno));
  text << f.rdbuf();
  return text.str();
}

int cmd_lists_import(Context& ctx, const Args& args) {
  auto input = read_input(args.positional[0]);
  if (!input) return ctx.usage_error(input.error().message);
  std::string target = "/v1/lists/import";
  if (auto note = args.get("note")) target += "?note=" + percent_encode(*note);
  auto r = ctx.call_text("POST", target, std::move(*input), "text/csv", true);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  ctx.out << "Imported " << text(field(r->value, "added")) << " list entries.\n";
  return kExitOk;
}

int cmd_lists_rm(Context& ctx, const Args& args) {
  const std::string& id = args.positional[0];
  json::object body;
  if (auto note = args.get("note")) body["note"] = *note;
  auto r = ctx.call("DELETE", "/v1/lists/" + percent_encode(id), body.empty() ? nullptr : &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  ctx.out << "Deleted list entry " << sanitize_for_terminal(id) << ".\n";
  return kExitOk;
}

// -- accounts

std::string account_path(const std::string& name) { return "/v1/accounts/" + percent_encode(name); }

void print_account(std::ostream& out, const LocalTime& zone, const json::value& a) {
  const json::value* lock = field(a, "lock");
  const json::value* contact = field(a, "contact");
  const json::value* last = field(a, "last_login");
  std::vector<std::pair<std::string, std::string>> rows = {
      {"account", text(field(a, "account"))},
      {"status", text(field(a, "status"))},
  };
  if (lock && lock->is_object()) {
    rows.push_back({"lock reason", text(field(lock, "reason"))});
    rows.push_back({"locked since", when(zone, field(lock, "since"))});
    if (field(lock, "by")) rows.push_back({"locked by", text(field(lock, "by"))});
  }
  rows.push_back({"password reset required", text(field(a, "password_reset_required"))});
  rows.push_back({"two-factor (TOTP)", on_off(field(field(a, "mfa"), "totp"))});
  std::string contact_text = text(field(contact, "email"), "no email");
  if (field(contact, "lang")) contact_text += ", lang " + text(field(contact, "lang"));
  if (field(contact, "notify")) contact_text += ", notify " + on_off(field(contact, "notify"));
  rows.push_back({"contact", contact_text});
  if (last && last->is_object()) {
    rows.push_back({"last login", when(zone, field(last, "time")) + " from " + text(field(last, "ip")) +
                                      " (" + text(field(last, "country")) + ")"});
  } else {
    rows.push_back({"last login", "never"});
  }
  rows.push_back({"countries", text(field(a, "countries"))});
  out << render_fields(rows);

  const json::array& devices = array_or_empty(field(a, "devices"));
  if (!devices.empty()) {
    Table table({"device id", "user agent", "first seen", "last seen"});
    table.set_max_width(0, 32);
    table.set_max_width(1, 60);
    for (const json::value& d : devices) {
      table.add_row({text(field(d, "device_id")), text(field(d, "user_agent")),
                     when(zone, field(d, "first_seen")), when(zone, field(d, "last_seen"))});
    }
    out << "\n" << table.render();
  }
}

int cmd_account_show(Context& ctx, const Args& args) {
  auto r = ctx.call("GET", account_path(args.positional[0]));
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  const json::value* known = field(r->value, "known");
  if (known && known->is_bool() && !known->get_bool()) {
    ctx.out << "Account " << sanitize_for_terminal(text(field(r->value, "account")))
            << " was never seen: mamorid has no login, lock, contact or second factor for it.\n";
    return kExitOk;
  }
  print_account(ctx.out, ctx.zone, r->value);
  return kExitOk;
}

int cmd_account_lock(Context& ctx, const Args& args) {
  auto reason = args.get("reason");
  if (!reason || reason->empty()) return ctx.usage_error("account lock needs --reason TEXT");
  json::object body;
  body["reason"] = *reason;
  body["require_password_reset"] = args.has("require-password-reset");
  auto r = ctx.call("POST", account_path(args.positional[0]) + "/lock", &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  print_account(ctx.out, ctx.zone, r->value);
  return kExitOk;
}

int cmd_account_unlock(Context& ctx, const Args& args) {
  json::object body;
  if (auto note = args.get("note")) body["note"] = *note;
  auto r = ctx.call("POST", account_path(args.positional[0]) + "/unlock", &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  print_account(ctx.out, ctx.zone, r->value);
  return kExitOk;
}

// -- activity

std::string success_text(const json::value* v) {
  if (v && v->is_bool()) return v->get_bool() ? "ok" : "failed";
  return text(v);
}

int cmd_activity(Context& ctx, const Args& args) {
  const std::string& name = args.positional[0];
  std::string query;
  if (auto since = args.get("since")) query += "since=" + percent_encode(*since);
  if (auto limit = args.get("limit")) {
    auto n = parse_positive_int(*limit);
    if (!n) return ctx.usage_error("--limit: " + n.error().message);
    query += std::string(query.empty() ? "" : "&") + "limit=" + std::to_string(*n);
  }
  auto r = ctx.call("GET", account_path(name) + "/activity" + (query.empty() ? "" : "?" + query));
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;

  Table table({"time", "type", "success", "action", "reasons", "ip", "country", "city", "protocol",
               "device", "user agent"});
  table.set_max_width(4, 40);
  table.set_max_width(7, 20);
  table.set_max_width(9, 20);
  table.set_max_width(10, 40);
  for (const json::value& e : array_or_empty(field(r->value, "events"))) {
    table.add_row({when(ctx.zone, field(e, "time")), text(field(e, "type")),
                   success_text(field(e, "success")), text(field(e, "action")),
                   text(field(e, "reasons")), text(field(e, "ip")), text(field(e, "country")),
                   text(field(e, "city")), text(field(e, "protocol")), text(field(e, "device_id")),
                   text(field(e, "user_agent"))});
  }
  print_table(ctx.out, table, "No activity for " + sanitize_for_terminal(name) + ".");
  return kExitOk;
}

// -- incidents and blocks

std::vector<std::pair<std::string, std::string>> incident_fields(const LocalTime& zone,
                                                                 const json::value& i) {
  return {
      {"incident", text(field(i, "id"))},
      {"kind", text(field(i, "kind"))},
      {"started", when(zone, field(i, "started"))},
      {"last seen", when(zone, field(i, "last_seen"))},
      {"sources", text(field(i, "sources"))},
      {"accounts targeted", text(field(i, "accounts_targeted"))},
      {"accounts compromised", text(field(i, "accounts_compromised"))},
  };
}

int cmd_incidents(Context& ctx, const Args& args) {
  if (!args.positional.empty()) {
    if (args.has("since")) return ctx.usage_error("--since applies to the incident list only");
    auto r = ctx.call("GET", "/v1/incidents/" + percent_encode(args.positional[0]) + "/accounts");
    if (!r) return ctx.fail(r.error());
    if (ctx.print_json(*r)) return kExitOk;
    if (const json::value* incident = field(r->value, "incident")) {
      ctx.out << render_fields(incident_fields(ctx.zone, *incident)) << "\n";
    }
    Table table({"account", "first seen", "last seen", "login succeeded"});
    for (const json::value& a : array_or_empty(field(r->value, "accounts"))) {
      table.add_row({text(field(a, "account")), when(ctx.zone, field(a, "first_seen")),
                     when(ctx.zone, field(a, "last_seen")), text(field(a, "login_succeeded"))});
    }
    print_table(ctx.out, table, "No accounts recorded.");
    return kExitOk;
  }

  std::string target = "/v1/incidents";
  if (auto since = args.get("since")) target += "?since=" + percent_encode(*since);
  auto r = ctx.call("GET", target);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  Table table({"id", "kind", "started", "last seen", "sources", "targeted", "compromised"});
  for (const json::value& i : array_or_empty(field(r->value, "incidents"))) {
    table.add_row({text(field(i, "id")), text(field(i, "kind")), when(ctx.zone, field(i, "started")),
                   when(ctx.zone, field(i, "last_seen")), first_few(field(i, "sources"), 3),
                   text(field(i, "accounts_targeted")), text(field(i, "accounts_compromised"))});
  }
  print_table(ctx.out, table, "No incidents.");
  return kExitOk;
}

int cmd_incident_notify_owners(Context& ctx, const Args& args) {
  json::object body;
  auto r = ctx.call(
      "POST", "/v1/incidents/" + percent_encode(args.positional[0]) + "/notify-owners", &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  ctx.out << render_fields({
                 {"incident", text(field(r->value, "incident_id"))},
                 {"told: password used", text(field(r->value, "compromised_notified"))},
                 {"told: tried only", text(field(r->value, "targeted_notified"))},
                 {"told before", text(field(r->value, "already_notified"))},
                 {"no address", text(field(r->value, "no_address"))},
             })
          << "\n";
  return kExitOk;
}

int cmd_unblock(Context& ctx, const Args& args) {
  json::object body;
  if (auto note = args.get("note")) body["note"] = *note;
  auto r = ctx.call("DELETE",
                    "/v1/blocked/" + percent_encode(args.positional[0]) + "/" +
                        percent_encode(args.positional[1]),
                    body.empty() ? nullptr : &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  ctx.out << "Lifted the block " << sanitize_for_terminal(args.positional[0]) << " "
          << sanitize_for_terminal(args.positional[1]) << ".\n";
  return kExitOk;
}

std::string incident_path(const std::string& id) { return "/v1/incidents/" + percent_encode(id); }

int cmd_incident_close(Context& ctx, const Args& args) {
  json::object body;
  if (auto note = args.get("note")) body["note"] = *note;
  auto r = ctx.call("POST", incident_path(args.positional[0]) + "/close",
                    body.empty() ? nullptr : &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  ctx.out << "Closed incident " << sanitize_for_terminal(args.positional[0]) << " ("
          << when(ctx.zone, field(r->value, "closed")) << ").\n";
  return kExitOk;
}

int cmd_incident_export(Context& ctx, const Args& args) {
  auto r = ctx.call_text("GET", incident_path(args.positional[0]) + "/accounts.csv", std::nullopt,
                         "application/json", false);
  if (!r) return ctx.fail(r.error());
  if (auto path = args.get("output")) {
    std::ofstream f(*path, std::ios::binary | std::ios::trunc);
    if (!(f << r->raw) || !f.flush())
      return ctx.fail(make_error("usage", "cannot write " + *path + ": " + std::strerror(errno)));
    return kExitOk;
  }
  ctx.out << r->raw;
  return kExitOk;
}

int cmd_incident_require_reset(Context& ctx, const Args& args) {
  json::object body;
  if (auto note = args.get("note")) body["note"] = *note;
  auto r = ctx.call("POST", incident_path(args.positional[0]) + "/require-reset",
                    body.empty() ? nullptr : &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  ctx.out << "Locked " << text(field(r->value, "locked"))
          << " compromised accounts with a password reset required ("
          << text(field(r->value, "already_locked")) << " were already).\n";
  return kExitOk;
}

int cmd_senders(Context& ctx, const Args& args) {
  std::string target = "/v1/mail/senders";
  if (auto limit = args.get("limit")) {
    auto n = parse_positive_int(*limit);
    if (!n) return ctx.usage_error("--limit: " + n.error().message);
    target += "?limit=" + std::to_string(*n);
  }
  auto r = ctx.call("GET", target);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  Table table({"account", "recipients/hour", "recipients/day", "deferred/hour", "locked"});
  for (const json::value& e : array_or_empty(field(r->value, "senders")))
    table.add_row({text(field(e, "account")), text(field(e, "recipients_hour")),
                   text(field(e, "recipients_day")), text(field(e, "deferred_hour")),
                   text(field(e, "locked"))});
  print_table(ctx.out, table, "No mail senders in the last hour.");
  return kExitOk;
}

int cmd_senders_release(Context& ctx, const Args& args) {
  json::object body;
  if (auto note = args.get("note")) body["note"] = *note;
  auto r = ctx.call("POST", "/v1/mail/senders/" + percent_encode(args.positional[0]) + "/release",
                    body.empty() ? nullptr : &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  ctx.out << "Released the send quota of " << sanitize_for_terminal(args.positional[0]) << ".\n";
  return kExitOk;
}

int cmd_audit(Context& ctx, const Args& args) {
  std::string query;
  auto add = [&](std::string_view name, const std::string& v) {
    query += std::string(query.empty() ? "" : "&") + std::string(name) + "=" + percent_encode(v);
  };
  for (std::string_view name : {"since", "until", "actor", "action", "target", "before"})
    if (auto v = args.get(std::string(name))) add(name, *v);
  if (auto limit = args.get("limit")) {
    auto n = parse_positive_int(*limit);
    if (!n) return ctx.usage_error("--limit: " + n.error().message);
    add("limit", std::to_string(*n));
  }
  auto r = ctx.call("GET", "/v1/audit" + (query.empty() ? "" : "?" + query));
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  Table table({"time", "actor", "action", "target", "note", "details"});
  table.set_max_width(3, 40);
  table.set_max_width(4, 40);
  table.set_max_width(5, 60);
  for (const json::value& e : array_or_empty(field(r->value, "entries"))) {
    const json::value* details = field(e, "details");
    table.add_row({when(ctx.zone, field(e, "time")),
                   text(field(e, "actor")) + " (" + text(field(e, "actor_kind")) + ")",
                   text(field(e, "action")), text(field(e, "target")), text(field(e, "note"), ""),
                   details ? sanitize_for_terminal(json::serialize(*details)) : "-"});
  }
  print_table(ctx.out, table, "No operator actions recorded.");
  if (const json::value* next = field(r->value, "next"); next && next->is_string())
    ctx.out << "More: --before " << sanitize_for_terminal(text(next)) << "\n";
  return kExitOk;
}

// A password for a new operator: the first line of `file`, or typed twice
// on the terminal without echo.
Result<std::string> operator_password(const std::optional<std::string>& file) {
  if (file) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) return make_error("usage", "--password-file " + *file + ": " + std::strerror(errno));
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0)
    return make_error("usage", "no terminal to ask the password on: give --password-file FILE");
  auto ask = [tty](std::string_view prompt) {
    (void)!::write(tty, prompt.data(), prompt.size());
    termios old{};
    const bool restore = ::tcgetattr(tty, &old) == 0;
    if (restore) {
      termios quiet = old;
      quiet.c_lflag &= ~tcflag_t(ECHO);
      ::tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    std::string line;
    char ch;
    while (::read(tty, &ch, 1) == 1 && ch != '\n') line.push_back(ch);
    if (restore) ::tcsetattr(tty, TCSAFLUSH, &old);
    (void)!::write(tty, "\n", 1);
    return line;
  };
  std::string first = ask("Password for the operator: ");
  std::string second = ask("Again: ");
  ::close(tty);
  if (first != second) return make_error("usage", "the two passwords differ");
  return first;
}

// Prints a new TOTP secret to enter into the operator's authenticator app.
void print_operator_totp(Context& ctx, const Reply& r, std::string_view what) {
  ctx.out << what << "\n\nAdd this to the operator's authenticator app (shown once):\n  "
          << sanitize_for_terminal(text(field(r.value, "totp_uri"))) << "\nor enter the key:\n  "
          << sanitize_for_terminal(text(field(r.value, "totp_secret"))) << "\n";
}

int cmd_operator_add(Context& ctx, const Args& args) {
  auto password = operator_password(args.get("password-file"));
  if (!password) return ctx.usage_error(password.error().message);
  json::object body;
  body["name"] = args.positional[0];
  body["password"] = *password;
  auto r = ctx.call("POST", "/v1/operators", &body);
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  print_operator_totp(ctx, *r,
                      "Added operator " + sanitize_for_terminal(args.positional[0]) +
                          ": signs in to the console with the password and a TOTP code.");
  return kExitOk;
}

int cmd_operator_list(Context& ctx, const Args&) {
  auto r = ctx.call("GET", "/v1/operators");
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  Table table({"name", "created", "last sign-in"});
  for (const json::value& o : array_or_empty(field(r->value, "operators")))
    table.add_row({text(field(o, "name")), when(ctx.zone, field(o, "created")),
                   when(ctx.zone, field(o, "last_sign_in"))});
  print_table(ctx.out, table, "No operator accounts.");
  return kExitOk;
}

int cmd_operator_remove(Context& ctx, const Args& args) {
  auto r = ctx.call_text("DELETE", "/v1/operators/" + percent_encode(args.positional[0]),
                         std::nullopt, "application/json", false);
  if (!r) return ctx.fail(r.error());
  ctx.out << "Removed operator " << sanitize_for_terminal(args.positional[0])
          << "; its console sessions have ended.\n";
  return kExitOk;
}

int cmd_operator_reset_totp(Context& ctx, const Args& args) {
  auto r = ctx.call("POST", "/v1/operators/" + percent_encode(args.positional[0]) + "/totp-reset");
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;
  print_operator_totp(ctx, *r,
                      "New TOTP secret for operator " + sanitize_for_terminal(args.positional[0]) +
                          "; the old one no longer works and its sessions have ended.");
  return kExitOk;
}

int cmd_blocked(Context& ctx, const Args&) {
  auto r = ctx.call("GET", "/v1/blocked");
  if (!r) return ctx.fail(r.error());
  if (ctx.print_json(*r)) return kExitOk;

  Table blocks({"scope", "target", "reason", "action", "since", "until", "incident"});
  for (const json::value& b : array_or_empty(field(r->value, "blocks"))) {
    blocks.add_row({text(field(b, "scope")), text(field(b, "target")), text(field(b, "reason")),
                    text(field(b, "action")), when(ctx.zone, field(b, "since")),
                    when(ctx.zone, field(b, "until")),
                    text(field(b, "incident_id"))});
  }
  Table locked({"account", "reason", "since", "password reset"});
  locked.set_max_width(1, 48);
  for (const json::value& a : array_or_empty(field(r->value, "locked_accounts"))) {
    locked.add_row({text(field(a, "account")), text(field(a, "reason")), when(ctx.zone, field(a, "since")),
                    text(field(a, "password_reset_required"))});
  }
  ctx.out << "Blocks:\n";
  print_table(ctx.out, blocks, "none");
  ctx.out << "\nLocked accounts:\n";
  print_table(ctx.out, locked, "none");
  return kExitOk;
}

// ---- the command table and dispatch -----------------------------------------

const std::vector<FlagSpec> kGlobalFlags = {
    {"server", true}, {"token", true}, {"json", false}, {"tz", true},  {"help", false},
    {"version", false}, {"ca", true},  {"cert", true}, {"key", true},
};

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"status",
       "status",
       "Shows GET /healthz and GET /v1/status: version, uptime, hot-state memory and\n"
       "how many blocks, locked accounts, list entries and open incidents there are.\n"
       "With --json prints {\"healthz\": ..., \"status\": ...} holding both answers.\n",
       {},
       0,
       0,
       cmd_status},
      {"lists ls",
       "lists ls [--kind allow|deny] [--search TEXT]",
       "Lists allow and deny entries (both unless --kind is given). EXPIRES is\n"
       "'never' for entries without a time to live. --search shows only the entries\n"
       "whose target or reason contains TEXT (ASCII letters in any case).\n",
       {{"kind", true}, {"search", true}},
       0,
       0,
       cmd_lists_ls},
      {"lists add",
       "lists add allow|deny TARGET [--reason TEXT] [--ttl DURATION]",
       "Adds an allow or deny entry and prints it. TARGET is an IP address\n"
       "(203.0.113.5), a CIDR (198.51.100.0/24, 2001:db8::/32), account:NAME or\n"
       "country:CC. --ttl makes the entry expire: a number with a unit s, m, h, d or w\n"
       "(90s, 10m, 1h, 7d, 1h30m); without it the entry stays until removed.\n",
       {{"reason", true}, {"ttl", true}},
       2,
       2,
       cmd_lists_add},
      {"lists rm",
       "lists rm ID [--note TEXT]",
       "Deletes the list entry with this ID (see 'mamori lists ls'). --note is kept\n"
       "in the audit log with the removal.\n",
       {{"note", true}},
       1,
       1,
       cmd_lists_rm},
      {"lists import",
       "lists import FILE|- [--note TEXT]",
       "Adds many entries at once from a CSV file (- reads standard input), one\n"
       "entry a line: kind,target[,reason[,ttl_s]] (RFC 4180 quoting; a header line\n"
       "kind,target,reason,ttl_s, blank lines and lines starting with # are skipped).\n"
       "Every line is checked first: a bad one is reported with its line number and\n"
       "nothing is added. At most 10,000 entries (and the server's body limit).\n",
       {{"note", true}},
       1,
       1,
       cmd_lists_import},
      {"account show",
       "account show NAME",
       "Shows an account: status, lock, second factor, contact, last login,\n"
       "countries and devices. Of an account mamorid has recorded nothing about it\n"
       "says that it was never seen (--json: \"known\": false).\n",
       {},
       1,
       1,
       cmd_account_show},
      {"account lock",
       "account lock NAME --reason TEXT [--require-password-reset]",
       "Locks an account: its logins are denied until it is unlocked (or, with\n"
       "--require-password-reset, until the app reports a password change).\n",
       {{"reason", true}, {"require-password-reset", false}},
       1,
       1,
       cmd_account_lock},
      {"account unlock",
       "account unlock NAME [--note TEXT]",
       "Unlocks an account and lifts the engine's blocks and send throttles on it.\n"
       "--note is kept with the unlock for the record.\n",
       {{"note", true}},
       1,
       1,
       cmd_account_unlock},
      {"activity",
       "activity NAME [--since RFC3339] [--limit N]",
       "Shows an account's recorded events, newest first: login results, account\n"
       "events and login attempts that were not allowed. --since takes an RFC 3339\n"
       "time (2024-05-01T00:00:00Z); --limit caps the number (server default 100).\n",
       {{"since", true}, {"limit", true}},
       1,
       1,
       cmd_activity},
      {"incidents",
       "incidents [ID] [--since RFC3339]",
       "Without ID lists incidents, newest first (--since: only those seen since\n"
       "then). With ID shows that incident and every account it touched, with\n"
       "whether a login from the incident's sources succeeded.\n",
       {{"since", true}},
       0,
       1,
       cmd_incidents},
      {"incident notify-owners",
       "incident notify-owners ID",
       "Queues a notice to the owner of every account the incident touched, in\n"
       "their language: \"your password was used from an address that attacked\n"
       "many accounts\" where a login from its sources succeeded, \"someone tried\n"
       "to log in to your account\" where every try failed. Once per incident and\n"
       "account: running it again tells only owners not told before (accounts\n"
       "that had no address then).\n",
       {},
       1,
       1,
       cmd_incident_notify_owners},
      {"unblock",
       "unblock SCOPE TARGET [--note TEXT]",
       "Lifts a block the engine set on its own, before its end: SCOPE and TARGET as\n"
       "'mamori blocked' shows them (ip 203.0.113.5, account_ip 'alice|203.0.113.5',\n"
       "network 203.0.113.0/24). The lift is recorded in the audit log with --note.\n",
       {{"note", true}},
       2,
       2,
       cmd_unblock},
      {"incident close",
       "incident close ID [--note TEXT]",
       "Closes an incident: it stops collecting accounts (a new wave from its\n"
       "sources opens a new one). Closing a closed incident changes nothing.\n",
       {{"note", true}},
       1,
       1,
       cmd_incident_close},
      {"incident export",
       "incident export ID [--output FILE]",
       "Writes the accounts an incident touched as CSV (RFC 4180): incident, kind,\n"
       "account, first_seen, last_seen, login_succeeded. To standard output unless\n"
       "--output is given.\n",
       {{"output", true}},
       1,
       1,
       cmd_incident_export},
      {"incident require-reset",
       "incident require-reset ID [--note TEXT]",
       "Locks every account of the incident whose login succeeded (compromised),\n"
       "with a password reset required, and tells their owners. Accounts already\n"
       "locked so are left as they are: running it again changes nothing.\n",
       {{"note", true}},
       1,
       1,
       cmd_incident_require_reset},
      {"senders ls",
       "senders ls [--limit N]",
       "Shows the SMTP AUTH accounts using their send quota: recipients in the last\n"
       "hour and day, sends deferred over quota in the last hour, and whether the\n"
       "account is locked; most recipients first.\n",
       {{"limit", true}},
       0,
       0,
       cmd_senders},
      {"senders release",
       "senders release NAME [--note TEXT]",
       "Releases an account's send quota: its counts start afresh (the owner has\n"
       "cleaned up). Recorded in the audit log with --note.\n",
       {{"note", true}},
       1,
       1,
       cmd_senders_release},
      {"audit",
       "audit [--since RFC3339] [--until RFC3339] [--actor NAME] [--action WORD]\n"
       "             [--target TARGET] [--limit N] [--before ID]",
       "Shows the operators' actions, newest first: who (a token's or operator's\n"
       "name), when, what, on what, the note and the details. --target takes\n"
       "account:NAME, an IP or network, incident:ID, ... as the log shows it. When\n"
       "more are left it prints the --before ID of the next page.\n",
       {{"since", true},
        {"until", true},
        {"actor", true},
        {"action", true},
        {"target", true},
        {"limit", true},
        {"before", true}},
       0,
       0,
       cmd_audit},
      {"operator add",
       "operator add NAME [--password-file FILE]",
       "Adds an operator account for the console: NAME (1-32 of a-z, 0-9, '-', '_',\n"
       "'.') signs in with a password (12 bytes at least; typed twice without echo,\n"
       "or the first line of FILE) and a TOTP code. Prints the otpauth:// URI and\n"
       "the key for the operator's authenticator app, shown this once.\n",
       {{"password-file", true}},
       1,
       1,
       cmd_operator_add},
      {"operator list",
       "operator list",
       "Shows the console's operator accounts: name, created, last sign-in.\n",
       {},
       0,
       0,
       cmd_operator_list},
      {"operator remove",
       "operator remove NAME",
       "Removes an operator account; its console sessions end.\n",
       {},
       1,
       1,
       cmd_operator_remove},
      {"operator reset-totp",
       "operator reset-totp NAME",
       "Gives an operator a new TOTP secret (a lost phone): the old codes stop\n"
       "working, its console sessions end, and the new URI and key are printed.\n",
       {},
       1,
       1,
       cmd_operator_reset_totp},
      {"blocked",
       "blocked",
       "Shows what the engine blocks on its own now (IPs, networks, account/IP\n"
       "pairs, password hashes; why and until when) and the locked accounts.\n",
       {},
       0,
       0,
       cmd_blocked},
  };
  return kCommands;
}

const Command* find_command(std::string_view name) {
  for (const Command& c : commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool is_group(std::string_view word) {
  return word == "lists" || word == "account" || word == "incident" || word == "senders" ||
         word == "operator";
}

// The command name closest to a mistyped `name` (edit distance), for a
// "did you mean" hint; empty when nothing is close.
std::string closest_command(std::string_view name) {
  std::vector<std::string_view> names;
  for (const Command& c : commands()) names.push_back(c.name);
  for (std::string_view extra :
       {"lists", "account", "incident", "operator", "help", "pwned import"})
    names.push_back(extra);
  return closest_word(name, names);
}

std::string_view group_help(std::string_view word) {
  if (word == "incident") return kIncidentHelp;
  if (word == "senders") return kSendersHelp;
  if (word == "operator") return kOperatorHelp;
  return word == "lists" ? kListsHelp : kAccountHelp;
}

void print_command_help(std::ostream& out, const Command& c) {
  out << "usage: mamori " << c.usage << "\n\n"
      << c.help << "\nGlobal options --server, --token and --json apply; see 'mamori --help'.\n";
}

int general_usage_error(std::ostream& err, const std::string& message) {
  err << "mamori: " << message
      << "\nusage: mamori [--server URL] [--token TOKEN] [--json] COMMAND [ARGS...]\n"
         "Run 'mamori --help' for the commands.\n";
  return kExitUsage;
}

bool asks_for_help(std::span<const std::string> args) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

// `mamori help [WORDS...]`
int run_help(std::span<const std::string> words, std::ostream& out, std::ostream& err) {
  if (words.empty()) {
    out << kMainHelp;
    return kExitOk;
  }
  std::string name = words[0];
  if (words.size() > 1) name += " " + words[1];
  if (const Command* c = find_command(name)) {
    print_command_help(out, *c);
    return kExitOk;
  }
  if (is_group(words[0]) && words.size() == 1) {
    out << group_help(words[0]);
    return kExitOk;
  }
  const std::string near = closest_command(name);
  return general_usage_error(err, "no help for unknown command '" + sanitize_for_terminal(name) +
                                      "'" + (near.empty() ? "" : "; did you mean '" + near + "'?"));
}

}  // namespace

int run_cli(std::span<const std::string> args, const Environment& env, std::ostream& out,
            std::ostream& err) {
  auto leading = parse_args(args, kGlobalFlags, /*stop_at_positional=*/true);
  if (!leading) return general_usage_error(err, leading.error().message);
  if (leading->has("version")) {
    out << "mamori " << MAMORI_VERSION << "\n";
    return kExitOk;
  }
  const std::vector<std::string>& words = leading->positional;
  if (leading->has("help")) return run_help(words, out, err);
  if (words.empty()) return general_usage_error(err, "no command given");
  if (words[0] == "help" && words.size() >= 2 && words[1] == "pwned") {
    const std::string help[] = {"--help"};
    return run_pwned(help, out, err);
  }
  if (words[0] == "help" && words.size() >= 2 && words[1] == "logs") {
    const std::string help[] = {"--help"};
    return run_logs(help, out, err);
  }
  if (words[0] == "help" && words.size() >= 2 &&
      (words[1] == "backup" || words[1] == "restore" || words[1] == "db" || words[1] == "store")) {
    const std::string help[] = {"--help"};
    if (words[1] == "store") return run_store(help, out, err);
    if (words[1] == "backup") return run_backup(help, out, err);
    return words[1] == "restore" ? run_restore(help, out, err) : run_db(help, out, err);
  }
  if (words[0] == "help") return run_help(std::span(words).subspan(1), out, err);
  if (words[0] == "pwned") return run_pwned(std::span(words).subspan(1), out, err);
  if (words[0] == "logs") return run_logs(std::span(words).subspan(1), out, err);
  // The data dir's maintenance: local files, no server.
  if (words[0] == "backup") return run_backup(std::span(words).subspan(1), out, err);
  if (words[0] == "restore") return run_restore(std::span(words).subspan(1), out, err);
  if (words[0] == "db") return run_db(std::span(words).subspan(1), out, err);
  if (words[0] == "store") return run_store(std::span(words).subspan(1), out, err);

  // Find the command: one word, or a group word and a subcommand.
  std::string name = words[0];
  std::size_t used = 1;
  if (is_group(words[0])) {
    if (words.size() < 2 || words[1] == "--help" || words[1] == "-h") {
      if (words.size() >= 2) {
        out << group_help(words[0]);
        return kExitOk;
      }
      err << "mamori: '" << words[0] << "' needs a subcommand\n" << group_help(words[0]);
      return kExitUsage;
    }
    if (words[1].starts_with("-")) {
      err << "mamori: '" << words[0] << "' needs a subcommand before options\n"
          << group_help(words[0]);
      return kExitUsage;
    }
    name += " " + words[1];
    used = 2;
  }
  const Command* command = find_command(name);
  if (command == nullptr) {
    // "lists sl": a known group with an unknown subcommand; "stauts": an unknown word.
    const std::string near = closest_command(name);
    return general_usage_error(err, "unknown command '" + sanitize_for_terminal(name) + "'" +
                                        (near.empty() ? "" : "; did you mean '" + near + "'?"));
  }

  std::span<const std::string> rest = std::span(words).subspan(used);
  std::vector<FlagSpec> specs = command->flags;
  specs.insert(specs.end(), kGlobalFlags.begin(), kGlobalFlags.end());
  auto parsed = parse_args(rest, specs);
  if (!parsed || parsed->has("help")) {
    if (parsed || asks_for_help(rest)) {
      print_command_help(out, *command);
      return kExitOk;
    }
  }
  const auto usage_error = [&](const std::string& message) {
    err << "mamori: " << sanitize_for_terminal(message) << "\nusage: mamori " << command->usage
        << "\nRun 'mamori " << command->name << " --help' for more.\n";
    return kExitUsage;
  };
  if (!parsed) return usage_error(parsed.error().message);
  if (parsed->has("version")) {
    out << "mamori " << MAMORI_VERSION << "\n";
    return kExitOk;
  }
  const std::size_t n = parsed->positional.size();
  if (n < command->min_positional) return usage_error("missing arguments");
  if (n > command->max_positional) {
    return usage_error("unexpected argument '" + parsed->positional[command->max_positional] + "'");
  }

  // Options after the command win over those before it, which win over the environment.
  const auto option = [&](std::string_view key, const std::optional<std::string>& fallback) {
    if (auto v = parsed->get(key)) return v;
    if (auto v = leading->get(key)) return v;
    return fallback;
  };
  const std::string server_text = option("server", env.server).value_or(kDefaultServer);
  auto server = parse_server_url(server_text);
  if (!server) {
    err << "mamori: " << sanitize_for_terminal(server.error().message) << "\n";
    return kExitUsage;
  }
  const std::string token = option("token", env.token).value_or("");
  const bool json_output = leading->has("json") || parsed->has("json");
  TlsClientOptions tls;
  tls.ca_file = option("ca", env.ca).value_or("");
  tls.cert_file = option("cert", env.cert).value_or("");
  tls.key_file = option("key", env.key).value_or("");
  if (server->tls) {
    if (tls.cert_file.empty() != tls.key_file.empty()) {
      err << "mamori: --cert and --key (MAMORI_CERT, MAMORI_KEY) go together\n";
      return kExitUsage;
    }
    for (const std::string* file : {&tls.ca_file, &tls.cert_file, &tls.key_file}) {
      if (file->empty()) continue;
      std::ifstream in(*file);
      if (!in) {
        err << "mamori: cannot read " << sanitize_for_terminal(*file) << ": "
            << std::strerror(errno) << "\n";
        return kExitUsage;
      }
    }
  } else if (option("ca", {}) || option("cert", {}) || option("key", {})) {
    err << "mamori: --ca, --cert and --key are for an https:// server, not "
        << sanitize_for_terminal(server->to_string()) << "\n";
    return kExitUsage;
  }

  LocalTime zone;
  if (auto tz = option("tz", std::nullopt)) {
    auto z = LocalTime::for_zone(*tz);
    if (!z) return usage_error("--tz: " + z.error().message);
    zone = *z;
  } else if (env.tz) {
    // A TZ the tz database does not know (a POSIX rule such as "JST-9"): UTC.
    if (auto z = LocalTime::for_zone(*env.tz)) zone = *z;
  }

  Context ctx(*command, std::move(*server), token, std::move(tls), json_output, zone, out, err);
  return command->handler(ctx, *parsed);
}

}  // namespace mamori::cli
