#ifndef MAMORI_ENGINE_IP_FAILURES_H_
#define MAMORI_ENGINE_IP_FAILURES_H_

#include <vector>

#include "core/event.h"
#include "engine/engine_config.h"
#include "engine/finding.h"
#include "engine/keys.h"
#include "state/windowed_counts.h"

namespace mamori::engine {

// ip_failures: failed logins from one IP over all accounts. From `threshold`
// its attempts are delayed (tarpit), from `deny_threshold` denied, each for
// `block`. Thread-safe.
class IpFailures {
 public:
  IpFailures(const IpFailuresConfig& config, state::MemoryBudget& budget)
      : config_(config), windows_(budget) {}

  void on_failure(const Event& e, std::vector<Finding>& out);

 private:
  const IpFailuresConfig config_;
  state::WindowedCounts<IpAddress> windows_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_IP_FAILURES_H_
