#ifndef MAMORI_ENGINE_FAILING_NETWORKS_H_
#define MAMORI_ENGINE_FAILING_NETWORKS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/clock.h"
#include "core/ip_address.h"
#include "engine/engine_config.h"
#include "state/clock_map.h"
#include "state/distinct_window.h"
#include "state/sliding_counter.h"

namespace mamori::engine {

// What the engine keeps of a network (/24 for IPv4, /64 for IPv6) with
// failed logins for the detectors that count by network: credential_stuffing's
// accounts that failed from it and network_failures' count of its failures.
// One entry serves both (like FailingIp for one address).
//
// Memory: 24 bytes in the table. A network from which one address only has
// failed owns no heap: its accounts are that address's (the window's mark is
// its key in FailingIps) and its failures are that address's too, judged by
// ip_failures. From its second failing address on, the accounts are copied
// into the window's block and the failures are counted in a SlidingCounter
// of their own (32 bytes, allocated once for the network).
struct FailingNetwork {
  // credential_stuffing: the accounts of all the network's IPs; while one
  // IP only has failed, none, and ip_mark(that IP) as the window's mark.
  state::DistinctWindow accounts;
  // network_failures: failures from the network's second failing address on.
  std::unique_ptr<state::SlidingCounter> failures;
  // credential_stuffing: accounts any of its addresses logged into while it
  // had an entry (up to network_threshold), for the incident to look back on.
  state::DistinctWindow successes;

  std::size_t memory_bytes() const {
    return accounts.memory_bytes() + successes.memory_bytes() +
           (failures ? sizeof(state::SlidingCounter) : 0);
  }
  // An IP's key in FailingIps as the accounts window's mark keeps it (63
  // bits, never 0: the same entry as its full hash, see ClockMap).
  static std::uint64_t ip_mark(const IpAddress& ip) {
    return state::DistinctWindow::as_mark(ip.hash());
  }
  // True while `ip` is the only address of the network that failed (within
  // credential_stuffing's window).
  bool only(const IpAddress& ip) const { return accounts.mark() == ip_mark(ip); }
};

// Keyed by the network address's IpAddress::hash(). Thread-safe (see ClockMap).
using FailingNetworks = state::ClockMap<FailingNetwork>;

// For FailingNetworks::refresh(): the entry's worth at `now` from both of its
// counts, freeing a failure counter that has emptied; false when both
// windows are empty and there is no mark (a mark's accounts are its
// address's, whose window this cannot see: such an entry stays, worth 0).
inline bool refresh_failing_network(FailingNetwork& n, state::Worth& worth, TimePoint now,
                                    const CredentialStuffingConfig& stuffing,
                                    const NetworkFailuresConfig& network_failures) {
  const std::int64_t t = to_unix_ms(now);
  std::uint32_t failures = 0;
  if (n.failures) {
    failures = n.failures->count(t, network_failures.window.count());
    if (failures == 0) n.failures.reset();
  }
  const std::size_t accounts = n.accounts.count(t, stuffing.window.count());
  worth = std::max(state::worth_of(failures, network_failures.threshold),
                   state::worth_of(accounts, stuffing.network_threshold));
  return failures > 0 || accounts > 0 || n.accounts.mark() != 0;
}

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_FAILING_NETWORKS_H_
