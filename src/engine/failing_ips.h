#ifndef MAMORI_ENGINE_FAILING_IPS_H_
#define MAMORI_ENGINE_FAILING_IPS_H_

#include <cstddef>

#include "state/clock_map.h"
#include "state/distinct_window.h"
#include "state/sliding_counter.h"

namespace mamori::engine {

// What the engine keeps of an IP with failed logins for the detectors that
// count by IP: ip_failures' count of its failures and credential_stuffing's
// accounts it failed on. One entry serves both, so an attack from millions
// of addresses costs one table slot per address for them, not two.
struct FailingIp {
  state::SlidingCounter failures;  // ip_failures
  state::DistinctWindow accounts;  // credential_stuffing
  std::size_t memory_bytes() const { return accounts.memory_bytes(); }
};

// Keyed by IpAddress::hash(). Thread-safe (see ClockMap).
using FailingIps = state::ClockMap<FailingIp>;

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_FAILING_IPS_H_
