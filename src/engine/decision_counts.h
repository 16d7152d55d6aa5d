#ifndef MAMORI_ENGINE_DECISION_COUNTS_H_
#define MAMORI_ENGINE_DECISION_COUNTS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/decision.h"

namespace mamori::engine {

// Counts the engine's decisions for the metrics, by protocol (the event's:
// web, imap, smtp, ...). Two views:
//   decisions: every decision once, under its deciding reason
//              (Decision::deciding_reason) or under none when it has no
//              reason, so the sum over reasons is the number of decisions;
//   reasons:   every reason a decision carries, once each, so a decision
//              with two reasons counts under both.
// The protocol label is one of kProtocols; any other word counts as
// "other", so clients cannot grow the set of series.
// Thread-safe: relaxed atomics, no locks.
class DecisionCounts {
 public:
  static constexpr std::array<std::string_view, 10> kProtocols = {
      "web", "app", "imap", "pop3", "smtp", "submission", "sieve", "lmtp", "api", "other"};
  static constexpr int kProtocolCount = int(kProtocols.size());
  static constexpr int kNoReason = kReasonCount;  // the reason index of "none"

  // The index of `protocol` in kProtocols ("other" for an unknown word).
  static int protocol_index(std::string_view protocol);

  void count(const Decision& d, std::string_view protocol);

  // Decisions of `action` decided by reason index `reason` (kNoReason: none).
  std::uint64_t decisions(Action action, int reason, int protocol) const {
    return decisions_[cell(action, reason, protocol)].load(std::memory_order_relaxed);
  }
  // Decisions of `action` that carry `reason`.
  std::uint64_t reasons(Action action, Reason reason, int protocol) const {
    return reasons_[cell(action, int(reason), protocol)].load(std::memory_order_relaxed);
  }

 private:
  static std::size_t cell(Action a, int reason, int protocol) {
    return (std::size_t(a) * (kReasonCount + 1) + std::size_t(reason)) * kProtocolCount +
           std::size_t(protocol);
  }
  static constexpr std::size_t kCells = std::size_t(kActionCount) * (kReasonCount + 1) *
                                        kProtocolCount;
  std::array<std::atomic<std::uint64_t>, kCells> decisions_{};
  std::array<std::atomic<std::uint64_t>, kCells> reasons_{};
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_DECISION_COUNTS_H_
