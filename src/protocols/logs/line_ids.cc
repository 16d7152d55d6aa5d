#include "protocols/logs/line_ids.h"

#include <cstdint>

#include "core/hash.h"

namespace mamori::logs {

std::string line_event_id(std::string_view source, std::string_view origin, std::string_view text,
                          int ordinal, TimePoint line_time) {
  // Each part's length goes into the hash with it (hash_bytes), so no two
  // splits of the same bytes into parts hash alike.
  std::uint64_t h = hash_bytes(source, 0x6c696e652d696473ULL);
  h = hash_bytes(origin, h);
  h = hash_bytes(text, h);
  h = mix64(h ^ std::uint64_t(std::uint32_t(ordinal)));
  const std::uint64_t ms = std::uint64_t(line_time.time_since_epoch().count());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(20, '0');
  for (int j = 0; j < 12; ++j) id[std::size_t(j)] = kHex[(ms >> (44 - 4 * j)) & 0xf];
  for (int j = 0; j < 8; ++j) id[std::size_t(12 + j)] = kHex[(h >> (60 - 4 * j)) & 0xf];
  return id;
}

}  // namespace mamori::logs
