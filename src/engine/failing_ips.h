#ifndef MAMORI_ENGINE_FAILING_IPS_H_
#define MAMORI_ENGINE_FAILING_IPS_H_

#include <algorithm>
#include <cstddef>

#include "core/clock.h"
#include "engine/engine_config.h"
#include "state/clock_map.h"
#include "state/distinct_window.h"
#include "state/sliding_counter.h"

namespace mamori::engine {

// What the engine keeps of an IP with failed logins for the detectors that
// count by IP: ip_failures' count of its failures and credential_stuffing's
// accounts it failed on. One entry serves both, so an attack from millions
// of addresses costs one table slot per address for them, not two. Each
// detector raises the entry's worth (state::Worth) by how close its own
// count is to firing; refresh_failing_ip() sets it afresh from both.
//
// Its successful logins are kept too, but only while it has an entry (it
// failed within the window): the accounts it logged into, up to
// credential_stuffing's threshold, for the incident to look back on when it
// opens. A success creates no entry, so honest traffic costs nothing here;
// an IP whose first login in the window succeeded is not remembered for it.
struct FailingIp {
  state::SlidingCounter failures;   // ip_failures
  state::DistinctWindow accounts;   // credential_stuffing: accounts failed on
  state::DistinctWindow successes;  // credential_stuffing: accounts logged into
  std::size_t memory_bytes() const { return accounts.memory_bytes() + successes.memory_bytes(); }
};

// Keyed by IpAddress::hash(). Thread-safe (see ClockMap).
using FailingIps = state::ClockMap<FailingIp>;

// For FailingIps::refresh(): the entry's worth at `now` from both of its
// counts; false when both windows are empty (the entry can go).
inline bool refresh_failing_ip(FailingIp& ip, state::Worth& worth, TimePoint now,
                               const IpFailuresConfig& ip_failures,
                               const CredentialStuffingConfig& stuffing) {
  const std::int64_t t = to_unix_ms(now);
  const std::uint32_t failures = ip.failures.count(t, ip_failures.window.count());
  const std::size_t accounts = ip.accounts.count(t, stuffing.window.count());
  worth = std::max(state::worth_of(failures, ip_failures.threshold),
                   state::worth_of(accounts, stuffing.threshold));
  // A window with a mark only (none here) or with expired accounts is
  // empty; its records are dropped on the next add.
  return failures > 0 || accounts > 0;
}

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_FAILING_IPS_H_
