#ifndef MAMORI_ENGINE_FAILURE_BASELINE_H_
#define MAMORI_ENGINE_FAILURE_BASELINE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "engine/engine_config.h"

namespace mamori::engine {

// The service's own failure baseline, per hour of the week: the share of
// login results that failed and the rate of failures for accounts the app
// said do not exist (`account_known: false`), learnt hour by hour. A wave
// of stuffing spread too thin for any source to stand out still moves the
// service's failure ratio, or the rate of failures for unknown accounts
// (an attacker's list holds many the service never had), far above what
// that hour of the week usually sees. DistributedStuffing raises its
// service-wide protection while the window is over.
//
// Counting: one ring of 64 one-minute buckets of atomic counters; a login
// result costs two or three relaxed atomic increments (a bucket is reset
// under a mutex taken once a minute). Out-of-order times (replayed logs)
// older than the ring are not counted.
//
// Learning: when the first result of a new hour arrives, the hour before
// is folded into its hour-of-week slot (UTC; 168 slots) if it saw at least
// 20 results and was not itself over: the slot's average over its first
// four samples, then an exponential average giving the newest hour a
// quarter (about a month of that hour's weeks). An hour whose slot has no
// sample yet is judged against the mean of the slots learnt, once at least
// 24 are; before that nothing is judged (the first day learns).
//
// The slots survive a restart through snapshot() and restore() (the daemon
// keeps them in `<data_dir>/baseline`). Nodes sharing their hot state over
// a Redis Cluster count each other's login results too (Engine::observe);
// failures for unknown accounts each node counts from its own results.
//
// Thread-safe.
class FailureBaseline {
 public:
  static constexpr int kSlots = 168;

  FailureBaseline() = default;
  FailureBaseline(const FailureBaseline&) = delete;
  FailureBaseline& operator=(const FailureBaseline&) = delete;

  // One login result at `t`; `unknown_account`: a failure for an account
  // the app said does not exist.
  void count(TimePoint t, bool failed, bool unknown_account);

  // What the window ending at `now` shows against the baseline of now's
  // hour of the week.
  struct Judgement {
    bool over = false;
    std::uint64_t results = 0, failures = 0, unknown = 0;  // in the window
    double ratio = 0;                                      // failures / results in the window
    std::optional<double> base_ratio;                      // none: not learnt enough to judge
    double unknown_per_minute = 0, base_unknown_per_minute = 0;
    // "failure ratio 34 % against 5 % usual for Mon 09:00 UTC", or the
    // unknown accounts' rate.
    std::string why;
  };
  Judgement judge(const FailureBaselineConfig& config, TimePoint now) const;
  // judge(), at most once a second (cached in between): for the hot path.
  bool over(const FailureBaselineConfig& config, TimePoint now);
  // What the last judgement over said ("" before one).
  std::string why() const;

  // The slot of the hour of the week starting at unix hour `hour` (0:
  // Monday 00:00 UTC).
  static int slot_of_hour(std::int64_t hour);

  // The learnt slots as text (one line a slot with samples), and back.
  // restore() replaces every slot; bad text is refused whole, with the
  // line, and changes nothing.
  std::string snapshot() const;
  Status restore(std::string_view text);
  // Increases each time an hour is learnt (the daemon saves on a change).
  std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }

 private:
  struct Minute {
    std::atomic<std::int64_t> minute{-1};
    std::atomic<std::uint32_t> results{0}, failures{0}, unknown{0};
  };
  struct Slot {
    std::uint32_t samples = 0;
    double ratio = 0;
    double unknown_per_minute = 0;
  };
  static constexpr int kRing = 64;

  // Makes the ring's bucket of `minute` current (folding a finished hour
  // first). REQUIRES: mu_ not held.
  void roll(std::int64_t minute);
  void fold_hour_locked(std::int64_t hour);
  // The baseline for `hour`'s slot, or none. REQUIRES: mu_ held.
  std::optional<Slot> baseline_locked(std::int64_t hour) const;

  std::array<Minute, kRing> ring_;
  mutable std::mutex mu_;
  std::array<Slot, kSlots> slots_{};  // guarded by mu_
  std::int64_t hour_ = -1;            // guarded by mu_: the newest hour counted
  bool hour_over_ = false;            // guarded by mu_: the current hour was judged over
  std::string why_;                   // guarded by mu_
  std::atomic<std::uint64_t> version_{0};
  std::atomic<std::int64_t> judged_ms_{INT64_MIN};
  std::atomic<bool> over_{false};
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_FAILURE_BASELINE_H_
