#include "protocols/logs/log_format.h"

#include <re2/re2.h>

#include <array>
#include <charconv>
#include <map>
#include <optional>

#include "protocols/logs/pattern_set.h"
#include "protocols/logs/send_join.h"
#include "protocols/logs/stock_patterns.h"

namespace mamori::logs {

std::string_view to_string(LineKind k) {
  switch (k) {
    case LineKind::kNone:
      return "none";
    case LineKind::kLogin:
      return "login";
    case LineKind::kNoAccount:
      return "no_account";
    case LineKind::kBadTime:
      return "bad_time";
    case LineKind::kCounted:
      return "counted";
    case LineKind::kSend:
      return "send";
  }
  return "none";
}

namespace {

// The IP address at `s[i]`: up to a comma, space or the end.
std::string_view ip_at(std::string_view s, std::size_t i) {
  if (i >= s.size()) return {};
  const std::size_t end = s.find_first_of(", ]", i);
  return s.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
}

// ---- dovecot, postfix, sshd ----------------------------------------------------

// Shares its compiled patterns between the instances of one format.
std::shared_ptr<const PatternSet> compiled(std::string_view format) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const PatternSet>, std::less<>> sets;
  std::lock_guard lock(mu);
  auto it = sets.find(format);
  if (it != sets.end()) return it->second;
  std::vector<std::string> regexes;
  for (const StockPattern& p : stock_patterns(format)) regexes.emplace_back(p.regex);
  auto set = PatternSet::compile(regexes);
  if (!set) throw std::logic_error("stock pattern: " + set.error().message);
  sets.emplace(std::string(format), *set);
  return *set;
}

class StockFormat final : public LogFormat {
 public:
  StockFormat(std::string name, const Clock& clock, std::string protocol, bool time_read)
      : LogFormat(name),
        patterns_(stock_patterns(name)),
        clock_(clock),
        times_(clock),
        protocol_(std::move(protocol)),
        time_read_(time_read) {}

  LineKind parse_line(std::string_view line, LoginLine& out) override {
    TimePoint t;
    const std::size_t n = times_.parse_prefix(line, t);
    if (n == 0 && time_read_) t = clock_.now();
    const bool timed = n > 0 || time_read_;
    const LineKind k = parse(line.substr(n), timed ? &t : nullptr, out);
    if (k == LineKind::kNone || k == LineKind::kCounted) return k;
    if (!timed) return LineKind::kBadTime;
    out.time = t;
    return k;
  }

  LineKind parse_message(std::string_view message, TimePoint time, LoginLine& out) override {
    const LineKind k = parse(message, &time, out);
    out.time = time;
    return k;
  }

  std::uint64_t sends_dropped() const override { return sends_.dropped(); }

 private:
  // `time`: the line's, or none when it has none (then no half of a send is
  // kept).
  LineKind parse(std::string_view text, const TimePoint* time, LoginLine& out) {
    std::size_t end = 0;
    if (!scanner_) scanner_.emplace(compiled(name()));  // at the first line, not at start
    const int id = scanner_->first(text, end);
    if (id < 0) return LineKind::kNone;
    const StockPattern& p = patterns_[std::size_t(id)];
    out = LoginLine{};
    out.protocol = protocol_.empty() ? p.protocol : std::string_view(protocol_);
    switch (p.line) {
      case StockLine::kDovecotLogin:
        out.success = true;
        return dovecot(text, end, out);
      case StockLine::kDovecotAuthFailed: {
        int attempts = 0;
        std::size_t i = end;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && attempts < 1000)
          attempts = attempts * 10 + (text[i++] - '0');
        out.attempts = attempts > 0 ? attempts : 1;
        return dovecot(text, end, out);
      }
      case StockLine::kPostfixSaslFailed: {
        const std::size_t close = text.rfind("]: SASL ", end);
        const std::size_t open = close == std::string_view::npos ? close : text.rfind('[', close);
        if (open == std::string_view::npos) return LineKind::kNone;
        out.ip = text.substr(open + 1, close - open - 1);
        const std::size_t user = text.rfind(", sasl_username=");
        if (user == std::string_view::npos || user < end) return LineKind::kNoAccount;
        out.account = text.substr(user + 16);
        return out.account.empty() ? LineKind::kNoAccount : LineKind::kLogin;
      }
      case StockLine::kPostfixSaslClient: {
        const std::size_t client = text.rfind(": client=", end);
        const std::size_t open = client == std::string_view::npos ? client : text.find('[', client);
        const std::size_t close = open == std::string_view::npos ? open : text.find(']', open);
        if (close == std::string_view::npos || close > end) return LineKind::kNone;
        out.ip = text.substr(open + 1, close - open - 1);
        std::string_view name = text.substr(end);
        if (const std::size_t s = name.rfind(", sasl_sender="); s != std::string_view::npos)
          name = name.substr(0, s);
        out.account = name;
        out.success = true;
        if (name.empty()) return LineKind::kNoAccount;
        if (time) {
          if (auto sent = sends_.on_client(queue_id(text, client), name, out.ip, *time))
            out.sent_recipients = sent->recipients;
        }
        return LineKind::kLogin;
      }
      case StockLine::kPostfixQueueActive: {
        // "ID: from=<SENDER>, size=N, nrcpt=K (queue active)": read from the
        // end (a sender's address may hold anything).
        constexpr std::string_view kActive = " (queue active)";
        if (!text.ends_with(kActive)) return LineKind::kNone;
        const std::size_t nrcpt = text.rfind(", nrcpt=");
        if (nrcpt == std::string_view::npos || nrcpt < end) return LineKind::kNone;
        std::uint32_t count = 0;
        const char* first = text.data() + nrcpt + 8;
        const char* last = text.data() + text.size() - kActive.size();
        auto [ptr, ec] = std::from_chars(first, last, count);
        if (ec != std::errc() || ptr != last || count == 0) return LineKind::kNone;
        if (!time) return LineKind::kBadTime;
        const std::size_t from = text.find(": from=<");
        auto sent = sends_.on_recipients(queue_id(text, from), count, *time);
        if (!sent) return LineKind::kNone;
        joined_account_ = std::move(sent->account);
        joined_ip_ = std::move(sent->ip);
        out.account = joined_account_;
        out.ip = joined_ip_;
        out.success = true;
        out.sent_recipients = sent->recipients;
        return LineKind::kSend;
      }
      case StockLine::kSshdFailed:
      case StockLine::kSshdInvalidUser:
      case StockLine::kSshdAccepted: {
        std::string_view rest = text.substr(end);
        if (p.line == StockLine::kSshdFailed && rest.starts_with("invalid user "))
          return LineKind::kCounted;  // at its "Invalid user" line
        // The name as the client sent it may hold " from ": the last one is sshd's.
        const std::size_t from = rest.rfind(" from ");
        if (from == std::string_view::npos) return LineKind::kNone;
        out.account = rest.substr(0, from);
        out.ip = rest.substr(from + 6, rest.find(' ', from + 6) - (from + 6));
        out.success = p.line == StockLine::kSshdAccepted;
        return out.account.empty() ? LineKind::kNoAccount : LineKind::kLogin;
      }
    }
    return LineKind::kNone;
  }

  // Postfix's queue id: the word before `colon` (": client=", ": from=<").
  static std::string_view queue_id(std::string_view text, std::size_t colon) {
    const std::size_t space = text.rfind(' ', colon);
    const std::size_t start = space == std::string_view::npos ? 0 : space + 1;
    return text.substr(start, colon - start);
  }

  // Dovecot's login fields "user=<NAME>, method=M, rip=IP, lip=IP, ...": the
  // address is the last ", rip=" (a name may imitate one), the name runs to
  // the last ">, " before it.
  static LineKind dovecot(std::string_view text, std::size_t end, LoginLine& out) {
    std::size_t rip = text.rfind(", rip=");
    if (rip == std::string_view::npos || rip < end) {
      rip = text.find(": rip=", end);
      if (rip == std::string_view::npos) return LineKind::kNone;
    }
    out.ip = ip_at(text, rip + 6);
    const std::size_t user = text.find("user=<", end);
    if (user == std::string_view::npos || user > rip) return LineKind::kNoAccount;
    const std::size_t close = text.rfind(">, ", rip);
    if (close == std::string_view::npos || close < user + 6) return LineKind::kNoAccount;
    out.account = text.substr(user + 6, close - user - 6);
    return out.account.empty() ? LineKind::kNoAccount : LineKind::kLogin;
  }

  std::span<const StockPattern> patterns_;
  std::optional<PatternScanner> scanner_;
  const Clock& clock_;
  LineTimes times_;
  std::string protocol_;
  bool time_read_;
  SendJoin sends_;
  std::string joined_account_, joined_ip_;  // a kSend's fields
};

// ---- nginx, apache: the combined access log ---------------------------------------

// A status's meaning: 0 not a login, 1 success, 2 failure.
using StatusTable = std::array<std::uint8_t, 600>;

Status add_statuses(const std::vector<std::string>& specs, std::uint8_t meaning,
                    std::string_view key, StatusTable& table) {
  for (const std::string& s : specs) {
    int first = 0, last = 0;
    if (s.size() == 3 && s[0] >= '1' && s[0] <= '5' && s.substr(1) == "xx") {
      first = (s[0] - '0') * 100;
      last = first + 99;
    } else if (s.size() == 3 && s[0] >= '1' && s[0] <= '5' && std::isdigit(s[1]) &&
               std::isdigit(s[2])) {
      first = last = std::stoi(s);
    } else {
      return make_error("invalid_format", std::string(key) + ": '" + s +
                                              "' is not a status (\"401\") or a class (\"4xx\")");
    }
    for (int c = first; c <= last; ++c) {
      if (table[std::size_t(c)] != 0 && table[std::size_t(c)] != meaning)
        return make_error("invalid_format", std::string(key) + ": status " + std::to_string(c) +
                                                " is both a success and a failure");
      table[std::size_t(c)] = meaning;
    }
  }
  return {};
}

class AccessLogFormat final : public LogFormat {
 public:
  AccessLogFormat(std::string name, std::string login_path, const StatusTable& statuses,
                  std::string protocol)
      : LogFormat(std::move(name)),
        login_path_(std::move(login_path)),
        statuses_(statuses),
        protocol_(protocol.empty() ? "web" : std::move(protocol)) {}

  // 203.0.113.5 - alice [10/Oct/2024:13:55:36 +0000] "POST /login HTTP/1.1" 401 12 "-" "UA"
  LineKind parse_line(std::string_view line, LoginLine& out) override {
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return LineKind::kNone;
    const std::size_t open = line.find(" [", sp1);
    const std::size_t close = open == std::string_view::npos ? open : line.find("] \"", open);
    if (close == std::string_view::npos) return LineKind::kNone;
    const std::size_t req = close + 3;
    const std::size_t req_end = line.find('"', req);
    if (req_end == std::string_view::npos) return LineKind::kNone;
    const std::string_view request = line.substr(req, req_end - req);
    if (!request.starts_with("POST ")) return LineKind::kNone;
    std::string_view path = request.substr(5);
    path = path.substr(0, path.find_first_of(" ?"));
    if (path != login_path_) return LineKind::kNone;
    // The status after the request.
    std::size_t i = req_end + 1;
    if (i + 4 > line.size() || line[i] != ' ') return LineKind::kNone;
    int status = 0;
    for (std::size_t k = i + 1; k < i + 4; ++k) {
      if (line[k] < '0' || line[k] > '9') return LineKind::kNone;
      status = status * 10 + (line[k] - '0');
    }
    if (status >= 600 || statuses_[std::size_t(status)] == 0) return LineKind::kNone;
    out = LoginLine{};
    out.success = statuses_[std::size_t(status)] == 1;
    out.protocol = protocol_;
    out.ip = line.substr(0, sp1);
    // "%h %l %u": the user is the third field; "-" when the login was not
    // HTTP authentication, and the login path stands for the account.
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    const std::string_view user = sp2 == std::string_view::npos || sp2 > open
                                      ? std::string_view("-")
                                      : line.substr(sp2 + 1, open - sp2 - 1);
    out.account = user == "-" || user.empty() ? std::string_view(login_path_) : user;
    // The user agent: the last quoted field (nginx writes '"' inside as \x22).
    if (line.size() > 2 && line.back() == '"') {
      const std::size_t ua = line.rfind('"', line.size() - 2);
      if (ua != std::string_view::npos && ua > req_end + 1) {
        out.user_agent = line.substr(ua + 1, line.size() - ua - 2);
        if (out.user_agent == "-") out.user_agent = {};
      }
    }
    if (!LineTimes::parse_common_log(line.substr(open + 2, close - open - 2), out.time))
      return LineKind::kBadTime;
    return LineKind::kLogin;
  }

  LineKind parse_message(std::string_view message, TimePoint, LoginLine& out) override {
    return parse_line(message, out);
  }

 private:
  std::string login_path_;
  StatusTable statuses_;
  std::string protocol_;
};

// ---- custom: an RE2 expression with named captures ----------------------------------

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

class CustomFormat final : public LogFormat {
 public:
  static constexpr std::string_view kSuccessWords[] = {"success",  "succeeded", "successful", "ok",
                                                       "accepted", "passed",    "true",       "1"};
  static constexpr std::string_view kFailureWords[] = {"failure",  "failed",  "fail",  "denied",
                                                       "rejected", "invalid", "false", "0"};

  CustomFormat(std::shared_ptr<const RE2> re, TimeFormat time_format, bool has_time_format,
               const Clock& clock, std::string protocol)
      : LogFormat("custom"),
        re_(std::move(re)),
        time_format_(std::move(time_format)),
        has_time_format_(has_time_format),
        clock_(clock),
        times_(clock),
        protocol_(protocol.empty() ? "web" : std::move(protocol)) {
    const auto& groups = re_->NamedCapturingGroups();
    auto index = [&](const char* name) {
      auto it = groups.find(name);
      return it == groups.end() ? -1 : it->second;
    };
    ip_ = index("ip");
    account_ = index("account");
    result_ = index("result");
    time_ = index("time");
    protocol_group_ = index("protocol");
    groups_.resize(std::size_t(re_->NumberOfCapturingGroups()) + 1);
  }

  LineKind parse_line(std::string_view line, LoginLine& out) override {
    return parse(line, nullptr, out);
  }
  LineKind parse_message(std::string_view message, TimePoint time, LoginLine& out) override {
    return parse(message, &time, out);
  }

 private:
  LineKind parse(std::string_view text, const TimePoint* given, LoginLine& out) {
    if (!re_->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED,
                    groups_.data(), int(groups_.size())))
      return LineKind::kNone;
    auto group = [&](int i) {
      if (i < 0) return std::string_view();
      const re2::StringPiece& g = groups_[std::size_t(i)];
      return std::string_view(g.data() ? g.data() : "", g.size());
    };
    const std::string_view result = group(result_);
    out = LoginLine{};
    bool known = false;
    for (std::string_view w : kSuccessWords)
      if (equals_ignoring_case(result, w)) known = out.success = true;
    for (std::string_view w : kFailureWords)
      if (equals_ignoring_case(result, w)) known = true;
    if (!known) return LineKind::kNone;
    out.ip = group(ip_);
    out.account = group(account_);
    out.protocol = protocol_group_ >= 0 && !group(protocol_group_).empty()
                       ? group(protocol_group_)
                       : std::string_view(protocol_);
    if (time_ >= 0 && !group(time_).empty()) {
      const std::string_view t = group(time_);
      bool ok;
      if (has_time_format_) {
        ok = time_format_.parse(t, times_, out.time);
      } else {
        const std::size_t n = times_.parse_prefix(t, out.time);
        ok = n > 0 && n >= t.size();
      }
      if (!ok) return LineKind::kBadTime;
    } else {
      out.time = given ? *given : clock_.now();
    }
    return out.account.empty() ? LineKind::kNoAccount : LineKind::kLogin;
  }

  std::shared_ptr<const RE2> re_;
  TimeFormat time_format_;
  bool has_time_format_;
  const Clock& clock_;
  LineTimes times_;
  std::string protocol_;
  int ip_ = -1, account_ = -1, result_ = -1, time_ = -1, protocol_group_ = -1;
  std::vector<re2::StringPiece> groups_;
};

bool valid_protocol(std::string_view p) {
  if (p.empty() || p.size() > 32) return false;
  for (char c : p)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

Result<std::unique_ptr<LogFormat>> LogFormat::make(const FormatConfig& c, const Clock& clock) {
  auto refuse = [](std::string message) {
    return make_error("invalid_format", std::move(message));
  };
  if (!c.protocol.empty() && !valid_protocol(c.protocol))
    return refuse(
        "protocol must be one lower-case word of at most 32 bytes (imap, smtp, web, ...)");
  const bool access_log = c.name == "nginx" || c.name == "apache";
  if (!access_log && !c.login_path.empty())
    return refuse("login_path is for the nginx and apache formats");
  if (c.name != "custom" && (!c.pattern.empty() || !c.time_format.empty()))
    return refuse("pattern and time_format are for the custom format");
  if (c.time_read && stock_patterns(c.name).empty())
    return refuse(
        "time = \"read\" is for the dovecot, postfix and sshd formats (an access log's lines "
        "always carry their time; a custom pattern without (?P<time>...) takes the read time "
        "already)");
  if (!stock_patterns(c.name).empty())
    return std::unique_ptr<LogFormat>(new StockFormat(c.name, clock, c.protocol, c.time_read));
  if (access_log) {
    if (c.login_path.empty() || c.login_path[0] != '/' ||
        c.login_path.find_first_of(" ?\"") != std::string::npos)
      return refuse(c.name + " needs login_path: the login URL's path, such as \"/login\"");
    StatusTable table{};
    if (Status s = add_statuses(c.success_status, 1, "success_status", table); !s) return s.error();
    if (Status s = add_statuses(c.failure_status, 2, "failure_status", table); !s) return s.error();
    return std::unique_ptr<LogFormat>(new AccessLogFormat(c.name, c.login_path, table, c.protocol));
  }
  if (c.name == "custom") {
    if (c.pattern.empty()) return refuse("custom needs pattern: a regular expression (RE2)");
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const RE2>(c.pattern, options);
    if (!re->ok()) return refuse("pattern does not compile: " + re->error());
    const auto& groups = re->NamedCapturingGroups();
    for (const char* need : {"ip", "account", "result"})
      if (!groups.count(need))
        return refuse(std::string("pattern needs the named capture (?P<") + need + ">...)");
    TimeFormat tf;
    if (!c.time_format.empty()) {
      if (!groups.count("time")) return refuse("time_format needs the named capture (?P<time>...)");
      auto f = TimeFormat::make(c.time_format);
      if (!f) return f.error();
      tf = *f;
    }
    return std::unique_ptr<LogFormat>(
        new CustomFormat(std::move(re), tf, !c.time_format.empty(), clock, c.protocol));
  }
  std::string known;
  for (std::string_view n : kFormatNames) known += (known.empty() ? "" : ", ") + std::string(n);
  return refuse("format '" + c.name + "' is not known (known: " + known + ")");
}

}  // namespace mamori::logs
