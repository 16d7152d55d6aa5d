#include "server/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "account/operator_accounts.h"
#include "account/password_checker.h"
#include "account/pwned_store.h"
#include "account/secret_box.h"
#include "account/totp_service.h"
#include "core/clock.h"
#include "core/log.h"
#include "engine/changes_elsewhere.h"
#include "engine/engine.h"
#include "engine/profile_batcher.h"
#include "firewall/nftables_firewall.h"
#include "geo/maxmind_locator.h"
#include "notify/dispatcher.h"
#include "notify/email_channel.h"
#include "notify/incident_notices.h"
#include "notify/once_records.h"
#include "notify/outbox.h"
#include "notify/owner_links.h"
#include "notify/time_zone.h"
#include "notify/webhook_channel.h"
#include "protocols/http/api_handler.h"
#include "protocols/http/console_api.h"
#include "protocols/http/console_assets.h"
#include "protocols/http/owner_pages.h"
#include "protocols/http/server.h"
#include "protocols/logs/log_source.h"
#include "protocols/postfix/postfix_policy.h"
#include "protocols/postfix/postfix_server.h"
#include "server/baseline_file.h"
#include "server/build_commit.h"
#include "server/config.h"
#include "server/decision_log.h"
#include "server/durable_store.h"
#include "server/firewall_sync.h"
#include "server/hot_state_sync.h"
#include "server/process_metrics.h"
#include "server/service_notify.h"
#include "store/embedded/embedded_store.h"

namespace mamori::server {

namespace {

constexpr const char* kUsage = R"(usage: mamorid [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--replay]
               [--check-config] [--help] [--version]

mamorid answers login, account-change and send events with a decision
(allow, delay, challenge, deny, lock) over HTTP/JSON. See README.md.

  --config FILE       TOML config (examples/mamori.toml documents every key).
                      Without it, the built-in defaults are used.
  --listen HOST:PORT  address to serve on (default 127.0.0.1:8425)
  --data-dir DIR      where the durable store lives (default ./data)
  --replay            honour the events' "time" field: recorded traffic
                      replays with its own times (windows, expiries)
  --check-config      load and validate the config, then exit
  -h, --help          this text
  --version           print the version

Flags override the config file (a relative --data-dir is taken from the
working directory, relative paths in the file from the file's directory).
SIGTERM or SIGINT shut down cleanly. SIGHUP re-reads the config file (tokens,
detections, notices, webhooks, logging; a broken file is refused and the
running config stays; settings that need a restart are named in the log),
reopens the GeoIP databases and the breached-password store, and reads the
TLS certificate and key again. SIGUSR1 reopens the decision log (after
logrotate renamed it).
)";

// The TOTP key file: configured, or beside the database.
std::string totp_key_file(const Config& config) {
  return config.totp.key_file.empty() ? config.data_dir + "/totp.key" : config.totp.key_file;
}

// The owner links' signer: none when [owner_pages] is off. Its key is a
// subkey of [owner_pages] key_file's key (made when missing), or else of the
// TOTP key file's, so that no further file needs backing up.
Result<std::unique_ptr<notify::OwnerLinks>> owner_links_for(const Config& config,
                                                            const account::SecretBox& totp_box) {
  const notify::OwnerPagesConfig& o = config.owner_pages;
  if (!o.enabled()) return std::unique_ptr<notify::OwnerLinks>();
  std::unique_ptr<account::SecretBox> own;
  if (!o.key_file.empty()) {
    bool created = false;
    auto box = account::SecretBox::from_key_file(o.key_file, true, &created);
    if (!box) return make_error("invalid_config", "[owner_pages] " + box.error().message);
    if (created) log_warn("created owner pages key file " + o.key_file);
    own = std::move(*box);
  }
  const account::SecretBox& box = own ? *own : totp_box;
  std::array<std::uint8_t, 32> key = box.derive(1, "ownerlnk");
  auto links = std::make_unique<notify::OwnerLinks>(key, o);
  sodium_memzero(key.data(), key.size());
  return links;
}

// A data dir from before the store kept an id (mamori.id) whose database was
// emptied or deleted: the TOTP key the daemon made beside it shows that it
// held one. (With mamori.id, the store itself refuses.)
Status check_database_not_lost(const Config& config) {
  if (config.store_backend != "sqlite") return {};  // the database is not in the data dir
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir(config.data_dir);
  const fs::path db = dir / "mamori.db", key = dir / "totp.key";
  const bool have_db = fs::exists(db, ec) && fs::file_size(db, ec) > 0;
  if (have_db || fs::exists(dir / "mamori.id", ec) || !fs::exists(key, ec)) return {};
  return make_error("store_open_failed",
                    "cannot open store " + db.string() + ": the database is " +
                        (fs::exists(db, ec) ? "empty (0 bytes)" : "missing") + ", but " +
                        key.string() +
                        " shows this data dir held one. Restore mamori.db from a backup, or "
                        "move the key file away to start with an empty store");
}

// --check-config: what start would refuse, short of binding the ports and
// taking the data dir (a running daemon holds it). Prints what was checked.
int check_config(const Config& config) {
  auto refuse = [](const std::string& what) {
    std::fprintf(stderr, "mamorid: %s\n", what.c_str());
    return 1;
  };
  if (config.http.tls.enabled()) {
    if (auto tls = http::make_tls_context(config.http.tls); !tls)
      return refuse(tls.error().message);
  }
  if (Status s = check_database_not_lost(config); !s) return refuse(s.error().message);
  if (Status s = check_durable_store(config); !s) return refuse(s.error().message);
  const std::string key_file = totp_key_file(config);
  std::error_code ec;
  if (std::filesystem::exists(key_file, ec)) {
    if (auto box = account::SecretBox::from_key_file(key_file, false); !box)
      return refuse(box.error().message);
  }
  if (!config.dnsbl.zones.empty()) {
    SystemClock clock;
    if (auto b = dnsbl::DnsblResolver::start(config.dnsbl, clock); !b)
      return refuse(b.error().message);
  }
  account::PwnedStoreHolder pwned(config.pwned_file.empty() ? config.data_dir + "/pwned.bin"
                                                            : config.pwned_file);
  if (Status s = pwned.reload(); !s)
    std::fprintf(stderr, "mamorid: warning: %s; password checks would run without breach data\n",
                 s.error().message.c_str());
  if (config.tokens.empty())
    std::fprintf(stderr, "mamorid: warning: no [[tokens]]: every /v1 call would be refused\n");
  for (const logs::LogSourceConfig& l : config.logs) {
    std::error_code ec;
    if (!l.path.empty() && !std::filesystem::exists(l.path, ec))
      std::fprintf(
          stderr,
          "mamorid: warning: [[logs]] %s does not exist (yet): it is read once it appears\n",
          l.path.c_str());
  }
  std::printf("config ok (data dir %s, %zu tokens%s%s)\n", config.data_dir.c_str(),
              config.tokens.size(), config.geoip.empty() ? "" : ", geoip loaded",
              config.logs.empty()
                  ? ""
                  : (", " + std::to_string(config.logs.size()) + " log sources").c_str());
  return 0;
}

// SIGHUP: reopens the GeoIP databases; a file that fails to load leaves the
// ones in use in place.
void reload(geo::MaxmindLocator* locator) {
  if (!locator) return;
  if (Status s = locator->reload(); !s) {
    log_error("SIGHUP: " + s.error().message + "; keeping the databases in use");
    return;
  }
  log_info("SIGHUP: geoip reloaded: " + locator->describe());
}

// What the command line sets over the config file, at start and on every
// reload.
struct Overrides {
  std::string listen, data_dir;
  bool replay = false;
};

Status apply_overrides(const Overrides& flags, Config& config) {
  if (!flags.listen.empty()) {
    if (Status s = parse_listen(flags.listen, config.listen_host, config.listen_port); !s)
      return make_error(s.error().code, "--listen: " + s.error().message);
  }
  if (!flags.data_dir.empty()) config.data_dir = flags.data_dir;
  if (flags.replay) config.replay = true;
  return {};
}

// The parts of the running daemon a config reload reaches.
struct ReloadTargets {
  engine::Engine& engine;
  http::ApiHandler& api;
  notify::Outbox& outbox;
  notify::EmailChannel& email;
  notify::WebhookChannel& webhooks;
  DecisionLog& decisions;
};

// SIGHUP: re-reads the config file and applies what can change while
// running: tokens, detections, notices and webhooks, logging. Each part
// swaps an immutable snapshot, so a request sees the old settings or the
// new ones. A file that fails to load (or a decision log that cannot be
// opened) is refused and the running config stays; a setting that needs a
// restart is named and kept. `running` becomes what now applies.
void reload_config(const std::string& path, const Overrides& flags, Config& running,
                   ReloadTargets& t) {
  if (path.empty()) {
    log_info("SIGHUP: started without --config; no config file to re-read");
    return;
  }
  auto loaded = load_config(path);
  if (loaded) {
    if (Status s = apply_overrides(flags, *loaded); !s) loaded = s.error();
  }
  if (!loaded) {
    log_error("SIGHUP: config refused, the running config stays: " + loaded.error().message);
    return;
  }
  Config& next = *loaded;
  if (next.log.decisions != running.log.decisions) {
    if (Status s = t.decisions.set_path(next.log.decisions); !s) {
      log_error("SIGHUP: config refused, the running config stays: " + s.error().message);
      return;
    }
  }
  for (const std::string& line : changes_needing_restart(running, next))
    log_warn("SIGHUP: " + line);
  // What applies now: the reloadable parts of `next`, the rest as running.
  Config applied = running;
  applied.tokens = next.tokens;
  applied.engine = next.engine;
  applied.engine.memory_budget_bytes = running.engine.memory_budget_bytes;
  applied.engine.incidents = running.engine.incidents;
  applied.notify = next.notify;
  applied.notify.retry_initial = running.notify.retry_initial;
  applied.notify.retry_max = running.notify.retry_max;
  applied.notify.give_up_after = running.notify.give_up_after;
  applied.log.options = next.log.options;
  applied.log.decisions = next.log.decisions;
  set_log_options(applied.log.options);
  t.engine.reconfigure(applied.engine);
  t.api.set_tokens(applied.tokens);
  t.outbox.reconfigure(applied.notify);
  t.email.reconfigure(applied.notify);
  t.webhooks.reconfigure(applied.notify);
  running = std::move(applied);
  log_info("SIGHUP: config reloaded from " + path,
           {{"tokens", std::int64_t(running.tokens.size())},
            {"webhooks", std::int64_t(running.notify.webhooks.size())},
            {"smtp", running.notify.smtp.enabled() ? running.notify.smtp.host : "off"},
            {"decision_log", running.log.decisions.empty() ? "off" : running.log.decisions}});
}

// SIGUSR1: the decision log's file again by its name (logrotate renamed it).
void reopen_decision_log(DecisionLog& decisions) {
  if (Status s = decisions.reopen(); !s) {
    log_error("SIGUSR1: " + s.error().message + "; writing on to the file in use");
    return;
  }
  if (!decisions.path().empty()) log_info("SIGUSR1: decision log reopened: " + decisions.path());
}

// Raises the soft open-files limit (up to the hard one) so that
// server.max_connections connections fit beside the daemon's own files:
// without it the limit would be the descriptors running out, which also
// stops the store and GeoIP files from opening.
void raise_open_files_limit(std::size_t max_connections) {
  constexpr rlim_t kOwnFiles = 256;  // store, GeoIP, Postfix and outbox connections, ...
  const rlim_t want = static_cast<rlim_t>(max_connections) + kOwnFiles;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
    return;
  const rlim_t target = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
  if (target > rl.rlim_cur) {
    rl.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < want)
    log_warn("the open-files limit is " + std::to_string(rl.rlim_cur) +
             ": server.max_connections = " + std::to_string(max_connections) + " needs about " +
             std::to_string(want) + " (raise LimitNOFILE or ulimit -n, or lower max_connections)");
}

// How long the shared hot state keeps observations: the longest window a
// detection counts in.
Duration longest_window(const engine::EngineConfig& e) {
  return std::max({e.brute_force.window, e.account_under_attack.window, e.ip_failures.window,
                   e.credential_stuffing.window, e.network_failures.window, e.password_spray.window,
                   e.distributed_stuffing.window, e.mail_volume.window, e.mail_volume.daily_window,
                   e.mail_geography.window, e.message_fanout.window});
}

// [state] backend = "redis": the hot windows shared over the Redis Cluster.
// Made before the state is loaded (the windows come from the cluster's
// streams, not this node's activity log); none with the memory backend.
std::unique_ptr<HotStateSync> make_hot_state_sync(const Config& config, const Clock& clock,
                                                  engine::Engine& engine) {
  if (!config.redis_state) return nullptr;
  HotStateSyncOptions o = config.redis;
  o.retention =
      config.redis_retention.count() > 0 ? config.redis_retention : longest_window(config.engine);
  // What successful logins feed: credential_stuffing's and password_spray's
  // look-back, distributed_stuffing's honest share.
  const engine::EngineConfig& e = config.engine;
  o.success_retention =
      std::min(o.retention, std::max({e.credential_stuffing.window, e.password_spray.window,
                                      e.distributed_stuffing.window}));
  return std::make_unique<HotStateSync>(
      o, clock, [&engine](const state::Observation& ob) { engine.observe(ob); });
}

// Replays the shared observations into the windows, then publishes this
// node's own from now on. A cluster that cannot be read leaves the node on
// what it could read (the sync logs it and reports itself degraded).
void start_hot_state_sync(HotStateSync& sync, engine::Engine& engine) {
  auto replayed = sync.replay(std::chrono::seconds(30));
  if (replayed)
    log_info("redis: hot state replayed from the cluster: " + std::to_string(*replayed) +
             " observations (node " + sync.node_id() + ")");
  else
    log_warn(replayed.error().message + "; starting on the windows read so far");
  engine.set_observation_sink(&sync);
  sync.start();
}

}  // namespace

int run_daemon(const std::vector<std::string>& args) {
  std::string config_path;
  Overrides flags;
  bool check_only = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "mamorid: %s needs a value\n%s", a.c_str(), kUsage);
        return false;
      }
      out = args[++i];
      return true;
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("mamorid %s\n", kBuildVersion);
      return 0;
    } else if (a == "--config") {
      if (!value(config_path)) return 2;
    } else if (a == "--listen") {
      if (!value(flags.listen)) return 2;
    } else if (a == "--data-dir") {
      if (!value(flags.data_dir)) return 2;
    } else if (a == "--replay") {
      flags.replay = true;
    } else if (a == "--check-config") {
      check_only = true;
    } else {
      std::fprintf(stderr, "mamorid: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }

  Config config;
  if (!config_path.empty()) {
    auto c = load_config(config_path);
    if (!c) {
      log_error("bad config: " + c.error().message);
      return 1;
    }
    config = std::move(*c);
  }
  if (Status s = apply_overrides(flags, config); !s) {
    log_error(s.error().message);
    return 2;
  }
  set_log_options(config.log.options);
  std::unique_ptr<geo::MaxmindLocator> locator;
  if (!config.geoip.empty()) {
    auto l = geo::MaxmindLocator::open(config.geoip);
    if (!l) {
      log_error(l.error().message);
      return 1;
    }
    locator = std::move(*l);
  }
  if (check_only) return check_config(config);
  if (config.tokens.empty())
    log_warn("no [[tokens]] configured: every /v1 call will be refused with 401");

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);   // reloads the config, GeoIP, the breached-password store
  sigaddset(&stop_signals, SIGUSR1);  // reopens the decision log
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (Status s = check_database_not_lost(config); !s) {
    log_error(s.error().message);
    return 1;
  }
  auto durable = open_durable_store(config);
  if (!durable) {
    log_error(durable.error().message);
    return 1;
  }
  std::unique_ptr<store::Store>& store = durable->store;
  // Live: the system clock. Replay: the latest event time seen, so expiries
  // and maintenance follow the recorded traffic.
  SystemClock system_clock;
  ReplayClock replay_clock(system_clock);
  const Clock& clock = config.replay ? static_cast<const Clock&>(replay_clock) : system_clock;
  std::random_device rd;
  engine::Engine engine(config.engine, *store, rd());
  if (locator) {
    engine.set_locator(locator.get());
    log_info("geoip: " + locator->describe());
  }
  std::unique_ptr<dnsbl::DnsblResolver> blocklists;
  if (!config.dnsbl.zones.empty()) {
    auto b = dnsbl::DnsblResolver::start(config.dnsbl, system_clock);
    if (!b) {
      log_error(b.error().message);
      return 1;
    }
    blocklists = std::move(*b);
    engine.set_blocklist(blocklists.get());
    std::string zones;
    for (const std::string& z : config.dnsbl.zones) zones += (zones.empty() ? "" : ", ") + z;
    log_info("dnsbl: " + zones);
  }
  // The decision log: made (off) without [log] decisions too, so that a
  // reload can turn it on.
  DecisionLog decisions(config.log.decisions_queue);
  if (Status s = decisions.set_path(config.log.decisions); !s) {
    log_error(s.error().message);
    return 1;
  }
  engine.set_decision_sink(&decisions);
  if (!config.log.decisions.empty()) log_info("decision log: " + config.log.decisions);
  std::unique_ptr<HotStateSync> hot_sync = make_hot_state_sync(config, system_clock, engine);
  notify_status("loading state from " + durable->where);
  // [firewall]: blocks and deny-list entries as nftables set elements, all
  // restored in one batch as soon as the lists and blocks are read (before
  // the locks, the incidents and the hot windows, which take longer), then
  // kept in step every batch_ms.
  std::unique_ptr<firewall::NftablesFirewall> nftables;
  std::unique_ptr<FirewallSync> firewall_sync;
  if (config.firewall.nftables && config.replay)
    log_warn("replay mode: [firewall] nftables is off (recorded times are not the kernel's)");
  auto blocks_loaded = [&](const engine::Engine::BlocksLoaded& b) {
    log_info("blocks: " + std::to_string(b.blocks) + " read from the store in " +
             std::to_string(b.read.count() / 1000) + " ms, the block table filled in " +
             std::to_string(b.fill.count() / 1000) + " ms");
    if (!config.firewall.nftables || config.replay) return;
    nftables = std::make_unique<firewall::NftablesFirewall>(config.firewall.table);
    firewall_sync = std::make_unique<FirewallSync>(engine, *nftables, config.firewall, clock);
    (void)firewall_sync->sync_now();  // a failure is logged, counted and retried
    firewall_sync->start();
  };
  if (Status s = engine.load(clock.now(), /*warm_windows=*/false, blocks_loaded); !s) {
    log_error("loading state from " + durable->where + ": " + s.error().message);
    return 1;
  }
  if (!hot_sync) {
    if (auto warmed = engine.warm(clock.now()); !warmed) {
      log_error("loading state from " + durable->where + ": " + warmed.error().message);
      return 1;
    }
  }
  // A store shared by several nodes: the locks, list entries and blocks the
  // others write are mirrored here as they commit.
  engine::ChangesElsewhere changes_elsewhere(engine, clock);
  if (durable->listen) durable->listen(&changes_elsewhere);
  // Stops the listener (on every return) before the sink and the engine go.
  struct StopListening {
    std::function<void()> stop;
    ~StopListening() { stop(); }
  } stop_listening{durable->stop_listening};
  log_info("state loaded from " + durable->where + ": " + std::to_string(engine.locks().size()) +
           " locked accounts, " +
           std::to_string(engine.lists().entries(std::nullopt, clock.now()).size()) +
           " list entries, " + std::to_string(engine.blocks().size()) + " blocks, " +
           std::to_string(engine.incidents().open_count()) + " open incidents");
  BaselineFile baseline(config.data_dir + "/baseline", engine.failure_baseline());
  baseline.load();
  if (hot_sync) start_hot_state_sync(*hot_sync, engine);

  // Accounts' security features: TOTP (secrets sealed under the key file)
  // and password checks against the breached-password store.
  const std::string key_file = totp_key_file(config);
  bool key_created = false;
  auto box = account::SecretBox::from_key_file(key_file, true, &key_created);
  if (!box) {
    log_error(box.error().message);
    return 1;
  }
  if (key_created)
    log_warn("created TOTP key file " + key_file + " (key " + (*box)->key_id_hex() +
             "); back it up with the data dir: without it no TOTP secret can be read");
  account::TotpService totp(config.totp, *store, *store, **box, clock);
  account::PwnedStoreHolder pwned(config.pwned_file.empty() ? config.data_dir + "/pwned.bin"
                                                            : config.pwned_file);
  if (Status s = pwned.reload(); !s) {
    log_warn(s.error().message + "; password checks run without breach data");
  } else if (auto p = pwned.get()) {
    log_info("breached-password store " + p->path() + ": " + std::to_string(p->size()) + " hashes");
  } else {
    log_info("no breached-password store at " + pwned.path() +
             " ('mamori pwned import' makes one); password checks run without breach data");
  }
  account::PasswordChecker passwords(config.passwords, &pwned);
  // Owner notices and webhook alerts: queued in the store's outbox by the
  // engine, delivered by the dispatcher's thread. Replay mode sends none
  // (recorded traffic must not mail owners again).
  const notify::NotifyConfig& nc = config.notify;
  // Loads the tz database now rather than on the first contact update.
  if (auto utc = notify::find_time_zone("UTC"); !utc)
    log_error("the system tz database (tzdata) cannot be read: owners' time zones are refused");
  notify::Outbox outbox(*store, *store, *store, nc, engine.ids(), system_clock);
  // Made without an [smtp] host too, so that a reload can turn e-mail on.
  notify::EmailChannel email(nc);
  notify::WebhookChannel webhooks(nc);
  notify::DispatcherOptions dispatch;
  dispatch.retry_initial = nc.retry_initial;
  dispatch.retry_max = nc.retry_max;
  dispatch.give_up_after = nc.give_up_after;
  dispatch.seed = rd();
  notify::Dispatcher dispatcher(*store, *store, system_clock, dispatch, &email, &webhooks);
  outbox.set_on_committed([&dispatcher] { dispatcher.wake(); });
  outbox.set_locator(locator.get());
  // [owner_pages]: signed links in the notices and the owners' own pages.
  auto owner_links = owner_links_for(config, **box);
  if (!owner_links) {
    log_error(owner_links.error().message);
    return 1;
  }
  outbox.set_owner_links(owner_links->get());
  notify::OnceRecords once(*store, *store);
  notify::IncidentNotices incident_notices(*store, outbox, once, engine.ids());
  if (config.replay) {
    log_info("replay mode: no owner notices or webhook alerts are sent");
  } else {
    engine.set_effects(&outbox);
    dispatcher.start();
    log_info("notices: " +
             (nc.smtp.enabled() ? "e-mail via " + nc.smtp.host + ":" + std::to_string(nc.smtp.port)
                                : std::string("no [smtp] relay, owner notices are not sent")) +
             ", " + std::to_string(nc.webhooks.size()) + " webhooks");
  }

  http::ApiOptions api;
  api.totp = &totp;
  api.passwords = &passwords;
  api.pwned = &pwned;
  api.range_public = config.range_public;
  // Padded range answers all have one line count, drawn per start from
  // 800-1000 (the range Pwned Passwords pads to).
  api.range_padding_lines = 800 + int(randombytes_uniform(201));
  api.tokens = config.tokens;
  api.owner_links = owner_links->get();
  if (!config.replay) api.incident_notices = &incident_notices;
  api.more_metrics = [&dispatcher, &outbox](std::string& out) {
    dispatcher.render_metrics(out);
    out += "# HELP mamori_alerts_suppressed_total Webhook alerts not sent: they repeated one sent within notify.alert_repeat_window.\n"
           "# TYPE mamori_alerts_suppressed_total counter\nmamori_alerts_suppressed_total " +
           std::to_string(outbox.alerts_suppressed()) + "\n";
  };
  api.replay = config.replay;
  if (config.replay) api.replay_clock = &replay_clock;
  api.version = kBuildVersion;
  // [store] backend = "postgresql": the profiles that logins need and the
  // cache lacks are read in batches off the HTTP workers.
  std::optional<engine::ProfileBatcher> profile_loads;
  if (config.store_backend == "postgresql") {
    profile_loads.emplace(*store, engine.profiles(), engine::ProfileBatcher::Options{});
    api.profile_loads = &*profile_loads;
  }
  store::Store& st = *store;
  auto commit_waiter = [&st](const store::WriteSpan& writes, std::function<void(bool)> ready) {
    st.on_committed(writes.last, [&st, writes, ready = std::move(ready)](const Status&) {
      ready(st.status(writes).ok());
    });
  };
  postfix::PostfixPolicy postfix_policy(engine, blocklists.get(), clock);
  std::unique_ptr<postfix::PostfixServer> postfix_server;
  if (!config.postfix_host.empty()) {
    postfix::PostfixServerOptions po;
    po.host = config.postfix_host;
    po.port = config.postfix_port;
    po.threads = config.postfix_threads;
    postfix_server = std::make_unique<postfix::PostfixServer>(po, postfix_policy, commit_waiter);
  }
  const http::Server* http_server = nullptr;  // set once it exists, before it starts
  // [[logs]]: log files and the journal, read into the engine on their own
  // threads; started once the listeners are up.
  auto opened_logs = logs::LogSources::open(config.logs, config.data_dir, engine, st, clock,
                                            logs::LogSourceOptions{.replay = config.replay});
  if (!opened_logs) {
    log_error("[[logs]] " + opened_logs.error().message);
    return 1;
  }
  std::unique_ptr<logs::LogSources> log_sources = std::move(*opened_logs);
  api.more_metrics = [&, outbox_metrics = std::move(api.more_metrics)](std::string& out) {
    render_build_info(out);
    render_process_metrics(out);
    if (outbox_metrics) outbox_metrics(out);
    decisions.render_metrics(out);
    if (http_server) http_server->render_metrics(out);
    durable->render_metrics(out);
    if (postfix_server) postfix_server->render_metrics(out);
    if (blocklists) blocklists->render_metrics(out);
    if (log_sources) log_sources->render_metrics(out);
    if (hot_sync) hot_sync->render_metrics(out);
    if (firewall_sync) firewall_sync->render_metrics(out);
    if (profile_loads) profile_loads->render_metrics(out);
  };
  // [console]: sign-in sessions in this node's memory.
  http::ConsoleSessions console_sessions(config.console);
  account::OperatorAccounts operators(*store, *store, **box, clock, config.totp.issuer,
                                      config.totp.params);
  http::ConsoleApi console_api(console_sessions, operators, engine, clock,
                               config.http.tls.enabled());
  if (config.console_enabled) api.console = &console_api;
  http::ApiHandler handler(api, engine, *store, clock);
  http::ServerOptions options = config.http;
  options.host = config.listen_host;
  options.port = config.listen_port;
  options.threads = config.threads;
  http::CommitWaiter http_waiter{
      [&st](std::uint64_t ticket, std::function<void(std::uint64_t)> ready) {
        st.on_committed(ticket,
                        [&st, ready = std::move(ready)](const Status&) { ready(st.committed()); });
      },
      [&st](std::uint64_t first, std::uint64_t last) {
        return st.status(store::WriteSpan{first, last}).ok();
      }};
  std::optional<http::OwnerPages> owner_pages;
  std::optional<http::OwnerPagesRouter> router;
  if (*owner_links) {
    owner_pages.emplace(**owner_links, nc, engine, *store, outbox, once, locator.get(), clock);
    router.emplace(*owner_pages, handler);
    log_info("owner pages: links to " + config.owner_pages.base_url + "/owner/, valid " +
             format_duration(config.owner_pages.link_ttl));
  }
  // The operator console's pages (/console/) in front of the rest, unless
  // [console] is off.
  http::Handler& rest = router ? static_cast<http::Handler&>(*router) : handler;
  http::ConsoleAssets console;
  http::ConsoleRouter console_router(console, rest);
  http::Server server(options, config.console_enabled ? console_router : rest, http_waiter);
  http_server = &server;
  raise_open_files_limit(options.max_connections);
  if (Status s = server.start(); !s) {
    log_error(s.error().message);
    return 1;
  }
  if (postfix_server) {
    if (Status s = postfix_server->start(); !s) {
      log_error("postfix policy listener: " + s.error().message);
      server.stop();
      return 1;
    }
    log_info("postfix policy listener on " + config.postfix_host + ":" +
             std::to_string(postfix_server->port()));
  }
  if (options.tls.enabled())
    log_info("tls: " + server.tls_certificate() +
             (options.tls.client_ca_file.empty()
                  ? std::string()
                  : "; clients need a certificate from " + options.tls.client_ca_file));
  const std::string listening =
      std::string(options.tls.enabled() ? "listening on https://" : "listening on http://") +
      (config.listen_host.find(':') != std::string::npos ? "[" + config.listen_host + "]"
                                                         : config.listen_host) +
      ":" + std::to_string(server.port());
  log_info("mamorid " + build_description() + " " + listening + " with " +
           std::to_string(config.threads) + " threads" +
           (config.replay ? " (replay mode: event times drive the windows)" : ""));
  log_sources->start();
  notify_ready(listening);

  // Maintenance: expiries and pruning, every maintain_every.
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  // A refresh pass of the hot windows (every 5 minutes, seconds of CPU at
  // millions of entries) keeps to a tenth of a core: it sleeps nine times
  // as long as each chunk took, and no longer once the daemon stops.
  engine.set_refresh_pause([&](std::chrono::nanoseconds worked) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, worked * 9, [&] { return stopping; });
  });
  // (config itself changes on SIGHUP; maintain_every needs a restart.)
  std::thread maintenance([&, every = config.maintain_every] {
    pthread_setname_np(pthread_self(), "maintenance");
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, every, [&] { return stopping; })) {
      lock.unlock();
      engine.maintain(clock.now());
      baseline.save_if_changed();
      lock.lock();
    }
  });
  // Rate-limited log lines (malformed requests): report what was dropped
  // once a burst has ended.
  std::thread log_flush([&] {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) {
      lock.unlock();
      flush_limited_logs();
      lock.lock();
    }
  });

  ReloadTargets reload_targets{engine, handler, outbox, email, webhooks, decisions};
  int sig = 0;
  for (;;) {
    sigwait(&stop_signals, &sig);
    if (sig == SIGUSR1) {
      reopen_decision_log(decisions);
      continue;
    }
    if (sig != SIGHUP) break;
    notify_reloading("reloading (SIGHUP)");
    reload_config(config_path, flags, config, reload_targets);
    reload(locator.get());
    if (options.tls.enabled()) {
      if (auto tls = server.reload_tls(); !tls)
        log_error("SIGHUP: " + tls.error().message + "; keeping the certificate in use");
      else
        log_info("SIGHUP: tls certificate reloaded: " + *tls);
    }
    if (Status s = pwned.reload(); !s) {
      log_error("SIGHUP: " + s.error().message + "; keeping the store loaded before");
    } else {
      auto p = pwned.get();
      log_info("SIGHUP: breached-password store " +
               (p ? p->path() + " reloaded, " + std::to_string(p->size()) + " hashes"
                  : pwned.path() + " absent"));
    }
    notify_ready(listening + ", reloaded");
  }
  log_info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
  notify_stopping("shutting down: draining the store's writer");
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  maintenance.join();
  baseline.save_if_changed();
  log_flush.join();
  log_sources->stop();  // the batch in hand is committed and its position saved
  if (firewall_sync) firewall_sync->stop();  // the kernel's sets stay as they are
  if (postfix_server) postfix_server->stop();
  server.stop();
  dispatcher.stop();  // an item in flight finishes; the rest waits in the outbox
  if (hot_sync) hot_sync->stop();  // what this node counted last is published
  // Lookups still pending answer "not listed" to the stopped listeners.
  engine.set_blocklist(nullptr);
  blocklists.reset();
  // Everything queued is committed and its answers' callbacks have run. The
  // store itself is destroyed last, on return, after the engine and every
  // other object that holds it.
  const store::WriteTicket last = durable->drain();
  flush_limited_logs(/*all=*/true);
  log_info("stopped cleanly (last write " + std::to_string(last) + " committed)");
  return 0;
}

}  // namespace mamori::server
