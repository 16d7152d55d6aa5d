#ifndef MAMORI_SERVER_DECISION_LOG_H_
#define MAMORI_SERVER_DECISION_LOG_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "engine/effects.h"

namespace mamori::server {

// The decision log (`[log] decisions`): one JSON object per line for every
// decision above allow, for shipping to a SIEM:
//   {"time":"...","event_id":"...","type":"login_result","account":"alice",
//    "ip":"203.0.113.5","protocol":"imap","action":"deny",
//    "reasons":["brute_force"],"risk":80,"incident_id":"...",
//    "location":{"country":"JP","city":"Tokyo","asn":2516}}
// (protocol, incident_id and location only when known).
//
// record() runs on the request threads and never waits for the disk: it
// queues a copy of the decision, up to `queue_limit` lines, and counts a
// drop when the queue is full. One background thread formats and appends
// them in batches, at most one write per kBatchDelay (a line reaches the
// file within about that long). The file is opened with O_APPEND (created 0640 when missing) and
// reopened by reopen() (SIGUSR1, after logrotate renamed it); "-" is
// standard output. Nothing is fsynced: a crash loses what the kernel had not
// written. Thread-safe.
class DecisionLog final : public engine::DecisionSink {
 public:
  static constexpr std::size_t kDefaultQueueLimit = 10'000;
  static constexpr std::chrono::milliseconds kBatchDelay{20};

  // Starts off (no path): record() writes nothing until set_path().
  explicit DecisionLog(std::size_t queue_limit = kDefaultQueueLimit);
  // Writes what is still queued, then stops the writer thread.
  ~DecisionLog() override;
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Writes to `path` from now on ("-": standard output; empty: nowhere).
  // Fails with `decision_log_error` naming the path and the system's reason,
  // and then keeps the file in use.
  Status set_path(const std::string& path);
  // Opens the path again (SIGUSR1): lines from now on go to the file now
  // under that name. Same failure as set_path().
  Status reopen();
  std::string path() const;

  bool enabled() const override { return enabled_.load(std::memory_order_relaxed); }
  void record(const engine::Alert& decision) override;

  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // mamori_decision_log_{lines,dropped,write_errors}_total.
  void render_metrics(std::string& out) const;

  // The line for `decision`, without the newline.
  static std::string format(const engine::Alert& decision);

 private:
  // An open file; closed when the last user lets go (the writer may still
  // hold the one reopen() replaced).
  struct File {
    int fd = -1;
    bool owned = false;  // false for standard output
    ~File();
  };
  static Result<std::shared_ptr<File>> open_file(const std::string& path);
  void run();

  const std::size_t queue_limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<engine::Alert> queue_;  // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  std::string path_;                 // guarded by mu_
  std::shared_ptr<File> file_;       // guarded by mu_
  std::atomic<bool> enabled_{false};
  std::atomic<std::uint64_t> written_{0}, dropped_{0}, write_errors_{0};
  std::thread writer_;
};

}  // namespace mamori::server

#endif  // MAMORI_SERVER_DECISION_LOG_H_
