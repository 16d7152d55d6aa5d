#include "protocols/logs/log_format.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <fstream>
#include <string>
#include <vector>

#include "protocols/logs/log_ingest.h"

namespace mamori::logs {
namespace {

// Syslog stamps are local time: the tests run in UTC.
class UtcZone : public ::testing::Environment {
 public:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};
const auto* const kUtc = ::testing::AddGlobalTestEnvironment(new UtcZone);

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

std::vector<std::string> fixture(const std::string& name) {
  std::ifstream in(std::string(MAMORI_TEST_DATA) + "/logs/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Parsed {
  LineKind kind;
  std::string account, ip, protocol, user_agent;
  bool success;
  int attempts;
  TimePoint time;
};

std::vector<Parsed> parse_all(const FormatConfig& config, const std::vector<std::string>& lines,
                              const Clock& clock) {
  auto format = LogFormat::make(config, clock);
  EXPECT_TRUE(format) << (format ? "" : format.error().message);
  std::vector<Parsed> out;
  for (const std::string& l : lines) {
    LoginLine ll;
    const LineKind k = (*format)->parse_line(l, ll);
    out.push_back({k, std::string(ll.account), std::string(ll.ip), std::string(ll.protocol),
                   std::string(ll.user_agent), ll.success, ll.attempts, ll.time});
  }
  return out;
}

FormatConfig named(const char* name) {
  FormatConfig c;
  c.name = name;
  return c;
}

TEST(DovecotFormat, ReadsLoginsAndFailuresOfEveryLoginProcess) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  const auto p = parse_all(named("dovecot"), fixture("dovecot.log"), clock);
  ASSERT_EQ(p.size(), 12u);
  EXPECT_EQ(p[0].kind, LineKind::kLogin);
  EXPECT_EQ(p[0].account, "alice@example.com");
  EXPECT_EQ(p[0].ip, "192.0.2.10");
  EXPECT_EQ(p[0].protocol, "imap");
  EXPECT_TRUE(p[0].success);
  EXPECT_EQ(p[0].time, at("2024-12-07T04:41:34Z"));
  EXPECT_EQ(p[1].kind, LineKind::kNone);  // imap(...): Logged out
  // Dovecot 2.3: "Disconnected: Connection closed (auth failed, 3 attempts in 15 secs)"
  EXPECT_EQ(p[2].kind, LineKind::kLogin);
  EXPECT_EQ(p[2].account, "bob@example.com");
  EXPECT_EQ(p[2].ip, "203.0.113.5");
  EXPECT_FALSE(p[2].success);
  EXPECT_EQ(p[2].attempts, 3);
  // "Login aborted: ... (auth_failed)", dovecot[pid], IPv6
  EXPECT_EQ(p[3].kind, LineKind::kLogin);
  EXPECT_EQ(p[3].account, "carol");
  EXPECT_EQ(p[3].ip, "2001:db8::7");
  EXPECT_EQ(p[3].protocol, "pop3");
  EXPECT_FALSE(p[3].success);
  EXPECT_EQ(p[4].protocol, "smtp");
  EXPECT_TRUE(p[4].success);
  EXPECT_EQ(p[4].account, "dave@example.com");
  // A failure before the client gave a name.
  EXPECT_EQ(p[5].kind, LineKind::kNoAccount);
  EXPECT_EQ(p[5].ip, "203.0.113.6");
  // A name imitating the fields: the last rip= is Dovecot's.
  EXPECT_EQ(p[6].kind, LineKind::kLogin);
  EXPECT_EQ(p[6].ip, "203.0.113.7");
  EXPECT_EQ(p[6].account, "evil>, method=PLAIN, rip=6.6.6.6, x");
  EXPECT_EQ(p[6].attempts, 2);
  EXPECT_EQ(p[7].kind, LineKind::kNone);  // no auth attempts
  // Dovecot's own log file (log_path): "Dec 07", no host, "Info: ".
  EXPECT_EQ(p[8].kind, LineKind::kLogin);
  EXPECT_EQ(p[8].account, "frank");
  EXPECT_EQ(p[8].time, at("2024-12-07T04:42:07Z"));
  // RFC 3339 stamp with a zone and microseconds.
  EXPECT_EQ(p[9].kind, LineKind::kLogin);
  EXPECT_EQ(p[9].protocol, "sieve");
  EXPECT_EQ(p[9].time, at("2024-12-06T19:42:08.123Z"));
  // The auth process's own line would count the failure twice.
  EXPECT_EQ(p[10].kind, LineKind::kNone);
  EXPECT_EQ(p[11].kind, LineKind::kNone);
}

TEST(DovecotFormat, JournalMessageHasNoPrefix) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  auto f = LogFormat::make(named("dovecot"), clock);
  ASSERT_TRUE(f);
  LoginLine l;
  const TimePoint t = at("2024-12-07T01:02:03.456Z");
  EXPECT_EQ((*f)->parse_message("imap-login: Login: user=<zoe>, method=PLAIN, rip=192.0.2.9, "
                                "lip=192.0.2.1, mpid=1, session=<abc>",
                                t, l),
            LineKind::kLogin);
  EXPECT_EQ(l.account, "zoe");
  EXPECT_EQ(l.time, t);
  EXPECT_EQ((*f)->parse_message("Dec  7 imap-login: nothing", t, l), LineKind::kNone);
}

TEST(DovecotFormat, LineWithoutTimeIsCountedAsBadTime) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  auto f = LogFormat::make(named("dovecot"), clock);
  LoginLine l;
  EXPECT_EQ((*f)->parse_line("Foo 99 dovecot: imap-login: Login: user=<a>, method=PLAIN, "
                             "rip=192.0.2.9, lip=192.0.2.1",
                             l),
            LineKind::kBadTime);
}

TEST(PostfixFormat, ReadsSaslFailuresAndAuthenticatedClients) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  const auto p = parse_all(named("postfix"), fixture("postfix.log"), clock);
  ASSERT_EQ(p.size(), 8u);
  EXPECT_EQ(p[0].kind, LineKind::kNone);
  EXPECT_EQ(p[1].kind, LineKind::kNoAccount);  // LOGIN failed before a name was known
  EXPECT_EQ(p[1].ip, "203.0.113.5");
  EXPECT_EQ(p[2].kind, LineKind::kLogin);
  EXPECT_EQ(p[2].account, "alice@example.com");
  EXPECT_EQ(p[2].ip, "198.51.100.8");
  EXPECT_FALSE(p[2].success);
  EXPECT_EQ(p[2].protocol, "smtp");
  EXPECT_EQ(p[3].kind, LineKind::kLogin);
  EXPECT_EQ(p[3].account, "bob@example.com");
  EXPECT_EQ(p[3].ip, "198.51.100.9");
  EXPECT_TRUE(p[3].success);
  EXPECT_EQ(p[4].kind, LineKind::kNone);
  EXPECT_EQ(p[5].kind, LineKind::kSend);  // qmgr's line of bob's message
  EXPECT_EQ(p[5].account, "bob@example.com");
  EXPECT_EQ(p[5].ip, "198.51.100.9");
  EXPECT_EQ(p[6].kind, LineKind::kLogin);
  EXPECT_EQ(p[6].ip, "2001:db8::5");
  EXPECT_EQ(p[6].account, "carol");
  EXPECT_EQ(p[6].time, at("2024-12-07T05:10:07.500Z"));
  EXPECT_EQ(p[7].kind, LineKind::kLogin);
  EXPECT_EQ(p[7].ip, "203.0.113.9");
  EXPECT_EQ(p[7].account, "dave");
}

struct Ingested {
  EventType type;
  std::string account, ip;
  std::uint32_t recipients;
  bool dry_run;
};

std::vector<Ingested> ingest_all(LogFormat& format, const std::vector<std::string>& lines) {
  std::vector<Ingested> out;
  LogCounters counters;
  for (const std::string& l : lines)
    ingest(format, RawLine{l, std::nullopt}, counters, [&](Event& e) {
      out.push_back({e.type, e.account, e.ip.to_string(), e.recipient_count, e.dry_run});
    });
  return out;
}

// Postfix 3.7's lines of an authenticated message (maillog_file).
constexpr const char* kClient =
    "Dec  7 05:10:04 mx postfix/smtpd[3133]: 4F9D195432: client=client.example.net[198.51.100.9], "
    "sasl_method=PLAIN, sasl_username=Bob@example.com";
constexpr const char* kCleanup =
    "Dec  7 05:10:05 mx postfix/cleanup[3140]: 4F9D195432: message-id=<x@mx.example.test>";
constexpr const char* kActive =
    "Dec  7 05:10:06 mx postfix/qmgr[900]: 4F9D195432: from=<odd, nrcpt=99 (queue active)"
    "@example.com>, size=1234, nrcpt=3 (queue active)";

TEST(PostfixFormat, AClientLineAndItsQueueActiveLineAreOneSend) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  auto f = LogFormat::make(named("postfix"), clock);
  ASSERT_TRUE(f);
  const auto got = ingest_all(**f, {kClient, kCleanup, kActive});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, EventType::kLoginResult);
  EXPECT_EQ(got[1].type, EventType::kMailSent);
  EXPECT_EQ(got[1].account, "bob@example.com");
  EXPECT_EQ(got[1].ip, "198.51.100.9");
  EXPECT_EQ(got[1].recipients, 3u);  // the last nrcpt, not the sender's imitation
  EXPECT_FALSE(got[1].dry_run);
  // A deferred message's next trip through the active queue: no second send.
  EXPECT_TRUE(ingest_all(**f, {kActive}).empty());
}

TEST(PostfixFormat, QueueActiveBeforeItsClientLineStillJoins) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  auto f = LogFormat::make(named("postfix"), clock);
  ASSERT_TRUE(f);
  EXPECT_TRUE(ingest_all(**f, {kActive}).empty());
  const auto got = ingest_all(**f, {kClient});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, EventType::kLoginResult);
  EXPECT_EQ(got[1].type, EventType::kMailSent);
  EXPECT_EQ(got[1].recipients, 3u);
}

TEST(PostfixFormat, AClientLineWhoseQueueLineNeverCameIsADroppedSend) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  auto f = LogFormat::make(named("postfix"), clock);
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)->sends_dropped(), 0u);
  ingest_all(**f, {kClient});
  EXPECT_EQ((*f)->sends_dropped(), 0u);  // still waiting
  // Two hours later another message's client line: the first one's wait
  // (an hour) is over.
  ingest_all(**f, {"Dec  7 07:10:04 mx postfix/smtpd[3133]: 5B0C195433: "
                   "client=client.example.net[198.51.100.9], sasl_method=PLAIN, "
                   "sasl_username=Bob@example.com"});
  EXPECT_EQ((*f)->sends_dropped(), 1u);
  auto dovecot = LogFormat::make(named("dovecot"), clock);
  ASSERT_TRUE(dovecot);
  EXPECT_EQ((*dovecot)->sends_dropped(), 0u);
}

TEST(PostfixFormat, MailWithoutSaslAndTheOtherQueueLinesAreNoSend) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  auto f = LogFormat::make(named("postfix"), clock);
  ASSERT_TRUE(f);
  EXPECT_TRUE(
      ingest_all(**f,
                 {
                     "Dec  7 05:11:00 mx postfix/smtpd[1]: 5A: client=mx.example.org[192.0.2.7]",
                     "Dec  7 05:11:01 mx postfix/qmgr[900]: 5A: from=<a@example.org>, size=9, "
                     "nrcpt=1 (queue active)",
                     "Dec  7 05:11:02 mx postfix/qmgr[900]: 5A: removed",
                     "Dec  7 05:11:03 mx postfix/qmgr[900]: 6B: from=<>, status=expired, returned "
                     "to sender",
                     "Dec  7 05:11:04 mx postfix/pickup[901]: 7C: uid=0 from=<root>",
                 })
          .empty());
}

TEST(SshdFormat, ReadsFailedInvalidAndAccepted) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  const auto p = parse_all(named("sshd"), fixture("sshd.log"), clock);
  ASSERT_EQ(p.size(), 9u);
  EXPECT_EQ(p[0].kind, LineKind::kLogin);
  EXPECT_EQ(p[0].account, "root");
  EXPECT_EQ(p[0].ip, "203.0.113.50");
  EXPECT_EQ(p[0].protocol, "ssh");
  EXPECT_FALSE(p[0].success);
  EXPECT_EQ(p[1].kind, LineKind::kLogin);
  EXPECT_EQ(p[1].account, "admin");
  EXPECT_FALSE(p[1].success);
  EXPECT_EQ(p[2].kind, LineKind::kCounted);  // counted at its "Invalid user" line
  EXPECT_EQ(p[3].kind, LineKind::kLogin);
  EXPECT_TRUE(p[3].success);
  EXPECT_EQ(p[3].account, "alice");
  EXPECT_EQ(p[3].ip, "192.0.2.10");
  EXPECT_EQ(p[4].ip, "2001:db8::10");
  EXPECT_TRUE(p[4].success);
  EXPECT_EQ(p[5].kind, LineKind::kNone);
  // A name imitating " from IP port": the last " from " is sshd's.
  EXPECT_EQ(p[6].kind, LineKind::kLogin);
  EXPECT_EQ(p[6].ip, "203.0.113.52");
  EXPECT_EQ(p[6].account, "x from 6.6.6.6 port 1");
  EXPECT_EQ(p[7].account, "carol");
  EXPECT_EQ(p[8].kind, LineKind::kNone);  // pam's line would count twice
}

// The lines OpenSSH 9.2's sshd writes with -E FILE: no timestamp.
TEST(SshdFormat, LinesWithoutAStampTakeTheReadTimeWhenTold) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  const auto skipped = parse_all(named("sshd"), fixture("sshd-stderr.log"), clock);
  ASSERT_EQ(skipped.size(), 10u);
  EXPECT_EQ(skipped[1].kind, LineKind::kBadTime);
  FormatConfig c = named("sshd");
  c.time_read = true;
  auto format = LogFormat::make(c, clock);
  ASSERT_TRUE(format);
  std::vector<Parsed> p;
  for (const std::string& l : fixture("sshd-stderr.log")) {
    LoginLine ll;
    const LineKind k = (*format)->parse_line(l, ll);
    p.push_back({k, std::string(ll.account), std::string(ll.ip), std::string(ll.protocol),
                 std::string(ll.user_agent), ll.success, ll.attempts, ll.time});
    clock.advance(std::chrono::seconds(1));
  }
  EXPECT_EQ(p[0].kind, LineKind::kNone);
  EXPECT_EQ(p[1].kind, LineKind::kLogin);
  EXPECT_TRUE(p[1].success);
  EXPECT_EQ(p[1].account, "root");
  EXPECT_EQ(p[1].ip, "127.0.0.1");
  EXPECT_EQ(p[1].time, at("2024-12-10T00:00:01Z"));  // when it was read
  EXPECT_EQ(p[4].kind, LineKind::kLogin);
  EXPECT_FALSE(p[4].success);
  EXPECT_EQ(p[4].time, at("2024-12-10T00:00:04Z"));
  EXPECT_EQ(p[6].kind, LineKind::kLogin);
  EXPECT_EQ(p[6].account, "nosuch");
  EXPECT_FALSE(p[6].success);
  EXPECT_EQ(p[8].kind, LineKind::kCounted);
  for (std::size_t i : {2u, 3u, 5u, 7u, 9u}) EXPECT_EQ(p[i].kind, LineKind::kNone) << i;
  // A line that has a stamp keeps it.
  LoginLine ll;
  ASSERT_EQ((*format)->parse_line("Dec  7 06:00:01 host sshd[5001]: Failed password for root from "
                                  "203.0.113.50 port 52144 ssh2",
                                  ll),
            LineKind::kLogin);
  EXPECT_EQ(ll.time, at("2024-12-07T06:00:01Z"));
}

TEST(AccessLogFormat, PostsToTheLoginPathWithTheirStatus) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  FormatConfig c = named("nginx");
  c.login_path = "/login";
  const auto p = parse_all(c, fixture("nginx.log"), clock);
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0].kind, LineKind::kLogin);
  EXPECT_FALSE(p[0].success);
  EXPECT_EQ(p[0].ip, "203.0.113.5");
  EXPECT_EQ(p[0].account, "/login");
  EXPECT_EQ(p[0].protocol, "web");
  EXPECT_EQ(p[0].user_agent, "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0");
  EXPECT_EQ(p[0].time, at("2024-12-07T04:41:34Z"));
  EXPECT_EQ(p[1].kind, LineKind::kNone);   // GET
  EXPECT_EQ(p[2].kind, LineKind::kLogin);  // the query is not the path
  EXPECT_TRUE(p[2].success);
  EXPECT_EQ(p[2].time, at("2024-12-07T04:41:36Z"));
  EXPECT_EQ(p[3].account, "alice");  // HTTP authentication's user
  EXPECT_FALSE(p[3].success);
  EXPECT_EQ(p[3].user_agent, "");
  EXPECT_EQ(p[4].kind, LineKind::kNone);  // another path
  EXPECT_EQ(p[5].kind, LineKind::kNone);  // 500: neither
}

TEST(AccessLogFormat, StatusMappingIsConfigurable) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  FormatConfig c = named("apache");
  c.login_path = "/login";
  c.success_status = {"302"};
  c.failure_status = {"2xx", "4xx"};
  const auto p = parse_all(c, fixture("nginx.log"), clock);
  EXPECT_EQ(p[0].kind, LineKind::kLogin);
  EXPECT_FALSE(p[0].success);
  EXPECT_TRUE(p[2].success);
  c.failure_status = {"3xx"};
  auto f = LogFormat::make(c, clock);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("302 is both"), std::string::npos);
}

TEST(CustomFormat, NamedCapturesAndTimeFormat) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  FormatConfig c = named("custom");
  c.pattern =
      R"(^(?P<time>\S+ \S+) app\[\d+\]: login (?P<result>\w+) user=(?P<account>\S+) from=(?P<ip>\S+))";
  c.time_format = "%Y/%m/%d %H:%M:%S";
  c.protocol = "app";
  const auto p = parse_all(c,
                           {"2024/12/07 04:41:34 app[7]: login failed user=Alice from=192.0.2.5",
                            "2024/12/07 04:41:35 app[7]: login OK user=bob from=192.0.2.6",
                            "2024/12/07 04:41:36 app[7]: login maybe user=bob from=192.0.2.6",
                            "2024/13/07 04:41:36 app[7]: login ok user=bob from=192.0.2.6"},
                           clock);
  EXPECT_EQ(p[0].kind, LineKind::kLogin);
  EXPECT_FALSE(p[0].success);
  EXPECT_EQ(p[0].account, "Alice");
  EXPECT_EQ(p[0].protocol, "app");
  EXPECT_EQ(p[0].time, at("2024-12-07T04:41:34Z"));
  EXPECT_TRUE(p[1].success);
  EXPECT_EQ(p[2].kind, LineKind::kNone);
  EXPECT_EQ(p[3].kind, LineKind::kBadTime);
}

TEST(LogFormatConfig, RefusesWhatCannotWork) {
  ManualClock clock(at("2024-12-10T00:00:00Z"));
  auto message = [&](FormatConfig c) {
    auto f = LogFormat::make(c, clock);
    return f ? std::string() : f.error().message;
  };
  EXPECT_NE(message(named("exim")).find("is not known"), std::string::npos);
  EXPECT_NE(message(named("nginx")).find("login_path"), std::string::npos);
  FormatConfig c = named("custom");
  EXPECT_NE(message(c).find("needs pattern"), std::string::npos);
  c.pattern = "(?P<ip>x)(";
  EXPECT_NE(message(c).find("does not compile"), std::string::npos);
  c.pattern = "(?P<ip>\\S+) (?P<result>\\w+)";
  EXPECT_NE(message(c).find("(?P<account>"), std::string::npos);
  c.pattern = "(?P<ip>\\S+) (?P<account>\\w+) (?P<result>\\w+) (?P<time>.*)";
  c.time_format = "%Q";
  EXPECT_NE(message(c).find("unknown conversion"), std::string::npos);
  FormatConfig d = named("dovecot");
  d.login_path = "/x";
  EXPECT_NE(message(d).find("login_path is for"), std::string::npos);
  d = named("sshd");
  d.protocol = "SSH!";
  EXPECT_NE(message(d).find("protocol"), std::string::npos);
  FormatConfig n = named("nginx");
  n.login_path = "/login";
  n.time_read = true;
  EXPECT_NE(message(n).find("time = \"read\" is for"), std::string::npos);
  c = named("custom");
  c.pattern = "(?P<ip>\\S+) (?P<account>\\w+) (?P<result>\\w+)";
  c.time_read = true;
  EXPECT_NE(message(c).find("time = \"read\" is for"), std::string::npos);
}

}  // namespace
}  // namespace mamori::logs
