#include "server/daemon.h"

#include <signal.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "core/clock.h"
#include "core/log.h"
#include "engine/engine.h"
#include "geo/maxmind_locator.h"
#include "protocols/http/api_handler.h"
#include "protocols/http/server.h"
#include "protocols/postfix/postfix_policy.h"
#include "protocols/postfix/postfix_server.h"
#include "server/config.h"
#include "store/sqlite/sqlite_store.h"

namespace mamori::server {

namespace {

constexpr const char* kUsage = R"(usage: mamorid [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--replay]

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

Flags override the config file. SIGTERM or SIGINT shut down cleanly; SIGHUP
reopens the GeoIP databases (a broken file is refused, the old one stays).
)";

constexpr const char* kVersion = "0.1.0";

// SIGHUP: reopens the GeoIP databases; a file that fails to load leaves the
// ones in use in place.
void reload(geo::MaxmindLocator* locator) {
  if (!locator) {
    log_info("SIGHUP: nothing to reload");
    return;
  }
  if (Status s = locator->reload(); !s) {
    log_error("SIGHUP: " + s.error().message + "; keeping the databases in use");
    return;
  }
  log_info("SIGHUP: geoip reloaded: " + locator->describe());
}

}  // namespace

int run_daemon(const std::vector<std::string>& args) {
  std::string config_path, listen, data_dir;
  bool replay = false, check_only = false;
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
      std::printf("mamorid %s\n", kVersion);
      return 0;
    } else if (a == "--config") {
      if (!value(config_path)) return 2;
    } else if (a == "--listen") {
      if (!value(listen)) return 2;
    } else if (a == "--data-dir") {
      if (!value(data_dir)) return 2;
    } else if (a == "--replay") {
      replay = true;
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
  if (!listen.empty()) {
    if (Status s = parse_listen(listen, config.listen_host, config.listen_port); !s) {
      log_error("--listen: " + s.error().message);
      return 2;
    }
  }
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (replay) config.replay = true;
  std::unique_ptr<geo::MaxmindLocator> locator;
  if (!config.geoip.empty()) {
    auto l = geo::MaxmindLocator::open(config.geoip);
    if (!l) {
      log_error(l.error().message);
      return 1;
    }
    locator = std::move(*l);
  }
  if (check_only) {
    std::printf("config ok\n");
    return 0;
  }
  if (config.tokens.empty())
    log_warn("no [[tokens]] configured: every /v1 call will be refused with 401");

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto store = store::SqliteStore::open(config.data_dir);
  if (!store) {
    log_error(store.error().message);
    return 1;
  }
  // Live: the system clock. Replay: the latest event time seen, so expiries
  // and maintenance follow the recorded traffic.
  SystemClock system_clock;
  ReplayClock replay_clock(system_clock);
  const Clock& clock = config.replay ? static_cast<const Clock&>(replay_clock) : system_clock;
  std::random_device rd;
  engine::Engine engine(config.engine, **store, rd());
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
  if (Status s = engine.load(clock.now()); !s) {
    log_error("loading state from " + config.data_dir + ": " + s.error().message);
    return 1;
  }
  log_info("state loaded from " + config.data_dir + ": " + std::to_string(engine.locks().size()) +
           " locked accounts, " + std::to_string(engine.lists().entries(std::nullopt, clock.now()).size()) +
           " list entries, " + std::to_string(engine.blocks().size()) + " blocks, " +
           std::to_string(engine.incidents().open_count()) + " open incidents");

  http::ApiOptions api;
  api.tokens = config.tokens;
  api.replay = config.replay;
  if (config.replay) api.replay_clock = &replay_clock;
  api.version = kVersion;
  store::Store& st = **store;
  auto commit_waiter = [&st](std::uint64_t ticket, std::function<void()> ready) {
    st.on_committed(ticket, [ready = std::move(ready)](const Status&) { ready(); });
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
  api.extra_metrics = [&](std::string& out) {
    if (postfix_server) postfix_server->render_metrics(out);
    if (blocklists) blocklists->render_metrics(out);
  };
  http::ApiHandler handler(api, engine, **store, clock);
  http::ServerOptions options;
  options.host = config.listen_host;
  options.port = config.listen_port;
  options.threads = config.threads;
  http::Server server(options, handler, [&st](std::uint64_t ticket, std::function<void()> ready) {
    st.on_committed(ticket, [ready = std::move(ready)](const Status&) { ready(); });
  });
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
  log_info(std::string("mamorid ") + kVersion + " listening on http://" +
           (config.listen_host.find(':') != std::string::npos ? "[" + config.listen_host + "]"
                                                               : config.listen_host) +
           ":" + std::to_string(server.port()) + " with " + std::to_string(config.threads) +
           " threads" + (config.replay ? " (replay mode: event times drive the windows)" : ""));

  // Maintenance: expiries and pruning, every maintain_every.
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread maintenance([&] {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, config.maintain_every, [&] { return stopping; })) {
      lock.unlock();
      engine.maintain(clock.now());
      lock.lock();
    }
  });

  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) reload(locator.get());
  log_info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  maintenance.join();
  if (postfix_server) postfix_server->stop();
  server.stop();
  // Lookups still pending answer "not listed" to the stopped listeners.
  engine.set_blocklist(nullptr);
  blocklists.reset();
  const store::WriteTicket last = st.committed();
  store->reset();  // drains the writer: everything queued is committed
  log_info("stopped cleanly (last write " + std::to_string(last) + " committed)");
  return 0;
}

}  // namespace mamori::server
