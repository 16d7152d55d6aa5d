#ifndef MAMORI_PROTOCOLS_HTTP_API_METRICS_H_
#define MAMORI_PROTOCOLS_HTTP_API_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/decision.h"
#include "engine/decision_counts.h"

namespace mamori::http {

// The API's routes, for metrics labels.
enum class Route : std::uint8_t {
  kHealthz, kMetrics, kStatus, kLoginAttempt, kLoginResult, kEvents, kAccount, kAccountActivity,
  kAccountLock, kAccountUnlock, kAccountContact, kLists, kListEntry, kBlocked, kIncidents,
  kIncident, kIncidentAccounts, kIncidentsAffected,
  kTotp, kTotpConfirm, kTotpVerify, kPasswordCheck, kPwnedRange,
  kDovecotPolicy, kOpenApi,
  kAccountActivityLink, kIncidentNotifyOwners,
  kAudit, kBlock, kIncidentClose, kIncidentCsv, kIncidentRequireReset, kMailSenders,
  kMailSenderRelease, kListImport,
  kOperatorSignIn, kOperatorSignOut, kOperatorMe, kStatsDecisions, kOperators, kOperator,
  kOperatorTotpReset,
  kUnknown,
};
inline constexpr int kRouteCount = 43;
std::string_view to_string(Route r);

// Counters and a latency histogram for /metrics, in Prometheus text format.
// Thread-safe: relaxed atomics, no locks.
class ApiMetrics {
 public:
  void count_request(Route route, int status, std::uint64_t duration_ns);
  // Appends the metrics text: the requests and their latency, and the
  // engine's `decisions` (without hot-state gauges, which the caller adds).
  void render(const engine::DecisionCounts& decisions, std::string& out) const;

  static constexpr std::array<int, 12> kStatuses = {200, 201, 400, 401, 403, 404,
                                                    405, 409, 413, 429, 500, 503};
  static constexpr std::array<double, 12> kBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                      0.0025,  0.005,  0.01,    0.025,  0.05,
                                                      0.1,     1.0};

 private:
  static int status_index(int status);

  std::array<std::array<std::atomic<std::uint64_t>, kStatuses.size() + 1>, kRouteCount> requests_{};
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> latency_{};
  std::atomic<std::uint64_t> latency_sum_ns_{0};
};

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_API_METRICS_H_
