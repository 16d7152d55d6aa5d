#ifndef MAMORI_ENGINE_CHANGES_ELSEWHERE_H_
#define MAMORI_ENGINE_CHANGES_ELSEWHERE_H_

#include <atomic>
#include <cstdint>

#include "core/clock.h"
#include "engine/engine.h"
#include "store/record_changes.h"

namespace mamori::engine {

// Where a distributed store delivers the records other nodes wrote (locks,
// list entries, blocks, incidents): into the engine's in-memory mirrors, so
// a lock made through one node is enforced by every node. Thread-safe; the
// engine and the clock must outlive it.
class ChangesElsewhere final : public store::RecordChangeSink {
 public:
  ChangesElsewhere(Engine& engine, const Clock& clock) : engine_(engine), clock_(clock) {}
  ChangesElsewhere(const ChangesElsewhere&) = delete;
  ChangesElsewhere& operator=(const ChangesElsewhere&) = delete;

  void record_changed(const store::RecordChange& change) override;
  // A reload that fails is logged (once per failure) and counted; the next
  // change or resync mends it.
  void records_resync() override;

  std::uint64_t applied() const { return applied_.load(std::memory_order_relaxed); }
  std::uint64_t resyncs() const { return resyncs_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  Engine& engine_;
  const Clock& clock_;
  std::atomic<std::uint64_t> applied_{0}, resyncs_{0}, failures_{0};
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_CHANGES_ELSEWHERE_H_
