#include "engine/id_generator.h"

#include <cstdio>

namespace mamori::engine {

std::string IdGenerator::next(TimePoint now) {
  const std::uint32_t c = counter_.fetch_add(1, std::memory_order_relaxed);
  const auto ms = static_cast<unsigned long long>(to_unix_ms(now)) & 0xffffffffffffULL;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%012llx%08x", ms, c);
  return buf;
}

}  // namespace mamori::engine
