#ifndef MAMORI_ENGINE_NETWORK_FAILURES_H_
#define MAMORI_ENGINE_NETWORK_FAILURES_H_

#include <vector>

#include "core/event.h"
#include "engine/engine_config.h"
#include "engine/failing_networks.h"
#include "engine/finding.h"

namespace mamori::engine {

// network_failures: failed logins from one network (/24 for IPv4, /64 for
// IPv6) over all its addresses and all accounts. A flood from many addresses
// of one network, each failing once on some account, passes every rule that
// counts by address or by account+address; counted by network, it is
// delayed (tarpit) from `threshold` and denied from `deny_threshold`, the
// whole network each time for `block`.
//
// Counting starts at the network's second failing address: while one
// address only has failed (credential_stuffing's window for the network
// still marks it as the only one), its failures are that address's, and
// ip_failures judges it alone with thresholds far below these. So a network
// costs no counter of its own until a second address fails, and the first
// address's failures before then are not in the network's count.
//
// The count lives in the network's FailingNetwork entry, shared with
// credential_stuffing, whose worth (ClockMap) it raises by how close the
// count is to `threshold`. Thread-safe.
class NetworkFailures {
 public:
  explicit NetworkFailures(FailingNetworks& networks) : networks_(networks) {}

  // REQUIRES: credential_stuffing has taken the same failure before (this
  // reads the mark it leaves on the network's entry).
  void on_failure(const NetworkFailuresConfig& config, const Event& e, std::vector<Finding>& out);

 private:
  FailingNetworks& networks_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_NETWORK_FAILURES_H_
