// Micro benchmarks of the engine alone (no HTTP): decisions per second for
// login attempts and results, the credential-stuffing path, a log replay's
// mix, and list lookups with 100,000 CIDRs. The store is the real embedded
// one (SQLite in a temp dir; the store in memory for the replay's mix): the
// engine pays for queueing its writes; the writer commits them on its own
// thread. Every 4,096 decisions the loop waits for the last one's
// commit, as requests wait for theirs, so the write queue stays bounded; the
// rate is per CPU second of the deciding thread, so the wait is not counted.
//
//   ./build/bench/engine_bench --benchmark_min_time=2

#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "store/memory/memory_store.h"
#include "temp_store.h"

namespace {

using namespace mamori;

// The engine on a store of its own (members are destroyed in reverse: the
// engine before its store).
struct Fixture {
  bench::TempStore temp;
  std::unique_ptr<engine::Engine> engine;

  explicit Fixture(engine::EngineConfig config = {}) {
    engine = std::make_unique<engine::Engine>(config, *temp.store, 1);
    (void)engine->load(from_unix_ms(1'800'000'000'000));
  }
};

// A realistic mix: 90% distinct accounts, 10% failures, IPv4 and IPv6,
// browser user agents.
std::vector<Event> make_events(std::size_t n, EventType type) {
  std::mt19937_64 rng(42);
  std::vector<Event> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    Event& e = out[i];
    e.type = type;
    e.account = "user" + std::to_string(rng() % 10 == 0 ? rng() % 1000 : i) + "@example.com";
    e.ip = rng() % 4 == 0 ? *IpAddress::parse("2001:db8:" + std::to_string(rng() % 9000) +
                                              "::" + std::to_string(rng() % 9000))
                          : IpAddress::from_v4(std::uint32_t(0x0a000000 + rng() % 0xffffff));
    e.user_agent = bench::kBrowserUserAgents[i % 3];
    e.success = rng() % 10 != 0;
    e.pwhash = std::to_string(rng());
    e.time = from_unix_ms(1'800'000'000'000 + std::int64_t(i));
  }
  return out;
}

// Decides the events in turn, waiting for the commit every 4,096 decisions.
void run_events(benchmark::State& state, EventType type) {
  Fixture f;
  auto events = make_events(1 << 16, type);
  std::size_t i = 0;
  for (auto _ : state) {
    const engine::Outcome out = f.engine->process(events[i++ & (events.size() - 1)]);
    benchmark::DoNotOptimize(out);
    if ((i & 4095) == 0 && !out.writes.empty()) (void)f.temp.store->wait(out.writes.last);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LoginAttempt(benchmark::State& state) { run_events(state, EventType::kLoginAttempt); }
BENCHMARK(BM_LoginAttempt);

void BM_LoginResult(benchmark::State& state) { run_events(state, EventType::kLoginResult); }
BENCHMARK(BM_LoginResult);

// One IP failing on ever new accounts: the stuffing detector and its
// incident on every call after the threshold.
void BM_CredentialStuffingWave(benchmark::State& state) {
  Fixture f;
  Event e;
  e.type = EventType::kLoginResult;
  e.ip = *IpAddress::parse("203.0.113.7");
  e.success = false;
  std::int64_t i = 0;
  for (auto _ : state) {
    e.account = "victim" + std::to_string(i);
    e.time = from_unix_ms(1'800'000'000'000 + i++);
    const engine::Outcome out = f.engine->process(e);
    benchmark::DoNotOptimize(out);
    if ((i & 4095) == 0 && !out.writes.empty()) (void)f.temp.store->wait(out.writes.last);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CredentialStuffingWave);

// Failed logins on one account, each from a new address of one IPv6 /64,
// with a 16 MB hot-state budget: past the first ~100,000 the budget is full
// and every failure evicts windows, the path a flood from many addresses
// takes.
void BM_FailureFloodUnderBudget(benchmark::State& state) {
  engine::EngineConfig config;
  config.memory_budget_bytes = std::size_t(16) << 20;
  Fixture f(config);
  Event e;
  e.type = EventType::kLoginResult;
  e.account = "dummy";
  e.success = false;
  std::array<std::uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x77, 0x00, 0x01};
  std::uint64_t i = 0;
  for (auto _ : state) {
    ++i;
    for (int k = 0; k < 8; ++k) b[15 - k] = std::uint8_t(i >> (8 * k));
    e.ip = IpAddress::from_bytes(b);
    e.time = from_unix_ms(1'800'000'000'000 + std::int64_t(i));
    const engine::Outcome out = f.engine->process(e);
    benchmark::DoNotOptimize(out);
    if ((i & 4095) == 0 && !out.writes.empty()) (void)f.temp.store->wait(out.writes.last);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["evictions"] = double(f.engine->hot_state().evictions);
}
BENCHMARK(BM_FailureFloodUnderBudget)->Iterations(600'000);

// What `mamori logs replay` gives the engine for a mail host's day
// (bench/fail2ban_compare.py's Dovecot log): on the store kept in memory
// without an activity log, IMAP logins of 20,000 users from their own
// addresses, and three events in ten failures (typos, brute force from 50
// addresses, stuffing from 50 more), 250 ms of event time apart.
// `successes_only`: the logins alone, the profiles' path.
void run_mail_day(benchmark::State& state, bool successes_only) {
  store::MemoryStore store(store::MemoryStoreOptions{.keep_activity = false});
  engine::Engine engine(engine::EngineConfig{}, store, 1);
  const TimePoint t0 = from_unix_ms(1'800'000'000'000);
  (void)engine.load(t0);
  std::mt19937_64 rng(7);
  auto address = [&] { return IpAddress::from_v4(std::uint32_t(0x0b000000 + rng() % 0xd0000000)); };
  std::vector<std::string> users;
  std::vector<IpAddress> homes;
  for (int i = 0; i < 20'000; ++i) {
    users.push_back("user" + std::to_string(i) + "@example.com");
    homes.push_back(address());
  }
  std::vector<IpAddress> brute, stuffers;
  for (int i = 0; i < 50; ++i) brute.push_back(address());
  for (int i = 0; i < 50; ++i) stuffers.push_back(address());
  std::vector<Event> events(1 << 16);
  for (Event& e : events) {
    e.type = EventType::kLoginResult;
    e.protocol = "imap";
    const std::size_t u = rng() % users.size();
    e.account = users[u];
    e.ip = homes[u];
    e.success = successes_only || rng() % 10 < 7;
    if (e.success) continue;
    const unsigned k = unsigned(rng() % 100);
    if (k >= 30 && k < 65) {
      const std::size_t b = rng() % brute.size();
      e.ip = brute[b];
      e.account = "victim" + std::to_string(b % 100) + "@example.com";
    } else if (k >= 65) {
      e.ip = stuffers[rng() % stuffers.size()];
    }
  }
  std::int64_t i = 0;
  for (auto _ : state) {
    Event& e = events[std::size_t(i) & (events.size() - 1)];
    e.time = t0 + std::chrono::milliseconds(250 * i++);
    benchmark::DoNotOptimize(engine.process(e));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MailHostDayOnMemoryStore(benchmark::State& state) { run_mail_day(state, false); }
BENCHMARK(BM_MailHostDayOnMemoryStore);

void BM_KnownAccountsLoginsOnMemoryStore(benchmark::State& state) { run_mail_day(state, true); }
BENCHMARK(BM_KnownAccountsLoginsOnMemoryStore);

// A list lookup (allow and deny) against 100,000 CIDRs of mixed lengths.
void BM_ListLookup100kCidrs(benchmark::State& state) {
  std::mt19937_64 rng(7);
  std::vector<store::ListEntry> entries;
  for (int i = 0; i < 100'000; ++i) {
    const int prefix = 16 + int(rng() % 17);
    const IpAddress ip = IpAddress::from_v4(std::uint32_t(rng())).masked(prefix);
    store::ListEntry e;
    e.id = std::to_string(i);
    e.kind = i % 2 ? store::ListKind::kDeny : store::ListKind::kAllow;
    e.target = Cidr(ip, prefix).to_string();
    entries.push_back(e);
  }
  engine::ListIndex index(std::move(entries));
  std::vector<IpAddress> probes;
  for (int i = 0; i < 4096; ++i) probes.push_back(IpAddress::from_v4(std::uint32_t(rng())));
  const TimePoint now = from_unix_ms(1'800'000'000'000);
  std::size_t i = 0;
  for (auto _ : state) {
    const IpAddress& ip = probes[i++ & 4095];
    benchmark::DoNotOptimize(index.match_ip(store::ListKind::kDeny, ip, now));
    benchmark::DoNotOptimize(index.match_ip(store::ListKind::kAllow, ip, now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ListLookup100kCidrs);

}  // namespace

BENCHMARK_MAIN();
