#ifndef MAMORI_PROTOCOLS_LOGS_LOG_SOURCE_H_
#define MAMORI_PROTOCOLS_LOGS_LOG_SOURCE_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "engine/engine.h"
#include "protocols/logs/line_reader.h"
#include "protocols/logs/log_format.h"
#include "protocols/logs/log_ingest.h"
#include "protocols/logs/positions.h"
#include "store/commits.h"

namespace mamori::logs {

// One `[[logs]]` source: a file or the journal, and its format.
struct LogSourceConfig {
  std::string path;     // a log file; or
  std::string journal;  // a systemd unit ("dovecot.service") or syslog identifier ("sshd")
  FormatConfig format;
  std::size_t max_line_bytes = 16 * 1024;  // longer lines are skipped (too_long)
  // The name in metrics, logs and the positions file: the path, or
  // "journal:" and the unit.
  std::string name() const { return path.empty() ? "journal:" + journal : path; }
};

// How the sources run.
struct LogSourceOptions {
  // The longest wait for growth when inotify says nothing (a file on a file
  // system without inotify, a missing directory).
  Duration poll_interval = std::chrono::seconds(1);
  // Bytes read before the events are committed and the position saved.
  std::size_t batch_bytes = 1 << 20;
  // Replay mode: event times are the lines' own even when ahead of the clock
  // (live, a line stamped in the future is taken as now).
  bool replay = false;
};

// Follows one source on its own thread: each line through its format into
// the engine (Engine::process, with the line's time), then, once the
// writes those events caused are committed, its position into the
// PositionStore. A batch whose writes failed is read again from the saved
// position after a second.
//
// Exactly once across a crash: a crash (kill -9) between a batch's commit
// and its position's save leaves events in the activity log whose lines are
// after the saved position. Every event of a line has an id of its own that
// is the same on every read (line_event_id: the source, the line's origin
// and text), and is recorded under it. After a restart from a saved
// position (and after a failed commit), the events read are first looked up
// among their accounts' activity entries (Engine::recorded_event_ids), and
// only those not there are processed; the others are counted in
// already_stored(). The commit sequence stores a batch's events in their
// order, so those stored are the first ones read again: the check ends with
// the first batch none of whose events was stored. An event not stored left
// nothing durable (its hot windows are warmed from the activity log at
// start, Engine::warm), so processing it now is its first time.
// Thread-safe: start(), stop() and the counters from any thread.
class LogSource {
 public:
  // All references must outlive the source.
  LogSource(LogSourceConfig config, std::unique_ptr<LineReader> reader,
            std::unique_ptr<LogFormat> format, engine::Engine& engine, store::Commits& commits,
            PositionStore& positions, const Clock& clock, LogSourceOptions options);
  ~LogSource();
  LogSource(const LogSource&) = delete;
  LogSource& operator=(const LogSource&) = delete;

  void start();
  // Stops after the batch in hand (its writes committed, its position saved).
  void stop();

  const LogSourceConfig& config() const { return config_; }
  const LogCounters& counters() const { return counters_; }
  std::uint64_t lag_bytes() const { return lag_.load(std::memory_order_relaxed); }
  std::uint64_t too_long() const { return too_long_.load(std::memory_order_relaxed); }
  std::uint64_t not_stored() const { return not_stored_.load(std::memory_order_relaxed); }
  std::uint64_t already_stored() const { return already_stored_.load(std::memory_order_relaxed); }
  // The format's sends_dropped(), as of the last batch read.
  std::uint64_t sends_dropped() const { return sends_dropped_.load(std::memory_order_relaxed); }

  // How far before its account's earliest event of a batch read again an
  // entry is looked for (an entry is stamped earlier than its line's time
  // when that time was ahead of the clock), and how many entries of one
  // account at most.
  static constexpr Duration kStoredSlack = std::chrono::hours(1);
  static constexpr std::size_t kStoredLookup = 100'000;

 private:
  void run();
  // Processes the events of `events` whose ids the activity log does not
  // hold yet, in order, their writes into `span`. Returns how many it held
  // (skipped), or `store_read_failed` having processed none.
  Result<std::size_t> process_unless_stored(std::vector<Event>& events, store::WriteSpan& span);

  LogSourceConfig config_;
  std::unique_ptr<LineReader> reader_;
  std::unique_ptr<LogFormat> format_;
  engine::Engine& engine_;
  store::Commits& commits_;
  PositionStore& positions_;
  const Clock& clock_;
  LogSourceOptions options_;
  LogCounters counters_;
  std::atomic<std::uint64_t> lag_{0}, too_long_{0}, not_stored_{0}, already_stored_{0},
      sends_dropped_{0};
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// The daemon's `[[logs]]` sources.
class LogSources {
 public:
  // Opens the positions in <data_dir>/logs, each source's reader and format.
  // Fails with the first source's error (`invalid_format`,
  // `journal_unavailable`, `positions_unreadable`, ...), naming it.
  static Result<std::unique_ptr<LogSources>> open(const std::vector<LogSourceConfig>& configs,
                                                  const std::string& data_dir,
                                                  engine::Engine& engine, store::Commits& commits,
                                                  const Clock& clock, LogSourceOptions options);
  void start();
  void stop();
  std::size_t size() const { return sources_.size(); }
  // The sources' metrics (Prometheus text format).
  void render_metrics(std::string& out) const;

 private:
  std::unique_ptr<PositionStore> positions_;
  std::vector<std::unique_ptr<LogSource>> sources_;
};

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_LOG_SOURCE_H_
