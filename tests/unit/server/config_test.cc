#include "server/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "testing/config_parsing.h"
#include "testing/temp_dir.h"

namespace mamori::server {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

using mamori::testing::contains;
using mamori::testing::parse_error;
using mamori::testing::parse_ok;
using mamori::testing::source_dir;

// ---- parse_config ----

TEST(ParseConfig, EmptyFileGivesDesignDefaults) {
  const Config c = parse_ok("");
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8425);
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_FALSE(c.replay);
  EXPECT_TRUE(c.tokens.empty());
  EXPECT_EQ(c.maintain_every, seconds(60));
  EXPECT_EQ(c.store_checkpoint_mb, 32);
  const engine::EngineConfig& e = c.engine;
  EXPECT_EQ(e.brute_force.threshold, 10u);
  EXPECT_EQ(e.brute_force.window, hours(1));
  EXPECT_EQ(e.brute_force.block, hours(1));
  EXPECT_EQ(e.account_under_attack.threshold, 50u);
  EXPECT_EQ(e.account_under_attack.window, hours(1));
  EXPECT_EQ(e.account_under_attack.challenge_for, hours(1));
  EXPECT_EQ(e.ip_failures.threshold, 100u);
  EXPECT_EQ(e.ip_failures.window, hours(24));
  EXPECT_EQ(e.ip_failures.deny_threshold, 200u);
  EXPECT_EQ(e.ip_failures.delay_ms, 2000u);
  EXPECT_EQ(e.credential_stuffing.threshold, 20u);
  EXPECT_EQ(e.credential_stuffing.network_threshold, 100u);
  EXPECT_EQ(e.credential_stuffing.window, minutes(10));
  EXPECT_EQ(e.credential_stuffing.block, hours(1));
  EXPECT_EQ(e.password_spray.threshold, 10u);
  EXPECT_EQ(e.password_spray.window, hours(1));
  EXPECT_TRUE(e.credential_stuffing.require_password_reset);
  EXPECT_TRUE(e.password_spray.require_password_reset);
  EXPECT_EQ(e.incidents.idle, hours(1));
  EXPECT_EQ(e.memory_budget_bytes, std::size_t(256) << 20);
  EXPECT_EQ(e.activity_retention, hours(24 * 90));
}

TEST(ParseConfig, ExampleFileParsesToTheDefaults) {
  const std::string path = source_dir() + "/examples/mamori.toml";
  std::ifstream in(path);
  if (!in) GTEST_SKIP() << "no " << path;
  auto r = load_config(path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->listen_port, 8425);
  EXPECT_EQ(r->engine.brute_force.threshold, 10u);
  EXPECT_EQ(r->engine.credential_stuffing.network_threshold, 100u);
  EXPECT_TRUE(r->engine.credential_stuffing.require_password_reset);
  EXPECT_TRUE(r->engine.password_spray.require_password_reset);
  EXPECT_EQ(r->store_checkpoint_mb, 32);
  EXPECT_EQ(r->tokens.size(), 2u);
  const http::ServerOptions d;
  EXPECT_EQ(r->http.max_connections, d.max_connections);
  EXPECT_EQ(r->http.max_header_bytes, d.max_header_bytes);
  EXPECT_EQ(r->http.max_body_bytes, d.max_body_bytes);
  EXPECT_EQ(r->http.max_chunk_line_bytes, d.max_chunk_line_bytes);
  EXPECT_EQ(r->http.max_request_bytes, d.max_request_bytes);
  EXPECT_EQ(r->http.idle_timeout, d.idle_timeout);
  EXPECT_EQ(r->http.request_timeout, d.request_timeout);
}

TEST(ParseConfig, OverridesEverySection) {
  const Config c = parse_ok(R"(
[server]
listen = "[::1]:9000"
threads = 8
data_dir = "/var/lib/mamori"
replay = true
maintain_every = "30s"

[state]
memory_budget_mb = 64

[store]
checkpoint_mb = 4

[activity]
retention = "30d"

[incidents]
idle = "2h"
max_accounts = 5000

[detections.brute_force]
threshold = 5
window = "30m"
block = 7200

[detections.account_under_attack]
threshold = 40
challenge_for = "3h"

[detections.ip_failures]
threshold = 50
deny_threshold = 80
delay_ms = 500

[detections.credential_stuffing]
threshold = 15
network_threshold = 60
window = "5m"
require_password_reset = false

[detections.password_spray]
threshold = 7
max_sources = 16
require_password_reset = false

[[tokens]]
token = "app-token-0123456789"
role = "app"

[[tokens]]
token = "admin-token-0123456789"
role = "admin"
)");
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.threads, 8);
  EXPECT_EQ(c.data_dir, "/var/lib/mamori");
  EXPECT_TRUE(c.replay);
  EXPECT_EQ(c.maintain_every, seconds(30));
  EXPECT_EQ(c.engine.memory_budget_bytes, std::size_t(64) << 20);
  EXPECT_EQ(c.store_checkpoint_mb, 4);
  EXPECT_EQ(c.engine.activity_retention, hours(24 * 30));
  EXPECT_EQ(c.engine.incidents.idle, hours(2));
  EXPECT_EQ(c.engine.incidents.max_accounts, 5000u);
  EXPECT_EQ(c.engine.brute_force.threshold, 5u);
  EXPECT_EQ(c.engine.brute_force.window, minutes(30));
  EXPECT_EQ(c.engine.brute_force.block, hours(2));  // a plain integer is seconds
  EXPECT_EQ(c.engine.account_under_attack.threshold, 40u);
  EXPECT_EQ(c.engine.account_under_attack.window, hours(1));  // untouched default
  EXPECT_EQ(c.engine.account_under_attack.challenge_for, hours(3));
  EXPECT_EQ(c.engine.ip_failures.threshold, 50u);
  EXPECT_EQ(c.engine.ip_failures.deny_threshold, 80u);
  EXPECT_EQ(c.engine.ip_failures.delay_ms, 500u);
  EXPECT_EQ(c.engine.credential_stuffing.threshold, 15u);
  EXPECT_EQ(c.engine.credential_stuffing.network_threshold, 60u);
  EXPECT_EQ(c.engine.credential_stuffing.window, minutes(5));
  EXPECT_EQ(c.engine.password_spray.threshold, 7u);
  EXPECT_EQ(c.engine.password_spray.max_sources, 16u);
  EXPECT_FALSE(c.engine.credential_stuffing.require_password_reset);
  EXPECT_FALSE(c.engine.password_spray.require_password_reset);
  ASSERT_EQ(c.tokens.size(), 2u);
  EXPECT_EQ(c.tokens[0].token, "app-token-0123456789");
  EXPECT_EQ(c.tokens[0].role, http::Role::kApp);
  EXPECT_EQ(c.tokens[1].role, http::Role::kAdmin);
}

TEST(ParseConfig, UnknownKeyIsRejectedNamingFileLineAndKey) {
  const std::string msg = parse_error(
      "[server]\n"
      "threads = 2\n"
      "\n"
      "[detections.brute_force]\n"
      "threshhold = 5\n");
  EXPECT_TRUE(contains(msg, "test.toml:5")) << msg;
  EXPECT_TRUE(contains(msg, "detections.brute_force.threshhold")) << msg;
}

TEST(ParseConfig, UnknownTopLevelKeyIsRejected) {
  const std::string msg = parse_error("listen = \"127.0.0.1:1\"\n");
  EXPECT_TRUE(contains(msg, "test.toml:1")) << msg;
  EXPECT_TRUE(contains(msg, "listen")) << msg;
}

TEST(ParseConfig, UnknownSectionIsRejected) {
  const std::string msg = parse_error("\n[sever]\nthreads = 2\n");
  EXPECT_TRUE(contains(msg, "test.toml:2")) << msg;
  EXPECT_TRUE(contains(msg, "sever")) << msg;
}

TEST(ParseConfig, UnknownDetectionIsRejected) {
  const std::string msg = parse_error("[detections.brute_farce]\nthreshold = 5\n");
  EXPECT_TRUE(contains(msg, "detections.brute_farce")) << msg;
}

TEST(ParseConfig, UnknownTokenKeyIsRejected) {
  const std::string msg = parse_error(
      "[[tokens]]\n"
      "token = \"0123456789abcdef\"\n"
      "role = \"app\"\n"
      "scope = \"all\"\n");
  EXPECT_TRUE(contains(msg, "test.toml:4")) << msg;
  EXPECT_TRUE(contains(msg, "tokens[0].scope")) << msg;
}

TEST(ParseConfig, BadDurationIsRejected) {
  const std::string msg =
      parse_error("[detections.credential_stuffing]\n\nwindow = \"10 minutes\"\n");
  EXPECT_TRUE(contains(msg, "test.toml:3")) << msg;
  EXPECT_TRUE(contains(msg, "detections.credential_stuffing.window")) << msg;
}

TEST(ParseConfig, ZeroOrNegativeDurationIsRejected) {
  EXPECT_TRUE(contains(parse_error("[detections.brute_force]\nblock = \"0s\"\n"),
                       "detections.brute_force.block"));
  EXPECT_TRUE(contains(parse_error("[detections.brute_force]\nblock = -5\n"),
                       "detections.brute_force.block"));
  EXPECT_TRUE(contains(parse_error("[server]\nmaintain_every = 0\n"), "server.maintain_every"));
}

TEST(ParseConfig, NanInfinityAndOutOfRangeNumbersAreRejectedWithTheLine) {
  for (const char* v : {"nan", "+nan", "inf", "-inf", "-900.0", "0.0"}) {
    const std::string msg =
        parse_error(std::string("[detections.impossible_travel]\nmax_speed_kmh = ") + v + "\n");
    EXPECT_TRUE(contains(msg, "test.toml:2")) << v << ": " << msg;
    EXPECT_TRUE(contains(msg, "detections.impossible_travel.max_speed_kmh")) << v << ": " << msg;
  }
}

TEST(ParseConfig, AbsurdIntervalsAreRejected) {
  const std::string every = parse_error("[server]\nmaintain_every = \"1ms\"\n");
  EXPECT_TRUE(contains(every, "test.toml:2")) << every;
  EXPECT_TRUE(contains(every, "between 1s and 1h")) << every;
  EXPECT_TRUE(
      contains(parse_error("[server]\nmaintain_every = \"2d\"\n"), "server.maintain_every"));
  EXPECT_TRUE(contains(parse_error("[detections.brute_force]\nwindow = \"500ms\"\n"),
                       "detections.brute_force.window"));
  EXPECT_TRUE(contains(parse_error("[detections.brute_force]\nblock = \"400d\"\n"),
                       "detections.brute_force.block"));
  EXPECT_TRUE(contains(parse_error("[activity]\nretention = \"4000d\"\n"), "activity.retention"));
}

TEST(ParseConfig, OneTokenUnderTwoRolesIsRejected) {
  const std::string msg = parse_error(
      "[[tokens]]\ntoken = \"same-token-123\"\nrole = \"app\"\n"
      "[[tokens]]\ntoken = \"same-token-123\"\nrole = \"admin\"\n");
  EXPECT_TRUE(contains(msg, "test.toml:5")) << msg;
  EXPECT_TRUE(contains(msg, "tokens[1].token")) << msg;
  EXPECT_TRUE(contains(msg, "twice")) << msg;
}

TEST(ParseConfig, TokensAreNamedOrGetAStableNameFromTheirHash) {
  const Config c = parse_ok(
      "[[tokens]]\ntoken = \"support-token-123\"\nrole = \"admin\"\nname = \"support-desk\"\n"
      "[[tokens]]\ntoken = \"test-admin-token\"\nrole = \"admin\"\n");
  ASSERT_EQ(c.tokens.size(), 2u);
  EXPECT_EQ(c.tokens[0].name, "support-desk");
  // `token-` and the first 4 hex digits of SHA-256("test-admin-token").
  EXPECT_EQ(c.tokens[1].name, http::default_token_name("test-admin-token"));
  EXPECT_EQ(c.tokens[1].name, "token-17d6");
}

TEST(ParseConfig, TokenNamesMustBeShortUniqueWords) {
  for (const char* bad : {"\"\"", "\"Support\"", "\"two words\"", "\"-dash\"",
                          "\"a-name-much-longer-than-thirty-two-bytes\""}) {
    const std::string msg = parse_error(std::string("[[tokens]]\ntoken = \"0123456789abcdef\"\n"
                                                    "role = \"app\"\nname = ") +
                                        bad + "\n");
    EXPECT_TRUE(contains(msg, "tokens[0].name")) << bad << ": " << msg;
  }
  const std::string msg = parse_error(
      "[[tokens]]\ntoken = \"first-token-123\"\nrole = \"app\"\nname = \"desk\"\n"
      "[[tokens]]\ntoken = \"second-token-123\"\nrole = \"admin\"\nname = \"desk\"\n");
  EXPECT_TRUE(contains(msg, "tokens[1].name")) << msg;
  EXPECT_TRUE(contains(msg, "unique")) << msg;
}

TEST(ParseConfig, DurationOfWrongTypeIsRejected) {
  EXPECT_TRUE(contains(parse_error("[activity]\nretention = true\n"), "activity.retention"));
  EXPECT_TRUE(contains(parse_error("[activity]\nretention = 1.5\n"), "activity.retention"));
}

// A plain number of seconds is held to the same bound as "Ns" (parse_duration
// refuses more than 2^52 ms), so a huge value cannot overflow the engine's
// `now + block` arithmetic.
TEST(ParseConfig, IntegerDurationIsBoundedLikeText) {
  const std::int64_t too_long_s = ((std::int64_t(1) << 52) / 1000) + 1;
  ASSERT_FALSE(parse_duration(std::to_string(too_long_s)).ok());
  const std::string msg =
      parse_error("[detections.brute_force]\nblock = " + std::to_string(too_long_s) + "\n");
  EXPECT_TRUE(contains(msg, "detections.brute_force.block")) << msg;
  parse_error("[detections.brute_force]\nblock = 9223372036854775\n");
}

TEST(ParseConfig, BadListenIsRejected) {
  for (const char* listen : {"localhost", "127.0.0.1", ":8425", "127.0.0.1:", "127.0.0.1:99999",
                             "[::1]", "[::1]8425", "host:http"}) {
    const std::string msg = parse_error(std::string("[server]\nlisten = \"") + listen + "\"\n");
    EXPECT_TRUE(contains(msg, "server.listen")) << listen << ": " << msg;
    EXPECT_TRUE(contains(msg, "test.toml:2")) << listen << ": " << msg;
  }
}

TEST(ParseConfig, BadTokenRoleIsRejected) {
  const std::string msg = parse_error(
      "[[tokens]]\n"
      "token = \"0123456789abcdef\"\n"
      "role = \"root\"\n");
  EXPECT_TRUE(contains(msg, "tokens[0].role")) << msg;
  EXPECT_TRUE(contains(msg, "test.toml:3")) << msg;
}

TEST(ParseConfig, MissingTokenRoleIsRejected) {
  const std::string msg = parse_error("[[tokens]]\ntoken = \"0123456789abcdef\"\n");
  EXPECT_TRUE(contains(msg, "tokens[0].role")) << msg;
}

TEST(ParseConfig, ShortTokenIsRejected) {
  const std::string msg = parse_error("[[tokens]]\ntoken = \"short\"\nrole = \"app\"\n");
  EXPECT_TRUE(contains(msg, "tokens[0].token")) << msg;
}

TEST(ParseConfig, TokenFromAFileRelativeToTheConfig) {
  mamori::testing::TempDir tmp;
  std::ofstream(tmp.path() + "/admin.token") << "admin-token-from-a-file\n";
  const Config c = parse_ok(
      "[[tokens]]\ntoken_file = \"admin.token\"\nrole = \"admin\"\n"
      "[[tokens]]\ntoken = \"app-token-inline\"\nrole = \"app\"\n",
      tmp.path() + "/mamori.toml");
  ASSERT_EQ(c.tokens.size(), 2u);
  EXPECT_EQ(c.tokens[0].token, "admin-token-from-a-file");
  EXPECT_EQ(c.tokens[0].role, http::Role::kAdmin);
  EXPECT_EQ(c.tokens[1].token, "app-token-inline");
}

TEST(ParseConfig, BadTokenFilesAreRejectedNamingTheKey) {
  mamori::testing::TempDir tmp;
  std::ofstream(tmp.path() + "/short.token") << "short\n";
  std::ofstream(tmp.path() + "/empty.token") << "\n";
  auto error = [&](const std::string& text) {
    auto r = parse_config(text, tmp.path() + "/mamori.toml");
    return r.ok() ? std::string("(accepted)") : r.error().message;
  };
  const std::string src = tmp.path() + "/mamori.toml";
  EXPECT_EQ(error("[[tokens]]\ntoken_file = \"short.token\"\nrole = \"app\"\n"),
            src + ":2: tokens[0].token_file holds a token under 8 characters");
  EXPECT_EQ(error("[[tokens]]\ntoken_file = \"empty.token\"\nrole = \"app\"\n"),
            src + ":2: tokens[0].token_file " + tmp.path() + "/empty.token is empty");
  EXPECT_EQ(error("[[tokens]]\ntoken_file = \"none.token\"\nrole = \"app\"\n"),
            src + ":2: tokens[0].token_file cannot read " + tmp.path() +
                "/none.token: No such file or directory");
  EXPECT_EQ(error("[[tokens]]\ntoken = \"0123456789abcdef\"\ntoken_file = \"short.token\"\n"
                  "role = \"app\"\n"),
            src + ":3: tokens[0].token_file cannot be given together with token");
  EXPECT_EQ(error("[[tokens]]\nrole = \"app\"\n"),
            src + ":1: tokens[0].token (or token_file) is required");
}

TEST(ParseConfig, RelativePathsAreTakenFromTheConfigFilesDirectory) {
  const Config c = parse_ok(
      "[server]\ndata_dir = \"state\"\n"
      "[geoip]\ncity = \"geo/City.mmdb\"\nasn = \"../ASN.mmdb\"\nanonymous = \"./Anon.mmdb\"\n"
      "[totp]\nkey_file = \"keys/totp.key\"\n"
      "[passwords]\npwned_file = \"pwned.bin\"\n",
      "/etc/mamori/mamori.toml");
  EXPECT_EQ(c.data_dir, "/etc/mamori/state");
  EXPECT_EQ(c.geoip.city, "/etc/mamori/geo/City.mmdb");
  EXPECT_EQ(c.geoip.asn, "/etc/ASN.mmdb");
  EXPECT_EQ(c.geoip.anonymous, "/etc/mamori/Anon.mmdb");
  EXPECT_EQ(c.totp.key_file, "/etc/mamori/keys/totp.key");
  EXPECT_EQ(c.pwned_file, "/etc/mamori/pwned.bin");
}

TEST(ParseConfig, OwnerPages) {
  EXPECT_FALSE(parse_ok("", "/etc/mamori/mamori.toml").owner_pages.enabled());
  const Config c = parse_ok(
      "[owner_pages]\nbase_url = \"https://login.example/mamori\"\n"
      "key_file = \"keys/owner.key\"\nlink_ttl = \"2d\"\n",
      "/etc/mamori/mamori.toml");
  EXPECT_TRUE(c.owner_pages.enabled());
  EXPECT_EQ(c.owner_pages.base_url, "https://login.example/mamori");
  EXPECT_EQ(c.owner_pages.key_file, "/etc/mamori/keys/owner.key");
  EXPECT_EQ(c.owner_pages.link_ttl, std::chrono::hours(48));
  EXPECT_EQ(
      parse_ok("[owner_pages]\nbase_url = \"http://x.example\"\n", "/m.toml").owner_pages.link_ttl,
      std::chrono::hours(24 * 7));
  for (const char* bad : {"[owner_pages]\nbase_url = \"ftp://x.example\"\n",
                          "[owner_pages]\nbase_url = \"https://x.example/?a=1\"\n",
                          "[owner_pages]\nlink_ttl = \"1d\"\n",
                          "[owner_pages]\nbase_url = \"https://x.example\"\nlink_ttl = \"1m\"\n",
                          "[owner_pages]\nbase_url = \"https://x.example\"\nlink_ttl = \"91d\"\n",
                          "[owner_pages]\nbase_url = \"https://x.example\"\nlinks = 1\n"}) {
    const std::string msg = parse_error(bad);
    EXPECT_TRUE(contains(msg, "owner_pages.")) << bad << ": " << msg;
  }
}

TEST(ParseConfig, AbsolutePathsAndUnsetPathsStayAsTheyAre) {
  const Config c = parse_ok(
      "[server]\ndata_dir = \"/var/lib/mamori\"\n[geoip]\ncity = \"/usr/share/City.mmdb\"\n",
      "/etc/mamori/mamori.toml");
  EXPECT_EQ(c.data_dir, "/var/lib/mamori");
  EXPECT_EQ(c.geoip.city, "/usr/share/City.mmdb");
  EXPECT_EQ(c.geoip.asn, "");
  EXPECT_EQ(c.totp.key_file, "");  // <data_dir>/totp.key
  EXPECT_EQ(c.pwned_file, "");     // <data_dir>/pwned.bin
  // Not in the file: the built-in default, like --data-dir, from the working directory.
  EXPECT_EQ(parse_ok("", "/etc/mamori/mamori.toml").data_dir, "./data");
}

TEST(ParseConfig, ARelativeConfigPathGivesAbsolutePathsFromItsDirectory) {
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(parse_ok("[server]\ndata_dir = \"../data\"\n", "examples/mamori.toml").data_dir,
            cwd + "/data");
  EXPECT_EQ(parse_ok("[server]\ndata_dir = \"data\"\n", "mamori.toml").data_dir, cwd + "/data");
}

TEST(ParseConfig, LogSection) {
  const Config d = parse_ok("", "/etc/mamori/mamori.toml");
  EXPECT_EQ(d.log.options.level, LogLevel::kInfo);
  EXPECT_EQ(d.log.options.format, LogFormat::kText);
  EXPECT_EQ(d.log.decisions, "");
  const Config c = parse_ok(
      "[log]\nlevel = \"debug\"\nformat = \"json\"\ndecisions = \"log/decisions.jsonl\"\n"
      "decisions_queue = 16\n",
      "/etc/mamori/mamori.toml");
  EXPECT_EQ(c.log.options.level, LogLevel::kDebug);
  EXPECT_EQ(c.log.options.format, LogFormat::kJson);
  EXPECT_EQ(c.log.decisions, "/etc/mamori/log/decisions.jsonl");
  EXPECT_EQ(c.log.decisions_queue, 16u);
  EXPECT_EQ(parse_ok("[log]\ndecisions = \"-\"\n", "/etc/mamori/mamori.toml").log.decisions, "-");
  EXPECT_EQ(parse_error("[log]\nlevel = \"verbose\"\n"),
            "test.toml:2: log.level must be \"debug\", \"info\", \"warn\" or \"error\"");
  EXPECT_EQ(parse_error("[log]\nformat = \"xml\"\n"),
            "test.toml:2: log.format must be \"text\" or \"json\"");
  EXPECT_EQ(parse_error("[log]\ndecisions = \"\"\n"),
            "test.toml:2: log.decisions must be a file name or \"-\" (standard output)");
}

TEST(ChangesNeedingRestart, NamesEachKeyAndTheValueKept) {
  const Config running = parse_ok("[server]\nlisten = \"127.0.0.1:8425\"\n", "test.toml");
  Config next = parse_ok(
      "[server]\nlisten = \"[::1]:9000\"\nthreads = 4\n[state]\nmemory_budget_mb = 64\n"
      "[dnsbl]\nzones = [\"zen.example\"]\n"
      "[detections.brute_force]\nthreshold = 3\n[[tokens]]\ntoken = \"0123456789\"\n"
      "role = \"app\"\n[log]\nlevel = \"warn\"\n",
      "test.toml");
  EXPECT_EQ(changes_needing_restart(running, next),
            (std::vector<std::string>{
                "server.listen changed: needs a restart; keeping 127.0.0.1:8425",
                "server.threads changed: needs a restart; keeping 2",
                "state.memory_budget_mb changed: needs a restart; keeping 256",
                "dnsbl.zones changed: needs a restart; keeping (none)",
            }));
  EXPECT_TRUE(changes_needing_restart(running, running).empty());
}

TEST(ChangesNeedingRestart, NamesTlsPathsWhoseFilesAReloadWouldNotRead) {
  const Config running = parse_ok(
      "[server.tls]\ncert = \"/etc/ssl/a.pem\"\nkey = \"/etc/ssl/a.key\"\n", "/etc/m.toml");
  const Config next = parse_ok(
      "[server.tls]\ncert = \"/etc/ssl/b.pem\"\nkey = \"/etc/ssl/a.key\"\n"
      "client_ca = \"/etc/ssl/ca.pem\"\n",
      "/etc/m.toml");
  EXPECT_EQ(changes_needing_restart(running, next),
            (std::vector<std::string>{
                "server.tls.cert changed: needs a restart; keeping /etc/ssl/a.pem",
                "server.tls.client_ca changed: needs a restart; keeping (none)",
            }));
}

TEST(LoadConfig, AnUnreadableFileIsNamedWithTheSystemsReason) {
  auto r = load_config("/nonexistent/mamori.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "/nonexistent/mamori.toml: cannot read the config file: No such file or directory");
}

TEST(ParseConfig, SecondTokenErrorNamesItsIndex) {
  const std::string msg = parse_error(
      "[[tokens]]\ntoken = \"0123456789abcdef\"\nrole = \"app\"\n"
      "[[tokens]]\ntoken = \"fedcba9876543210\"\nrole = \"owner\"\n");
  EXPECT_TRUE(contains(msg, "tokens[1].role")) << msg;
  EXPECT_TRUE(contains(msg, "test.toml:6")) << msg;
}

TEST(ParseConfig, OutOfRangeIntegersAreRejected) {
  EXPECT_TRUE(contains(parse_error("[server]\nthreads = 0\n"), "server.threads"));
  EXPECT_TRUE(contains(parse_error("[server]\nthreads = 1000\n"), "server.threads"));
  EXPECT_TRUE(contains(parse_error("[detections.brute_force]\nthreshold = 0\n"),
                       "detections.brute_force.threshold"));
  EXPECT_TRUE(contains(parse_error("[detections.ip_failures]\ndelay_ms = 60001\n"),
                       "detections.ip_failures.delay_ms"));
  EXPECT_TRUE(contains(parse_error("[state]\nmemory_budget_mb = 0\n"), "state.memory_budget_mb"));
  EXPECT_TRUE(contains(parse_error("[store]\ncheckpoint_mb = 0\n"), "store.checkpoint_mb"));
  EXPECT_TRUE(contains(parse_error("[store]\ncheckpoint_mb = 5000\n"), "store.checkpoint_mb"));
}

TEST(ParseConfig, WrongTypesAreRejected) {
  EXPECT_TRUE(contains(parse_error("[server]\nthreads = \"4\"\n"), "server.threads"));
  EXPECT_TRUE(contains(parse_error("[server]\nreplay = \"yes\"\n"), "server.replay"));
  EXPECT_TRUE(contains(parse_error("[server]\ndata_dir = 5\n"), "server.data_dir"));
  EXPECT_TRUE(contains(parse_error("server = 5\n"), "server"));
  EXPECT_TRUE(contains(parse_error("tokens = \"abc\"\n"), "tokens"));
}

// A float where an integer belongs is refused before any conversion: 1e102
// does not fit an int64 (converting it was undefined behaviour).
TEST(ParseConfig, FloatsForIntegersAreRejectedEvenBeyondInt64) {
  for (const char* v : {"100E00100", "-1e300", "2.0", "nan", "inf"}) {
    const std::string msg = parse_error(std::string("[incidents]\nmax_accounts = ") + v + "\n");
    EXPECT_TRUE(contains(msg, "test.toml:2")) << v << ": " << msg;
    EXPECT_TRUE(contains(msg, "incidents.max_accounts must be an integer")) << v << ": " << msg;
  }
}

TEST(ParseConfig, DenyThresholdBelowDelayThresholdIsRejected) {
  const std::string msg =
      parse_error("[detections.ip_failures]\nthreshold = 100\ndeny_threshold = 50\n");
  EXPECT_TRUE(contains(msg, "deny_threshold")) << msg;
}

TEST(ParseConfig, TomlSyntaxErrorNamesFileAndLine) {
  const std::string msg = parse_error("[server]\nthreads = 2\nthreads =\n");
  EXPECT_TRUE(contains(msg, "test.toml:3")) << msg;
}

TEST(ParseConfig, HttpLimitsDefaultToTheServersSafeValues) {
  const Config c = parse_ok("");
  const http::ServerOptions d;
  EXPECT_EQ(c.http.max_connections, 1024u);
  EXPECT_EQ(c.http.max_header_bytes, 16u * 1024);
  EXPECT_EQ(c.http.max_body_bytes, 64u * 1024);
  EXPECT_EQ(c.http.max_chunk_line_bytes, 4u * 1024);
  EXPECT_EQ(c.http.max_request_bytes, 128u * 1024);
  EXPECT_EQ(c.http.idle_timeout, seconds(60));
  EXPECT_EQ(c.http.request_timeout, seconds(10));
  EXPECT_EQ(c.http.max_connections, d.max_connections);
  EXPECT_EQ(c.http.max_request_bytes, d.max_request_bytes);
}

TEST(ParseConfig, HttpLimitsAreRead) {
  const Config c = parse_ok(R"(
[server]
max_connections = 50
max_header_bytes = 8192
max_body_bytes = 1048576
max_chunk_line_bytes = 256
max_request_bytes = 2097152
idle_timeout = "5m"
request_timeout = "2500ms"
)");
  EXPECT_EQ(c.http.max_connections, 50u);
  EXPECT_EQ(c.http.max_header_bytes, 8192u);
  EXPECT_EQ(c.http.max_body_bytes, 1048576u);
  EXPECT_EQ(c.http.max_chunk_line_bytes, 256u);
  EXPECT_EQ(c.http.max_request_bytes, 2097152u);
  EXPECT_EQ(c.http.idle_timeout, minutes(5));
  EXPECT_EQ(c.http.request_timeout, std::chrono::milliseconds(2500));
}

TEST(ParseConfig, BadHttpLimitsAreRejectedNamingFileLineAndKey) {
  struct Case {
    const char* text;
    const char* where;  // file:line and key the message must name
  };
  for (const Case& k : {
           Case{"[server]\nmax_connections = 0\n", "test.toml:2: server.max_connections"},
           Case{"[server]\nmax_connections = \"many\"\n", "test.toml:2: server.max_connections"},
           Case{"[server]\nmax_header_bytes = 100\n", "test.toml:2: server.max_header_bytes"},
           Case{"[server]\nmax_body_bytes = -1\n", "test.toml:2: server.max_body_bytes"},
           Case{"[server]\nmax_chunk_line_bytes = 10\n",
                "test.toml:2: server.max_chunk_line_bytes"},
           Case{"[server]\nthreads = 2\nidle_timeout = \"10ms\"\n",
                "test.toml:3: server.idle_timeout"},
           Case{"[server]\nrequest_timeout = \"2d\"\n", "test.toml:2: server.request_timeout"},
           Case{"[server]\nrequest_timeout = \"0s\"\n", "test.toml:2: server.request_timeout"},
           Case{"[server]\nmax_request_bytes = 65536\n", "test.toml:2: server.max_request_bytes"},
           // A larger body alone leaves the total below header + body.
           Case{"[server]\nmax_body_bytes = 1048576\n", "test.toml:2: server.max_body_bytes"},
       }) {
    const std::string msg = parse_error(k.text);
    EXPECT_TRUE(contains(msg, k.where)) << k.text << " -> " << msg;
  }
  const std::string msg = parse_error("[server]\nmax_request_bytes = 65536\n");
  EXPECT_TRUE(contains(msg, "must be at least max_header_bytes + max_body_bytes (81920)")) << msg;
}

TEST(ParseConfig, TlsIsOffWithoutItsTable) {
  const Config c = parse_ok("[server]\nthreads = 2\n");
  EXPECT_FALSE(c.http.tls.enabled());
  EXPECT_EQ(c.http.tls.handshake_timeout, seconds(10));
}

TEST(ParseConfig, TlsPathsAreTakenFromTheConfigFilesDirectory) {
  const Config c = parse_ok(
      "[server.tls]\ncert = \"tls/server.pem\"\nkey = \"/etc/mamori/server.key\"\n"
      "client_ca = \"clients.pem\"\nhandshake_timeout = \"3s\"\n",
      "/etc/mamori/mamori.toml");
  EXPECT_TRUE(c.http.tls.enabled());
  EXPECT_EQ(c.http.tls.cert_file, "/etc/mamori/tls/server.pem");
  EXPECT_EQ(c.http.tls.key_file, "/etc/mamori/server.key");
  EXPECT_EQ(c.http.tls.client_ca_file, "/etc/mamori/clients.pem");
  EXPECT_EQ(c.http.tls.handshake_timeout, seconds(3));
}

TEST(ParseConfig, BadTlsSettingsAreRejectedNamingFileLineAndKey) {
  struct Case {
    const char* text;
    const char* message;  // what the message must contain
  };
  for (const Case& k : {
           Case{"[server.tls]\nkey = \"k.pem\"\n", "test.toml:1: server.tls.cert is required"},
           Case{"[server.tls]\ncert = \"c.pem\"\n", "test.toml:1: server.tls.key is required"},
           Case{"[server.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nciphers = \"ALL\"\n",
                "test.toml:4: server.tls.ciphers is not a known setting"},
           Case{"[server.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nhandshake_timeout = \"1h\"\n",
                "test.toml:4: server.tls.handshake_timeout must be between"},
           Case{"[server.tls]\ncert = 1\nkey = \"k.pem\"\n",
                "test.toml:2: server.tls.cert must be a string"},
           Case{"[server]\ntls = \"on\"\n", "server.tls must be a table"},
       }) {
    const std::string msg = parse_error(k.text);
    EXPECT_TRUE(contains(msg, k.message)) << k.text << " -> " << msg;
  }
}

TEST(LoadConfig, MissingFileIsInvalidConfig) {
  auto r = load_config("/nonexistent/mamori.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_config");
  EXPECT_TRUE(contains(r.error().message, "/nonexistent/mamori.toml"));
}

TEST(LoadConfig, ErrorsNameTheFilePath) {
  char path[] = "/tmp/mamori_config_test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "[server]\nthreads = 2\nbogus = 1\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
  close(fd);
  auto r = load_config(path);
  std::remove(path);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message, std::string(path) + ":3")) << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "server.bogus")) << r.error().message;
}

// ---- parse_listen ----

TEST(ParseListen, HostAndPort) {
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(parse_listen("127.0.0.1:8425", host, port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8425);
  ASSERT_TRUE(parse_listen("0.0.0.0:0", host, port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(parse_listen("localhost:65535", host, port).ok());
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, 65535);
}

TEST(ParseListen, BracketedIpv6) {
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(parse_listen("[::1]:8425", host, port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8425);
  ASSERT_TRUE(parse_listen("[2001:db8::5]:443", host, port).ok());
  EXPECT_EQ(host, "2001:db8::5");
  EXPECT_EQ(port, 443);
  ASSERT_TRUE(parse_listen("[::]:80", host, port).ok());
  EXPECT_EQ(host, "::");
}

TEST(ParseListen, RejectsMalformedWithInvalidListen) {
  for (const char* bad : {"", "8425", "127.0.0.1", "127.0.0.1:", ":8425", "127.0.0.1:65536",
                          "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80x", "127.0.0.1:http",
                          "[::1]", "[::1]8425", "[]:80", "[::1:80", "127.0.0.1: 80"}) {
    std::string host = "unchanged";
    std::uint16_t port = 1;
    Status s = parse_listen(bad, host, port);
    EXPECT_FALSE(s.ok()) << "'" << bad << "' accepted";
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, "invalid_listen") << bad;
    }
    EXPECT_EQ(host, "unchanged") << bad;
    EXPECT_EQ(port, 1) << bad;
  }
}

}  // namespace
}  // namespace mamori::server

namespace mamori::server {
namespace {

TEST(ParseConfig, MailSections) {
  const Config c = parse_ok(R"(
[postfix]
listen = "127.0.0.1:10040"
threads = 2
[dnsbl]
zones = ["zen.example", "bl.example"]
servers = ["127.0.0.1:5353", "[::1]:53"]
timeout_ms = 800
negative_ttl = "2m"
[detections.mail_volume]
threshold = 100
daily_threshold = 500
[detections.mail_geography]
countries = 4
ips = 20
window = "2h"
)");
  EXPECT_EQ(c.postfix_host, "127.0.0.1");
  EXPECT_EQ(c.postfix_port, 10040);
  EXPECT_EQ(c.postfix_threads, 2);
  EXPECT_EQ(c.dnsbl.zones, (std::vector<std::string>{"zen.example", "bl.example"}));
  EXPECT_EQ(c.dnsbl.servers, "127.0.0.1:5353,[::1]:53");
  EXPECT_EQ(c.dnsbl.timeout, std::chrono::milliseconds(800));
  EXPECT_EQ(c.dnsbl.negative_ttl, minutes(2));
  EXPECT_EQ(c.engine.mail_volume.threshold, 100u);
  EXPECT_EQ(c.engine.mail_volume.window, hours(1));
  EXPECT_EQ(c.engine.mail_volume.daily_threshold, 500u);
  EXPECT_EQ(c.engine.mail_geography.countries, 4u);
  EXPECT_EQ(c.engine.mail_geography.ips, 20u);
  EXPECT_EQ(c.engine.mail_geography.window, hours(2));
  // Defaults: no Postfix listener, no blocklists, docs/design.md's quotas.
  const Config d = parse_ok("");
  EXPECT_TRUE(d.postfix_host.empty());
  EXPECT_TRUE(d.dnsbl.zones.empty());
  EXPECT_EQ(d.engine.mail_volume.threshold, 300u);
  EXPECT_EQ(d.engine.mail_volume.daily_threshold, 1000u);
  EXPECT_EQ(d.engine.mail_geography.countries, 3u);
  EXPECT_EQ(d.engine.mail_geography.ips, 10u);
}

TEST(ParseConfig, BadMailSettingsAreRejected) {
  EXPECT_NE(parse_error("[postfix]\nlisten = \"nowhere\"\n").find("postfix.listen"), std::string::npos);
  EXPECT_NE(parse_error("[dnsbl]\nzones = \"zen.example\"\n").find("dnsbl.zones"), std::string::npos);
  EXPECT_NE(parse_error("[dnsbl]\ntimeout_ms = 0\n").find("dnsbl.timeout_ms"), std::string::npos);
  EXPECT_NE(parse_error("[detections.mail_volume]\nthreshold = 0\n").find("mail_volume.threshold"),
            std::string::npos);
}

// [detections.network_failures]: defaults (those of examples/mamori.toml),
// every key, and the checks.
TEST(ParseConfig, NetworkFailures) {
  const engine::NetworkFailuresConfig d = parse_ok("").engine.network_failures;
  EXPECT_EQ(d.threshold, 2000u);
  EXPECT_EQ(d.delay_ms, 2000u);
  EXPECT_EQ(d.deny_threshold, 10000u);
  EXPECT_EQ(d.window, hours(1));
  EXPECT_EQ(d.block, minutes(15));
  auto example = load_config(source_dir() + "/examples/mamori.toml");
  ASSERT_TRUE(example.ok()) << example.error().message;
  EXPECT_EQ(example->engine.network_failures.threshold, d.threshold);
  EXPECT_EQ(example->engine.network_failures.delay_ms, d.delay_ms);
  EXPECT_EQ(example->engine.network_failures.deny_threshold, d.deny_threshold);
  EXPECT_EQ(example->engine.network_failures.window, d.window);
  EXPECT_EQ(example->engine.network_failures.block, d.block);

  const engine::NetworkFailuresConfig c = parse_ok(R"(
[detections.network_failures]
threshold = 500
delay_ms = 1000
deny_threshold = 3000
window = "30m"
block = "2h"
)")
                                              .engine.network_failures;
  EXPECT_EQ(c.threshold, 500u);
  EXPECT_EQ(c.delay_ms, 1000u);
  EXPECT_EQ(c.deny_threshold, 3000u);
  EXPECT_EQ(c.window, minutes(30));
  EXPECT_EQ(c.block, hours(2));

  // Each refusal names the file, the line and the key.
  std::string msg =
      parse_error("[detections.network_failures]\nthreshold = 500\ndeny_threshold = 400\n");
  EXPECT_TRUE(contains(msg,
                       "test.toml:3: detections.network_failures.deny_threshold must not be below "
                       "threshold (500)"))
      << msg;
  msg = parse_error("[detections.network_failures]\n\nthreshold = 20000\n");
  EXPECT_TRUE(contains(msg,
                       "test.toml:3: detections.network_failures.threshold must not be above "
                       "deny_threshold (10000)"))
      << msg;
  msg = parse_error("[detections.network_failures]\n\nthreshold = 0\n");
  EXPECT_TRUE(contains(msg, "test.toml:3: detections.network_failures.threshold must be between"))
      << msg;
  msg = parse_error("[detections.network_failures]\ndeny_threshold = 70000\n");
  EXPECT_TRUE(
      contains(msg, "test.toml:2: detections.network_failures.deny_threshold must be between"))
      << msg;
  msg = parse_error("[detections.network_failures]\nwindow = \"500ms\"\n");
  EXPECT_TRUE(contains(msg, "test.toml:2: detections.network_failures.window must be between 1s"))
      << msg;
  msg = parse_error("[detections.network_failures]\n\nblock = \"400d\"\n");
  EXPECT_TRUE(contains(msg, "test.toml:3: detections.network_failures.block must be between"))
      << msg;
  msg = parse_error("[detections.network_failures]\ndelay_ms = 60001\n");
  EXPECT_TRUE(contains(msg, "test.toml:2: detections.network_failures.delay_ms")) << msg;
  msg = parse_error("[detections.network_failures]\ndeny = 5\n");
  EXPECT_TRUE(contains(msg, "detections.network_failures.deny is not a known setting")) << msg;
}

}  // namespace
}  // namespace mamori::server
