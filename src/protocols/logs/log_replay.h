#ifndef MAMORI_PROTOCOLS_LOGS_LOG_REPLAY_H_
#define MAMORI_PROTOCOLS_LOGS_LOG_REPLAY_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/decision.h"
#include "engine/engine_config.h"
#include "protocols/logs/log_format.h"
#include "protocols/logs/log_ingest.h"

namespace mamori::logs {

// What `mamori logs replay` runs.
struct ReplayOptions {
  std::string file;
  FormatConfig format;
  engine::EngineConfig engine;  // the detections (mamorid's config, or the defaults)
  std::size_t max_line_bytes = 16 * 1024;
  // Called every `progress_every` of wall time with the lines read so far
  // and their rate; none: no progress.
  std::function<void(std::uint64_t lines, double lines_per_second)> progress;
  Duration progress_every = std::chrono::seconds(2);
};

// One source (or account) the engine would have refused: the events whose
// decision was above allow, grouped by the deciding reason and its target
// (the address; for brute_force the account and the address; for
// account_under_attack and locks the account).
struct ReplayRefusal {
  Reason reason = Reason::kBruteForce;
  Action action = Action::kDeny;  // the strongest action taken
  std::string ip;                 // empty for an account's refusal
  std::string account;            // empty for a source's refusal
  std::uint64_t accounts = 0;     // distinct accounts among its events (counted up to 100,000)
  std::vector<std::string> sample_accounts;  // the first few
  std::uint64_t first_line = 0, last_line = 0, events = 0;
  TimePoint first_time{}, last_time{};
};

struct ReplayReport {
  std::uint64_t lines = 0, matched = 0, events = 0;
  std::array<std::uint64_t, kSkipCount> skipped{};
  std::vector<ReplayRefusal> refusals;  // in order of their first line
  // Every event's decision: the events that took each action, and the
  // events that carried each reason (allow's too: new_device, dormant_account).
  std::array<std::uint64_t, kActionCount> actions{};
  std::array<std::uint64_t, kReasonCount> reasons{};
  double seconds = 0;
};

// Runs a log file through the whole engine, in process, with the lines'
// own times: a throwaway store in memory (store/memory/memory_store.h: the
// records and profiles the engine reads back, no activity log), no notices,
// nothing written to disk. Year-less stamps take their year from the
// file's modification time. Fails with `log_read_failed` (the file cannot
// be read) or `invalid_format`.
Result<ReplayReport> replay_log(const ReplayOptions& options);

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_LOG_REPLAY_H_
