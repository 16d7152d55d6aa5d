#ifndef MAMORI_ENGINE_IP_FAILURES_H_
#define MAMORI_ENGINE_IP_FAILURES_H_

#include <vector>

#include "core/event.h"
#include "engine/engine_config.h"
#include "engine/failing_ips.h"
#include "engine/finding.h"
#include "engine/keys.h"

namespace mamori::engine {

// ip_failures: failed logins from one IP over all accounts. From `threshold`
// its attempts are delayed (tarpit), from `deny_threshold` denied, each for
// `block`. The count lives in the IP's FailingIp entry, shared with
// credential_stuffing; it raises the entry's worth (state::Worth) by how
// close the count is to `threshold`. Thread-safe.
class IpFailures {
 public:
  explicit IpFailures(FailingIps& ips) : ips_(ips) {}

  void on_failure(const IpFailuresConfig& config, const Event& e, std::vector<Finding>& out);

 private:
  FailingIps& ips_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_IP_FAILURES_H_
