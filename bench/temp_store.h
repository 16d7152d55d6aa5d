#ifndef MAMORI_BENCH_TEMP_STORE_H_
#define MAMORI_BENCH_TEMP_STORE_H_

// What the micro benchmarks share: the real embedded store in a directory of
// its own, removed afterwards, the user agents of real browsers, and their
// accounts' names.

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/temp_dir.h"
#include "store/embedded/embedded_store.h"

namespace mamori::bench {

struct TempStore {
  TempDir tmp{"mamori-bench", "/tmp"};
  const std::string& dir = tmp.path();
  std::unique_ptr<store::EmbeddedStore> store;

  TempStore() { store = std::move(*store::EmbeddedStore::open(dir)); }
  ~TempStore() { store.reset(); }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;
};

inline constexpr const char* kBrowserUserAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"};

// "user<n>@example.com" in `out`, reusing its buffer.
inline void set_account(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.assign("user");
  out.append(digits, end);
  out.append("@example.com");
}

}  // namespace mamori::bench

#endif  // MAMORI_BENCH_TEMP_STORE_H_
