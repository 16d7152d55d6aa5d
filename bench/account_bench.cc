// Micro benchmark of normalize_account, which every request calls once:
// the plain ASCII names most services have, and names that need Unicode
// normalization (fullwidth letters, a composed and a decomposed accent, a
// Japanese name).
//
//   ./build/bench/account_bench --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <string>

#include "core/event.h"

namespace {

using mamori::normalize_account;

void normalize(benchmark::State& state, const std::string& name) {
  for (auto _ : state) {
    auto r = normalize_account(name);
    benchmark::DoNotOptimize(r);
  }
}

// What web shops send: an e-mail address, mixed case.
BENCHMARK_CAPTURE(normalize, ascii_email, std::string("Alice.Example@Example.COM"));
// A short login name (fits the small-string buffer).
BENCHMARK_CAPTURE(normalize, ascii_short, std::string("alice"));
// Fullwidth "Ａｌｉｃｅ@example.jp".
BENCHMARK_CAPTURE(normalize, fullwidth,
                  std::string("\xEF\xBC\xA1\xEF\xBD\x8C\xEF\xBD\x89\xEF\xBD\x83\xEF\xBD\x85"
                              "@example.jp"));
// "José@example.com" with a composed é.
BENCHMARK_CAPTURE(normalize, latin_composed, std::string("Jos\xC3\xA9@example.com"));
// "José@example.com" with e + U+0301.
BENCHMARK_CAPTURE(normalize, latin_decomposed, std::string("Jose\xCC\x81@example.com"));
// "守り太郎@例え.jp".
BENCHMARK_CAPTURE(normalize, japanese,
                  std::string("\xE5\xAE\x88\xE3\x82\x8A\xE5\xA4\xAA\xE9\x83\x8E@"
                              "\xE4\xBE\x8B\xE3\x81\x88.jp"));

}  // namespace

BENCHMARK_MAIN();
