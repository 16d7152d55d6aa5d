#ifndef MAMORI_SERVER_CONFIG_H_
#define MAMORI_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "account/password_checker.h"
#include "account/totp_service.h"
#include "core/log.h"
#include "core/result.h"
#include "dnsbl/dnsbl_resolver.h"
#include "engine/engine_config.h"
#include "geo/maxmind_locator.h"
#include "notify/notify_config.h"
#include "notify/owner_links.h"
#include "protocols/http/api_handler.h"
#include "protocols/http/console_sessions.h"
#include "protocols/http/server.h"
#include "protocols/logs/log_source.h"
#include "server/decision_log.h"
#include "server/firewall_sync.h"
#include "server/hot_state_sync.h"

namespace mamori::server {

// [log]: the daemon's own log lines, and the decision log.
struct LogConfig {
  LogOptions options;
  std::string decisions;  // the decision log's file; "-": standard output; empty: none
  std::size_t decisions_queue = DecisionLog::kDefaultQueueLimit;  // lines waiting, at most
};

// Everything mamorid reads from its TOML file (examples/mamori.toml documents
// every key). Defaults are docs/design.md's.
struct Config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8425;
  int threads = 2;
  // [server]: the HTTP listener's limits and timeouts (its host, port and
  // threads are the three above).
  http::ServerOptions http;
  std::string data_dir = "./data";
  bool replay = false;
  std::vector<http::ApiToken> tokens;
  engine::EngineConfig engine;
  // [state] backend = "redis": the hot windows shared over the Redis Cluster
  // of [redis] (its retention is set from the detections at start).
  bool redis_state = false;
  HotStateSyncOptions redis;
  // [redis] retention: how long the streams keep observations; zero: the
  // longest detection window.
  Duration redis_retention{0};
  geo::GeoIpPaths geoip;  // none: events have no location
  Duration maintain_every = std::chrono::seconds(60);
  // [store]: WAL size (MiB of 4 KiB pages) that starts a checkpoint.
  int store_checkpoint_mb = 32;
  // [store]: how often the journals' index passes run (reads merge what
  // they have not indexed yet).
  Duration store_index_every = std::chrono::seconds(1);
  // [store] backend: "sqlite" (the embedded store in data_dir) or
  // "postgresql" (shared by several nodes); [postgresql] url (checked at
  // load, shown with its password redacted) and pool (read connections).
  std::string store_backend = "sqlite";
  std::string postgresql_url;
  int postgresql_pool = 8;
  // [totp]: key_file empty means <data_dir>/totp.key.
  account::TotpConfig totp;
  // [passwords]
  account::PasswordPolicy passwords;
  bool range_public = false;
  std::string pwned_file;  // empty: <data_dir>/pwned.bin
  // [notify], [smtp], [[webhooks]]. Secrets given as files (password_file,
  // secret_file; relative to the config file's directory) are read at load.
  notify::NotifyConfig notify;
  // [postfix]: the policy delegation listener; empty host: none.
  std::string postfix_host;
  std::uint16_t postfix_port = 0;
  int postfix_threads = 1;
  dnsbl::DnsblConfig dnsbl;  // [dnsbl]; no zones: off
  // [owner_pages]: the owners' activity and "this wasn't me" pages; no
  // base_url: off. key_file relative to the config file's directory.
  notify::OwnerPagesConfig owner_pages;
  // [console]: the console's sign-in sessions (idle_timeout,
  // session_lifetime); enabled = false: no sign-in, no session cookie.
  bool console_enabled = true;
  http::ConsoleSessionOptions console;
  LogConfig log;
  std::vector<logs::LogSourceConfig> logs;  // [[logs]]: log files and the journal followed
  FirewallConfig firewall;                  // [firewall]: nftables enforcement; off by default
};

// Reads and validates a config file. Fails with code `invalid_config` and a
// message naming the file, the line and the key (unknown keys are errors, so
// that a typo does not silently leave a default in place).
Result<Config> load_config(const std::string& path);
// Same, from text (`source` names it in messages).
Result<Config> parse_config(std::string_view text, const std::string& source);

// The settings `next` changes from `running` that a reload (SIGHUP) cannot
// apply, one line each, naming the key and the value kept:
//   "server.listen changed: needs a restart; keeping 127.0.0.1:8425"
// Empty when a reload applies everything.
std::vector<std::string> changes_needing_restart(const Config& running, const Config& next);

// Parses "HOST:PORT", "[v6]:PORT". Fails with `invalid_listen`.
Status parse_listen(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace mamori::server

#endif  // MAMORI_SERVER_CONFIG_H_
