// Micro benchmarks of the embedded store alone (SQLite in a temp dir): the
// CPU that one durable row costs, counted over the whole process (the thread
// that queues it, the writer that commits it and the checkpoint thread), for
// the rows a login result writes: its activity record and, for an account
// seen for the first time, its profile. Rows are queued in groups and each
// group's last ticket is waited for, as an HTTP worker's answers wait for
// their commit; the group size (the argument) is the number of rows one
// commit carries (at full HTTP load about 60 results).
//
//   ./build/bench/store_bench --benchmark_min_time=2
//
// Counters: cpu_us_per_row (process CPU time per row, every thread),
// cpu_us_per_result (the same per login result, for both rows together),
// rows_per_s (per wall-clock second).

#include <benchmark/benchmark.h>

#include <charconv>
#include <chrono>
#include <ctime>
#include <string>

#include "temp_store.h"

namespace {

using namespace mamori;

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

constexpr const char* kUserAgent = bench::kBrowserUserAgents[0];

// What a successful login of a new account writes: a clean result record.
store::ActivityRecord result_record() {
  store::ActivityRecord r;
  r.event_id = "ev-0123456789abcdef";
  r.type = EventType::kLoginResult;
  r.ip = *IpAddress::parse("203.0.113.77");
  r.country = "JP";
  r.city = "Tokyo";
  r.user_agent = kUserAgent;
  r.success = true;
  r.action = Action::kAllow;
  return r;
}

// The profile a first login leaves: one device, one country, one network,
// the place of the login.
store::AccountProfile first_login_profile(TimePoint t) {
  store::AccountProfile p;
  p.devices.push_back({"ua:Chrome/Windows", "", kUserAgent, t, t});
  p.countries.push_back("JP");
  p.asns.push_back(2516);
  p.last_success =
      store::LoginPlace{t, *IpAddress::parse("203.0.113.77"), "JP", "Tokyo", 35.68, 139.69, true};
  return p;
}

enum Rows { kActivity = 1, kProfile = 2, kBoth = kActivity | kProfile };

void run_rows(benchmark::State& state, int rows) {
  bench::TempStore f;
  const auto group = static_cast<std::size_t>(state.range(0));
  store::ActivityRecord record = result_record();
  const TimePoint start = from_unix_ms(1'800'000'000'000);
  store::AccountProfile profile = first_login_profile(start);
  std::string account;
  std::uint64_t n = 0;
  std::size_t written = 0;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    store::WriteTicket last = 0;
    for (std::size_t i = 0; i < group; ++i, ++n) {
      bench::set_account(account, n);
      if (rows & kActivity) {
        record.account = account;
        record.time = start + std::chrono::milliseconds(n);
        last = f.store->append_activity(record);
        ++written;
      }
      if (rows & kProfile) {
        last = f.store->put_profile(account, profile);
        ++written;
      }
    }
    if (Status s = f.store->wait(last); !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
  }
  const double cpu = process_cpu_seconds() - cpu0;
  state.counters["cpu_us_per_row"] = written ? cpu * 1e6 / double(written) : 0;
  if (rows == kBoth) state.counters["cpu_us_per_result"] = n ? cpu * 1e6 / double(n) : 0;
  state.counters["rows_per_s"] = benchmark::Counter(double(written), benchmark::Counter::kIsRate);
}

void BM_ActivityRow(benchmark::State& state) { run_rows(state, kActivity); }
BENCHMARK(BM_ActivityRow)->Arg(1)->Arg(64)->Arg(4096)->UseRealTime();

void BM_ProfileRow(benchmark::State& state) { run_rows(state, kProfile); }
BENCHMARK(BM_ProfileRow)->Arg(1)->Arg(64)->Arg(4096)->UseRealTime();

// Both rows of a new account's successful login, as one commit carries them.
void BM_LoginResultRows(benchmark::State& state) { run_rows(state, kBoth); }
BENCHMARK(BM_LoginResultRows)->Arg(1)->Arg(64)->Arg(4096)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
