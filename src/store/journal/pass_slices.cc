#include "store/journal/pass_slices.h"

#include <sched.h>

#include "core/clock.h"

namespace mamori::store::journal {

namespace {

thread_local std::uint64_t work_done = 0;
thread_local std::uint64_t slice_begun_ns = 0;
thread_local std::uint64_t yielded = 0;

}  // namespace

void PassSlices::point(std::uint64_t work) {
  work_done += work;
  if (work_done < kCheckEvery) return;
  work_done = 0;
  const std::uint64_t now = monotonic_ns();
  if (now - slice_begun_ns < kSliceNs) return;
  sched_yield();
  ++yielded;
  slice_begun_ns = monotonic_ns();
}

std::uint64_t PassSlices::yields() { return yielded; }

}  // namespace mamori::store::journal
