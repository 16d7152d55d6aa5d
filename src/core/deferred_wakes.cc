#include "core/deferred_wakes.h"

#include <utility>
#include <vector>

namespace mamori {
namespace {

struct Pending {
  DeferredWakes::WakeFn fn;
  void* arg;
};

struct ThreadWakes {
  std::function<void()> schedule;  // empty: no deferral on this thread
  bool scheduled = false;          // a flush is scheduled and has not run
  std::vector<Pending> pending;    // distinct (fn, arg), in order noted
};

thread_local ThreadWakes t_wakes;

}  // namespace

void DeferredWakes::open(std::function<void()> schedule) {
  t_wakes.schedule = std::move(schedule);
  t_wakes.scheduled = false;
}

void DeferredWakes::close() {
  flush();
  t_wakes.schedule = nullptr;
}

void DeferredWakes::wake(WakeFn fn, void* arg) {
  ThreadWakes& w = t_wakes;
  if (!w.schedule) {
    fn(arg);
    return;
  }
  for (const Pending& p : w.pending)
    if (p.fn == fn && p.arg == arg) return;  // noted already this turn
  w.pending.push_back({fn, arg});
  if (!w.scheduled) {
    w.scheduled = true;
    w.schedule();
  }
}

void DeferredWakes::flush() {
  ThreadWakes& w = t_wakes;
  w.scheduled = false;
  // A wake may run code that defers another: take the list first.
  while (!w.pending.empty()) {
    std::vector<Pending> now;
    now.swap(w.pending);
    for (const Pending& p : now) p.fn(p.arg);
  }
}

}  // namespace mamori
