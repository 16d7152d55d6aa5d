#include "protocols/http/api_metrics.h"

#include <cstdio>

namespace mamori::http {

namespace {
constexpr std::array<std::string_view, kRouteCount> kRoutes = {
    "healthz",          "metrics",          "status",          "login_attempt",
    "login_result",     "events",           "account",         "account_activity",
    "account_lock",     "account_unlock",   "account_contact", "lists",
    "list_entry",       "blocked",          "incidents",       "incident",
    "incident_accounts", "incidents_affected", "totp",          "totp_confirm",
    "totp_verify",      "passwords_check",  "pwned_range",     "dovecot_policy",
    "openapi",          "account_activity_link", "incident_notify_owners", "audit",
    "block",            "incident_close",   "incident_csv",    "incident_require_reset",
    "mail_senders",     "mail_sender_release", "list_import",
    "operator_sign_in", "operator_sign_out",   "operator_me",  "stats_decisions",
    "operators",        "operator",            "operator_totp_reset", "unknown"};
constexpr auto kRelaxed = std::memory_order_relaxed;

// mamori_decisions_total counts each decision once, under its deciding
// reason ("none" without one), so summing over `reason` gives the number of
// decisions; mamori_decision_reasons_total counts every reason a decision
// carries. Series that are still zero are left out.
void render_decisions(const engine::DecisionCounts& counts, std::string& out) {
  using engine::DecisionCounts;
  char line[256];
  out += "# HELP mamori_decisions_total Decisions, each counted once under its deciding reason "
         "(reason=\"none\": a decision without reasons).\n"
         "# TYPE mamori_decisions_total counter\n";
  for (int a = 0; a < kActionCount; ++a) {
    for (int r = 0; r <= kReasonCount; ++r) {
      for (int p = 0; p < DecisionCounts::kProtocolCount; ++p) {
        const auto n = counts.decisions(static_cast<Action>(a), r, p);
        if (n == 0) continue;
        std::snprintf(line, sizeof line,
                      "mamori_decisions_total{action=\"%s\",reason=\"%s\",protocol=\"%s\"} %llu\n",
                      to_string(static_cast<Action>(a)).data(),
                      r == DecisionCounts::kNoReason ? "none"
                                                     : to_string(static_cast<Reason>(r)).data(),
                      DecisionCounts::kProtocols[std::size_t(p)].data(), (unsigned long long)n);
        out += line;
      }
    }
  }
  out += "# HELP mamori_decision_reasons_total The reasons decisions carry: a decision with "
         "several reasons counts under each.\n"
         "# TYPE mamori_decision_reasons_total counter\n";
  for (int a = 0; a < kActionCount; ++a) {
    for (int r = 0; r < kReasonCount; ++r) {
      for (int p = 0; p < DecisionCounts::kProtocolCount; ++p) {
        const auto n = counts.reasons(static_cast<Action>(a), static_cast<Reason>(r), p);
        if (n == 0) continue;
        std::snprintf(line, sizeof line,
                      "mamori_decision_reasons_total{action=\"%s\",reason=\"%s\",protocol=\"%s\"} "
                      "%llu\n",
                      to_string(static_cast<Action>(a)).data(),
                      to_string(static_cast<Reason>(r)).data(),
                      DecisionCounts::kProtocols[std::size_t(p)].data(), (unsigned long long)n);
        out += line;
      }
    }
  }
}

}  // namespace

std::string_view to_string(Route r) { return kRoutes[static_cast<std::size_t>(r)]; }

int ApiMetrics::status_index(int status) {
  for (std::size_t i = 0; i < kStatuses.size(); ++i)
    if (kStatuses[i] == status) return int(i);
  return int(kStatuses.size());
}

void ApiMetrics::count_request(Route route, int status, std::uint64_t duration_ns) {
  requests_[static_cast<std::size_t>(route)][std::size_t(status_index(status))].fetch_add(1, kRelaxed);
  const double s = double(duration_ns) / 1e9;
  std::size_t b = 0;
  while (b < kBuckets.size() && s > kBuckets[b]) ++b;
  latency_[b].fetch_add(1, kRelaxed);
  latency_sum_ns_.fetch_add(duration_ns, kRelaxed);
}

void ApiMetrics::render(const engine::DecisionCounts& decisions, std::string& out) const {
  char line[256];
  out += "# HELP mamori_http_requests_total HTTP requests by route and status.\n"
         "# TYPE mamori_http_requests_total counter\n";
  for (int r = 0; r < kRouteCount; ++r) {
    for (std::size_t s = 0; s <= kStatuses.size(); ++s) {
      const auto n = requests_[std::size_t(r)][s].load(kRelaxed);
      if (n == 0) continue;
      const std::string status = s < kStatuses.size() ? std::to_string(kStatuses[s]) : "other";
      std::snprintf(line, sizeof line, "mamori_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                    kRoutes[std::size_t(r)].data(), status.c_str(), (unsigned long long)n);
      out += line;
    }
  }
  render_decisions(decisions, out);
  out += "# HELP mamori_http_request_duration_seconds Time to answer an HTTP request.\n"
         "# TYPE mamori_http_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
    cumulative += latency_[b].load(kRelaxed);
    if (b < kBuckets.size())
      std::snprintf(line, sizeof line, "mamori_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                    kBuckets[b], (unsigned long long)cumulative);
    else
      std::snprintf(line, sizeof line, "mamori_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                    (unsigned long long)cumulative);
    out += line;
  }
  std::snprintf(line, sizeof line,
                "mamori_http_request_duration_seconds_sum %.9f\nmamori_http_request_duration_seconds_count %llu\n",
                double(latency_sum_ns_.load(kRelaxed)) / 1e9, (unsigned long long)cumulative);
  out += line;
}

}  // namespace mamori::http
