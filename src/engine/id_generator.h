#ifndef MAMORI_ENGINE_ID_GENERATOR_H_
#define MAMORI_ENGINE_ID_GENERATOR_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "core/clock.h"

namespace mamori::engine {

// Makes ids for events, list entries and incidents: 12 hex digits of the
// time in milliseconds and 8 of a counter that starts at a seed, so ids sort
// by time and do not repeat across restarts. Thread-safe.
class IdGenerator {
 public:
  explicit IdGenerator(std::uint32_t seed) : counter_(seed) {}
  std::string next(TimePoint now);

 private:
  std::atomic<std::uint32_t> counter_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_ID_GENERATOR_H_
