// Breached-password store benchmarks.
//
//   pwned_bench --generate FILE N [--seed S]
//       writes N random "SHA1HEX:COUNT" lines (unsorted) for `mamori pwned import`
//   pwned_bench --store FILE --n N [--seed S] [benchmark flags]
//       lookups against a store imported from such a file: hashes that are in
//       it (regenerated from the seed), hashes that are not, and range answers
//
// bench/pwned_bench.sh runs the whole thing (generate, import under
// /usr/bin/time -v, look up) and is not part of `make test`.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "account/pwned_store.h"

namespace {

using mamori::account::PwnedStore;
using mamori::account::Sha1Digest;

std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The i-th generated hash and count.
void nth(std::uint64_t seed, std::uint64_t i, Sha1Digest& h, std::uint32_t& count) {
  std::uint64_t x = seed * 0x100000001B3ull + i * 0x9E3779B97F4A7C15ull;
  std::uint64_t w[3] = {splitmix(x), splitmix(x), splitmix(x)};
  std::memcpy(h.data(), w, 20);
  count = std::uint32_t(w[2] >> 40) % 100000 + 1;
}

std::string g_store;
std::uint64_t g_n = 0, g_seed = 1;
std::shared_ptr<const PwnedStore> g_open;

const PwnedStore& store() {
  if (!g_open) {
    auto s = PwnedStore::open(g_store);
    if (!s) {
      std::fprintf(stderr, "%s\n", s.error().message.c_str());
      std::exit(1);
    }
    g_open = *s;
  }
  return *g_open;
}

void BM_LookupPresent(benchmark::State& state) {
  const PwnedStore& s = store();
  std::uint64_t x = 12345 + std::uint64_t(state.thread_index());
  std::uint64_t found = 0;
  Sha1Digest h;
  std::uint32_t c;
  for (auto _ : state) {
    nth(g_seed, splitmix(x) % g_n, h, c);
    found += s.count(h) == c;
  }
  if (found != std::uint64_t(state.iterations())) state.SkipWithError("a present hash was not found");
  state.SetItemsProcessed(state.iterations());
}

void BM_LookupAbsent(benchmark::State& state) {
  const PwnedStore& s = store();
  std::uint64_t x = 999 + std::uint64_t(state.thread_index());
  std::uint64_t hits = 0;
  Sha1Digest h;
  for (auto _ : state) {
    std::uint64_t w[3] = {splitmix(x), splitmix(x), splitmix(x)};
    std::memcpy(h.data(), w, 20);
    hits += s.count(h) != 0;
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(state.iterations());
}

void BM_Range(benchmark::State& state) {
  const PwnedStore& s = store();
  std::uint64_t x = 7 + std::uint64_t(state.thread_index());
  std::size_t lines = 0;
  for (auto _ : state) lines += s.range(std::uint32_t(splitmix(x) & 0xFFFFF)).size();
  state.counters["lines_per_range"] =
      benchmark::Counter(double(lines) / double(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_LookupPresent)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_LookupAbsent)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Range)->Threads(1)->UseRealTime();

int generate(const char* path, std::uint64_t n, std::uint64_t seed) {
  std::FILE* f = std::fopen(path, "wb");
  if (!f) {
    std::perror(path);
    return 1;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::vector<char> buf;
  buf.reserve(1 << 22);
  Sha1Digest h;
  std::uint32_t c;
  for (std::uint64_t i = 0; i < n; ++i) {
    nth(seed, i, h, c);
    char line[64];
    for (int j = 0; j < 20; ++j) {
      line[2 * j] = kHex[h[std::size_t(j)] >> 4];
      line[2 * j + 1] = kHex[h[std::size_t(j)] & 15];
    }
    const int len = 40 + std::snprintf(line + 40, sizeof line - 40, ":%u\n", c);
    buf.insert(buf.end(), line, line + len);
    if (buf.size() > (1 << 22) - 64) {
      if (std::fwrite(buf.data(), 1, buf.size(), f) != buf.size()) return std::perror(path), 1;
      buf.clear();
    }
  }
  if (std::fwrite(buf.data(), 1, buf.size(), f) != buf.size() || std::fclose(f) != 0)
    return std::perror(path), 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest = {argv[0]};
  const char* gen_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--generate" && i + 2 < argc) {
      gen_path = argv[++i];
      g_n = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--store" && i + 1 < argc) {
      g_store = argv[++i];
    } else if (a == "--n" && i + 1 < argc) {
      g_n = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--seed" && i + 1 < argc) {
      g_seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (gen_path) return generate(gen_path, g_n, g_seed);
  if (g_store.empty() || g_n == 0) {
    std::fprintf(stderr,
                 "usage: pwned_bench --generate FILE N [--seed S]\n"
                 "       pwned_bench --store FILE --n N [--seed S] [--benchmark_...]\n");
    return 2;
  }
  int rargc = int(rest.size());
  benchmark::Initialize(&rargc, rest.data());
  std::printf("store %s: %llu hashes\n", g_store.c_str(), (unsigned long long)store().size());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
