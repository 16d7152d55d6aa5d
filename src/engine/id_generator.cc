#include "engine/id_generator.h"

namespace mamori::engine {

namespace {

// Writes the low `digits` hex digits of `v` (lower case, zero-padded) at `out`.
void put_hex(char* out, std::uint64_t v, int digits) {
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[i] = kHex[v & 0xf];
}

}  // namespace

std::string IdGenerator::next(TimePoint now) {
  const std::uint32_t c = counter_.fetch_add(1, std::memory_order_relaxed);
  const auto ms = static_cast<std::uint64_t>(to_unix_ms(now));
  std::string id(20, '0');
  put_hex(id.data(), ms, 12);
  put_hex(id.data() + 12, c, 8);
  return id;
}

}  // namespace mamori::engine
