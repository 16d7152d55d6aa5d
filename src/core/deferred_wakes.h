#ifndef MAMORI_CORE_DEFERRED_WAKES_H_
#define MAMORI_CORE_DEFERRED_WAKES_H_

#include <functional>

namespace mamori {

// Wakes of another thread, deferred to the end of an event loop's turn.
//
// A request thread that queues a write wakes the writer thread. On a busy
// core each wake is a context switch, and a writer woken per request
// commits a batch per request. A thread that runs an event loop (an HTTP
// worker) therefore opens deferral with a function that schedules flush()
// on itself (posts it to its loop, behind the handlers already ready): a
// wake() on that thread then only notes the wake, at most one flush is
// scheduled per turn, and the flush wakes each noted waker once, after the
// turn's requests have queued their writes. On any thread without deferral,
// wake() wakes at once.
//
// A thread about to block for what it may have deferred (a synchronous wait
// for a commit) calls flush() first.
//
// Thread-local state: each function acts on the calling thread only.
class DeferredWakes {
 public:
  using WakeFn = void (*)(void* arg);

  // From now on, wakes on this thread are deferred; `schedule` arranges for
  // flush() to run soon on this thread and must not call it itself.
  static void open(std::function<void()> schedule);
  // Flushes, then wakes at once again.
  static void close();
  // Wakes `fn(arg)`: at once, or at this thread's next flush (once per
  // distinct fn and arg).
  static void wake(WakeFn fn, void* arg);
  // Runs the wakes deferred on this thread (none: nothing).
  static void flush();
};

}  // namespace mamori

#endif  // MAMORI_CORE_DEFERRED_WAKES_H_
