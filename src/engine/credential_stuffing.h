#ifndef MAMORI_ENGINE_CREDENTIAL_STUFFING_H_
#define MAMORI_ENGINE_CREDENTIAL_STUFFING_H_

#include <vector>

#include "core/event.h"
#include "engine/engine_config.h"
#include "engine/finding.h"
#include "engine/keys.h"
#include "state/clock_map.h"
#include "state/distinct_window.h"

namespace mamori::engine {

// credential_stuffing: distinct accounts with a failed login from one IP, or
// from one network (/24 for IPv4, /64 for IPv6, to catch low-and-slow runs
// spread over many addresses). At the threshold the source is denied for
// `block` and an incident is opened with the accounts it touched.
// Thread-safe.
class CredentialStuffing {
 public:
  CredentialStuffing(const CredentialStuffingConfig& config, state::MemoryBudget& budget)
      : config_(config), by_ip_(budget), by_network_(budget) {}

  void on_failure(const Event& e, std::vector<Finding>& out);

 private:
  struct Window {
    state::DistinctWindow accounts;
    std::size_t memory_bytes() const { return accounts.memory_bytes(); }
  };
  Finding make_finding(BlockKey block, std::string source, const Window& w,
                       std::int64_t now) const;

  const CredentialStuffingConfig config_;
  state::ClockMap<Window> by_ip_;       // by IpAddress::hash()
  state::ClockMap<Window> by_network_;  // by the network address's hash()
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_CREDENTIAL_STUFFING_H_
