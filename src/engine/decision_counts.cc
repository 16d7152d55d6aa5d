#include "engine/decision_counts.h"

namespace mamori::engine {

int DecisionCounts::protocol_index(std::string_view protocol) {
  for (int i = 0; i < kProtocolCount - 1; ++i)
    if (kProtocols[std::size_t(i)] == protocol) return i;
  return kProtocolCount - 1;
}

void DecisionCounts::count(const Decision& d, std::string_view protocol) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  const int p = protocol_index(protocol);
  const std::optional<Reason> deciding = d.deciding_reason();
  decisions_[cell(d.action(), deciding ? int(*deciding) : kNoReason, p)].fetch_add(1, kRelaxed);
  for (int i = 0; i < d.reason_count(); ++i)
    reasons_[cell(d.action(), int(d.reason(i)), p)].fetch_add(1, kRelaxed);
}

}  // namespace mamori::engine
