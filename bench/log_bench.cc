// Line rate of the log formats' pattern matching, on a generated Dovecot log:
// the candidates for "many patterns in one pass" side by side, on the same
// lines and the same pattern texts (logs/stock_patterns.cc):
//   vectorscan   PatternScanner (Vectorscan): which pattern matches, one scan
//   re2_set      RE2::Set: which pattern matches, one scan
//   re2_each     each pattern in turn with RE2::PartialMatch (how a list of
//                regular expressions is usually tried)
//   parse        the whole dovecot format as mamorid runs it: the timestamp,
//                the Vectorscan scan and the fields (LogFormat::parse_line)
// Plain timed driver, one thread; the best of 3 runs per candidate.
//
//   log_bench [LINES]        (default 1,000,000)
#include <re2/re2.h>
#include <re2/set.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "protocols/logs/log_format.h"
#include "protocols/logs/pattern_set.h"
#include "protocols/logs/stock_patterns.h"

using namespace mamori;

namespace {

// A mail host's Dovecot log: a quarter logins, a tenth failures, the rest
// the sessions' other lines (logouts, LMTP deliveries, disconnects).
std::vector<std::string> generate(std::size_t n) {
  std::mt19937_64 rng(1);
  std::vector<std::string> lines;
  lines.reserve(n);
  char buf[512];
  const char* protos[] = {"imap", "pop3", "submission"};
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned s = unsigned(i % 86400);
    const int hh = int(s / 3600), mm = int(s / 60 % 60), ss = int(s % 60);
    const unsigned r = unsigned(rng() % 100);
    const unsigned user = unsigned(rng() % 50000), ip = unsigned(rng());
    const char* proto = protos[rng() % 3];
    if (r < 25) {
      std::snprintf(
          buf, sizeof buf,
          "Dec  7 %02d:%02d:%02d mail dovecot: %s-login: Login: user=<user%u@example.com>, "
          "method=PLAIN, rip=10.%u.%u.%u, lip=192.0.2.1, mpid=%u, TLS, session=<s%08x>",
          hh, mm, ss, proto, user, ip & 255, (ip >> 8) & 255, (ip >> 16) & 255, unsigned(i),
          unsigned(rng()));
    } else if (r < 35) {
      std::snprintf(
          buf, sizeof buf,
          "Dec  7 %02d:%02d:%02d mail dovecot: %s-login: Disconnected: Connection closed "
          "(auth failed, %u attempts in %u secs): user=<user%u@example.com>, method=PLAIN, "
          "rip=10.%u.%u.%u, lip=192.0.2.1, TLS, session=<s%08x>",
          hh, mm, ss, proto, unsigned(1 + rng() % 3), unsigned(rng() % 20), user, ip & 255,
          (ip >> 8) & 255, (ip >> 16) & 255, unsigned(rng()));
    } else if (r < 70) {
      std::snprintf(buf, sizeof buf,
                    "Dec  7 %02d:%02d:%02d mail dovecot: imap(user%u@example.com)<%u><s%08x>: "
                    "Logged out in=%u out=%u deleted=0 expunged=0 trashed=0 hdr_count=0 "
                    "hdr_bytes=0 body_count=0 body_bytes=0",
                    hh, mm, ss, user, unsigned(i), unsigned(rng()), unsigned(rng() % 9999),
                    unsigned(rng() % 99999));
    } else if (r < 90) {
      std::snprintf(buf, sizeof buf,
                    "Dec  7 %02d:%02d:%02d mail dovecot: lmtp(user%u@example.com)<%u><L%08x>: "
                    "msgid=<%08x@mail.example.net>: saved mail to INBOX",
                    hh, mm, ss, user, unsigned(i), unsigned(rng()), unsigned(rng()));
    } else {
      std::snprintf(
          buf, sizeof buf,
          "Dec  7 %02d:%02d:%02d mail dovecot: imap-login: Disconnected (no auth attempts "
          "in 0 secs): user=<>, rip=10.%u.%u.%u, lip=192.0.2.1, TLS handshaking: "
          "Connection closed, session=<s%08x>",
          hh, mm, ss, ip & 255, (ip >> 8) & 255, (ip >> 16) & 255, unsigned(rng()));
    }
    lines.emplace_back(buf);
  }
  return lines;
}

// The text the patterns see: the line after "Mmm dd hh:mm:ss ".
std::string_view after_stamp(const std::string& l) { return std::string_view(l).substr(16); }

template <typename F>
void measure(const char* name, const std::vector<std::string>& lines, F&& each) {
  double best = 0;
  std::size_t matched = 0;
  for (int run = 0; run < 3; ++run) {
    matched = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& l : lines) matched += each(l) ? 1 : 0;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, double(lines.size()) / s);
  }
  std::printf("%-12s %12.0f lines/s  (%zu of %zu lines matched)\n", name, best, matched,
              lines.size());
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::stoul(argv[1]) : 1'000'000;
  const auto lines = generate(n);
  std::size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size() + 1;
  std::printf("%zu generated Dovecot lines, %.1f MB\n", lines.size(), double(bytes) / 1e6);

  std::vector<std::string> regexes;
  for (const logs::StockPattern& p : logs::stock_patterns("dovecot")) regexes.emplace_back(p.regex);

  auto set = logs::PatternSet::compile(regexes);
  if (!set) {
    std::fprintf(stderr, "%s\n", set.error().message.c_str());
    return 1;
  }
  logs::PatternScanner scanner(*set);
  measure("vectorscan", lines, [&](const std::string& l) {
    std::size_t end;
    return scanner.first(after_stamp(l), end) >= 0;
  });

  RE2::Options options;
  options.set_log_errors(false);
  RE2::Set re2_set(options, RE2::UNANCHORED);
  for (const std::string& r : regexes) re2_set.Add(r, nullptr);
  if (!re2_set.Compile()) return 1;
  std::vector<int> hits;
  measure("re2_set", lines, [&](const std::string& l) {
    const std::string_view t = after_stamp(l);
    return re2_set.Match(re2::StringPiece(t.data(), t.size()), &hits);
  });

  std::vector<std::unique_ptr<RE2>> each;
  for (const std::string& r : regexes) each.push_back(std::make_unique<RE2>(r, options));
  measure("re2_each", lines, [&](const std::string& l) {
    const std::string_view t = after_stamp(l);
    for (const auto& re : each)
      if (RE2::PartialMatch(re2::StringPiece(t.data(), t.size()), *re)) return true;
    return false;
  });

  SystemClock clock;
  logs::FormatConfig config;
  config.name = "dovecot";
  auto format = logs::LogFormat::make(config, clock);
  if (!format) return 1;
  measure("parse", lines, [&](const std::string& l) {
    logs::LoginLine out;
    return (*format)->parse_line(l, out) == logs::LineKind::kLogin;
  });
  return 0;
}
