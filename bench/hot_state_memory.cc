// Memory of the hot state under an attack from many distinct addresses:
// feeds N failed logins, each from a new IP on one of 1,000 accounts, through
// the engine and prints the hot state's own accounting (entries, bytes per
// tracked IP, evictions) and the process's peak RSS. The IPs are 7 apart
// (about 36 in each /24: "clustered", the default) or each in a /24 of its
// own ("spread", a botnet's addresses).
//
//   ./build/bench/hot_state_memory [N=1000000] [budget_mb=1024] [clustered|spread]

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/engine.h"
#include "store/embedded/embedded_store.h"

using namespace mamori;

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  const long budget_mb = argc > 2 ? std::atol(argv[2]) : 1024;
  const std::string layout = argc > 3 ? argv[3] : "clustered";
  if (layout != "clustered" && layout != "spread") {
    std::fprintf(stderr, "hot_state_memory: the layout is clustered or spread, not %s\n",
                 layout.c_str());
    return 2;
  }
  const std::uint32_t step = layout == "spread" ? 256 : 7;
  char tmpl[] = "/tmp/mamori-mem-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  struct rusage before {};
  getrusage(RUSAGE_SELF, &before);
  {
    auto store = std::move(*store::EmbeddedStore::open(dir));
    engine::EngineConfig config;
    config.memory_budget_bytes = std::size_t(budget_mb) << 20;
    engine::Engine engine(config, *store, 1);
    (void)engine.load(from_unix_ms(1'800'000'000'000));
    Event e;
    e.type = EventType::kLoginResult;
    e.success = false;
    store::WriteTicket last = 0;
    for (long i = 0; i < n; ++i) {
      e.account = "user" + std::to_string(i % 1000);
      e.ip = IpAddress::from_v4(std::uint32_t(0x01000000 + std::uint64_t(i) * step));
      e.time = from_unix_ms(1'800'000'000'000 + i);
      last = std::max(last, engine.process(e).writes.last);
      if (i % 200'000 == 0 && i > 0) {
        const auto h = engine.hot_state();
        std::fprintf(stderr, "  %ld events, %zu entries, %.1f MiB\n", i, h.entries,
                     double(h.bytes) / (1 << 20));
      }
    }
    const auto h = engine.hot_state();
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("distinct IPs          %ld (%s)\n", n, layout.c_str());
    std::printf("hot-state entries     %zu\n", h.entries);
    std::printf("hot-state bytes       %zu (budget %zu)\n", h.bytes, h.budget_bytes);
    std::printf("bytes per tracked IP  %.0f\n", double(h.bytes) / double(n));
    std::printf("evictions             %llu\n", (unsigned long long)h.evictions);
    // Maintenance an hour on, once the writes are committed: every window
    // is ranked afresh, the brute-force ones (1 h) have emptied and go.
    (void)store->wait(last);
    timespec cpu0{}, cpu1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    const auto t0 = std::chrono::steady_clock::now();
    engine.maintain(from_unix_ms(1'800'000'000'000 + n + 3'600'000));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    const double cpu_ms =
        double(cpu1.tv_sec - cpu0.tv_sec) * 1e3 + double(cpu1.tv_nsec - cpu0.tv_nsec) / 1e6;
    std::printf("maintenance pass      %.0f ms, %.0f ms of CPU (%zu entries after)\n", ms, cpu_ms,
                engine.hot_state().entries);
    std::printf("peak RSS              %.1f MiB (at start %.1f MiB)\n", ru.ru_maxrss / 1024.0,
                before.ru_maxrss / 1024.0);
  }
  std::filesystem::remove_all(dir);
}
