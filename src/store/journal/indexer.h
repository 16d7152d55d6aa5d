#ifndef MAMORI_STORE_JOURNAL_INDEXER_H_
#define MAMORI_STORE_JOURNAL_INDEXER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/result.h"

namespace mamori::store::journal {

// The outcome of a journal's index passes, logged once per change: the
// first failed pass warns ("NAME: indexing failed; reads merge the tail
// meanwhile"), the first pass that works again says so. Every failed pass
// is counted. note() from one thread at a time (the indexer's); failures()
// from any.
class IndexOutcome {
 public:
  explicit IndexOutcome(std::string name) : name_(std::move(name)) {}

  // Records one pass's status and returns it.
  Status note(Status s);
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  const std::string name_;
  std::atomic<std::uint64_t> failures_{0};
  bool failing_ = false;
};

// A journal's indexer thread: runs `pass` every `every`, or at once after
// poke() (a tail grew past its bound). The pass's status is the owner's
// business (see IndexOutcome). stop(), or destruction, waits for a pass in
// progress and ends the thread. Thread-safe.
class IndexerThread {
 public:
  IndexerThread() = default;
  ~IndexerThread() { stop(); }
  IndexerThread(const IndexerThread&) = delete;
  IndexerThread& operator=(const IndexerThread&) = delete;

  // REQUIRES: not started before.
  void start(Duration every, std::function<void()> pass);
  void poke();
  void stop();

 private:
  void loop(Duration every, const std::function<void()>& pass);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  bool soon_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_INDEXER_H_
