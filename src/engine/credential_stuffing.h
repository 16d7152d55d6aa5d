#ifndef MAMORI_ENGINE_CREDENTIAL_STUFFING_H_
#define MAMORI_ENGINE_CREDENTIAL_STUFFING_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "engine/engine_config.h"
#include "engine/failing_ips.h"
#include "engine/failing_networks.h"
#include "engine/finding.h"
#include "engine/keys.h"
#include "state/clock_map.h"
#include "state/distinct_window.h"

namespace mamori::engine {

// credential_stuffing: distinct accounts with a failed login from one IP, or
// from one network (/24 for IPv4, /64 for IPv6, to catch low-and-slow runs
// spread over many addresses). At the threshold the source is denied for
// `block` and an incident is opened with the accounts it touched.
//
// Memory: a network from which one IP only has failed counts from that IP's
// window and copies none of its accounts; when a second IP of the network
// fails, the first one's accounts (those still within the window) are copied
// into the network's window. An attack from millions of addresses in
// distinct networks then costs one account list per IP, not two, and a
// network's entry holds only that IP's hash (8 bytes) until then.
// An IP's accounts live in its FailingIp entry, shared with ip_failures; a
// network's in its FailingNetwork entry, shared with network_failures. Each
// entry's worth (ClockMap) is raised by how close its count of accounts is
// to its threshold.
//
// Looking back: the finding lists the accounts the source failed on and
// those it logged into within the window, so the incident counts the logins
// that worked before it opened. on_success() remembers these in the entries
// of sources that are failing already (up to `threshold` accounts for an IP,
// `network_threshold` for a network, 12 bytes plus the name each); it
// creates no entry. When an entry is evicted under memory pressure, its
// successes go with its failure count, and an incident opened later lists
// neither.
// Thread-safe.
class CredentialStuffing {
 public:
  CredentialStuffing(FailingIps& ips, FailingNetworks& networks)
      : by_ip_(ips), by_network_(networks) {}

  void on_failure(const CredentialStuffingConfig& config, const Event& e,
                  std::vector<Finding>& out);
  // A successful login from e.ip: remembered for the finding to look back
  // on, when e.ip or its network has failed within the window.
  void on_success(const CredentialStuffingConfig& config, const Event& e);
  // The distinct accounts that failed from e.ip's /24 or /64 within the
  // window (at most network_threshold), as the network's finding counts them;
  // 0 when a login from the network succeeded within the window too.
  std::size_t network_count_without_success(const CredentialStuffingConfig& config,
                                            const Event& e) const;

 private:
  // The accounts of the IP that was its network's only one, to copy over.
  struct Carried {
    std::uint64_t from = 0;                                      // that IP's hash
    std::vector<std::pair<std::string, std::int64_t>> accounts;  // name, last seen
  };
  // How the network's window took the failure.
  struct NetworkStep {
    std::size_t count = 0;         // distinct accounts from the network
    bool alone = false;            // from its only IP: count is that IP's
    std::uint64_t carry_from = 0;  // not 0: nothing done, that IP's accounts needed
  };
  NetworkStep add_to_network(const CredentialStuffingConfig& config, FailingNetwork& w,
                             const Event& e, std::uint64_t ip, std::size_t ip_count,
                             const Carried* carried) const;
  Finding network_finding(const CredentialStuffingConfig& config, const Event& e,
                          const state::DistinctWindow& accounts,
                          const state::DistinctWindow& successes, std::int64_t now) const;
  // The finding for `source`, listing at most `limit` of the accounts it
  // failed on and every account it logged into within the window.
  Finding make_finding(const CredentialStuffingConfig& config, BlockKey block, std::string source,
                       const state::DistinctWindow& accounts,
                       const state::DistinctWindow& successes, std::int64_t now,
                       std::size_t limit) const;
  FailingIps& by_ip_;            // by IpAddress::hash()
  FailingNetworks& by_network_;  // by the network address's hash()
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_CREDENTIAL_STUFFING_H_
