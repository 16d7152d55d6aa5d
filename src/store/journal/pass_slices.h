#ifndef MAMORI_STORE_JOURNAL_PASS_SLICES_H_
#define MAMORI_STORE_JOURNAL_PASS_SLICES_H_

#include <cstdint>

namespace mamori::store::journal {

// Bounds how long an index pass keeps its core from a thread waiting for it.
// An indexer runs as SCHED_IDLE, which a request thread preempts at once,
// but one raised to SCHED_BATCH for the lag bound (store/journal/indexer.h)
// is not preempted on a request thread's wake-up: it would run its slice of
// the core out (milliseconds) before the request got it. So the loops of a
// pass (sorting a tail, writing and merging runs, collecting garbage) call
// point() as they go; once kSliceNs has passed since the slice began, it
// yields the core (sched_yield: a runnable thread of the core goes first,
// none: it returns at once) and begins the next slice.
//
// Thread-local state: each thread's slices are its own. Cost: an addition
// a call, the clock read once kCheckEvery units of work have been done.
class PassSlices {
 public:
  static constexpr std::uint64_t kSliceNs = 200'000;
  static constexpr std::uint64_t kCheckEvery = 256;

  // `work`: what was done since the last call, in entries.
  static void point(std::uint64_t work = 1);
  // The calling thread's yields so far.
  static std::uint64_t yields();
};

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_PASS_SLICES_H_
