#include "protocols/logs/log_source.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <unordered_map>
#include <unordered_set>

#include "core/log.h"
#include "protocols/logs/file_follower.h"
#include "protocols/logs/journal_reader.h"
#include "protocols/logs/line_ids.h"

namespace mamori::logs {

LogSource::LogSource(LogSourceConfig config, std::unique_ptr<LineReader> reader,
                     std::unique_ptr<LogFormat> format, engine::Engine& engine,
                     store::Commits& commits, PositionStore& positions, const Clock& clock,
                     LogSourceOptions options)
    : config_(std::move(config)),
      reader_(std::move(reader)),
      format_(std::move(format)),
      engine_(engine),
      commits_(commits),
      positions_(positions),
      clock_(clock),
      options_(options),
      stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

LogSource::~LogSource() {
  stop();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void LogSource::start() {
  thread_ = std::thread([this] { run(); });
}

void LogSource::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
}

void LogSource::run() {
  const std::string name = config_.name();
  std::optional<std::string> saved = positions_.get(name);
  auto restored = reader_->restore(saved);
  if (!restored) {
    log_error("logs: " + name + ": " + restored.error().message);
  } else if (!restored->empty()) {
    log_warn("logs: " + name + ": " + *restored);
  }
  log_info("logs: following " + name + " (" + format_->name() + ")" +
           (saved ? ", resuming at the saved position" : ""));
  // After a saved position, the lines read before a crash (or a failed
  // commit) may be read again: check them against the activity log.
  bool checking = saved.has_value();
  std::vector<Event> held;  // checking: the batch's events, processed after the check
  std::string last_error;
  while (!stopping_.load()) {
    store::WriteSpan span;
    auto read = reader_->read(options_.batch_bytes, [&](const RawLine& raw) {
      int ordinal = 0;
      ingest(*format_, raw, counters_, [&](Event& e) {
        e.id = line_event_id(name, raw.origin, raw.text, ordinal++, e.time);
        if (!options_.replay) {
          const TimePoint now = clock_.now();
          if (e.time > now) e.time = now;
        }
        if (checking) {
          held.push_back(std::move(e));
        } else {
          span.add(engine_.process(e).writes);
        }
      });
    });
    too_long_.store(reader_->too_long(), std::memory_order_relaxed);
    sends_dropped_.store(format_->sends_dropped(), std::memory_order_relaxed);
    if (checking && !held.empty()) {
      auto found = process_unless_stored(held, span);
      held.clear();
      if (!found) {
        log_error("logs: " + name +
                  ": the activity log could not be read to check the lines read again (" +
                  found.error().message + "); reading them again from the saved position");
        if (auto r = reader_->restore(saved); !r)
          log_error("logs: " + name + ": " + r.error().message);
        reader_->wait(std::chrono::seconds(1), stop_fd_);
        continue;
      }
      // None of the batch's events was stored: the lines read before are
      // behind, the rest is new.
      if (*found == 0) checking = false;
    }
    if (!read) {
      if (read.error().message != last_error)
        log_error("logs: " + name + ": " + read.error().message);
      last_error = read.error().message;
      reader_->wait(options_.poll_interval, stop_fd_);
      continue;
    }
    last_error.clear();
    if (!span.empty()) {
      Status s = commits_.wait(span.last);
      if (s) s = commits_.status(span);
      if (!s) {
        not_stored_.fetch_add(1, std::memory_order_relaxed);
        log_error("logs: " + name + ": the events of " + std::to_string(*read) +
                  " lines were not stored (" + s.error().message +
                  "); reading them again from the saved position");
        if (auto r = reader_->restore(saved); !r)
          log_error("logs: " + name + ": " + r.error().message);
        checking = saved.has_value();  // some of them may have been stored
        reader_->wait(std::chrono::seconds(1), stop_fd_);
        continue;
      }
    }
    const std::string at = reader_->position();
    if (!at.empty() && (!saved || *saved != at)) {
      if (Status s = positions_.put(name, at); !s) {
        log_error("logs: " + name + ": " + s.error().message);
      } else {
        saved = at;
      }
    }
    lag_.store(reader_->lag_bytes(), std::memory_order_relaxed);
    if (*read == 0) reader_->wait(options_.poll_interval, stop_fd_);
  }
}

Result<std::size_t> LogSource::process_unless_stored(std::vector<Event>& events,
                                                     store::WriteSpan& span) {
  // Each account's stored ids since its earliest event of the batch, read
  // once. An event's entry has its time, or an earlier one when the line's
  // time was ahead of the clock then (it was taken as now): kStoredSlack
  // covers a clock that far behind.
  std::unordered_map<std::string, TimePoint> since;
  for (const Event& e : events) {
    auto [it, added] = since.try_emplace(e.account, e.time);
    if (!added && e.time < it->second) it->second = e.time;
  }
  std::unordered_set<std::string> stored;
  for (const auto& [account, first] : since) {
    auto ids = engine_.recorded_event_ids(account, first - kStoredSlack, kStoredLookup);
    if (!ids) return ids.error();
    if (ids->size() == kStoredLookup)
      log_warn("logs: " + config_.name() + ": " + account + " has more than " +
               std::to_string(kStoredLookup) +
               " activity entries since its first line read again; only those are checked");
    for (std::string& id : *ids) stored.insert(std::move(id));
  }
  std::size_t found = 0;
  for (Event& e : events) {
    if (stored.count(e.id) != 0) {
      ++found;
      continue;
    }
    span.add(engine_.process(e).writes);
  }
  already_stored_.fetch_add(found, std::memory_order_relaxed);
  return found;
}

Result<std::unique_ptr<LogSources>> LogSources::open(const std::vector<LogSourceConfig>& configs,
                                                     const std::string& data_dir,
                                                     engine::Engine& engine,
                                                     store::Commits& commits, const Clock& clock,
                                                     LogSourceOptions options) {
  auto sources = std::make_unique<LogSources>();
  if (configs.empty()) return sources;
  auto positions = PositionStore::open(data_dir + "/logs");
  if (!positions) return positions.error();
  sources->positions_ = std::move(*positions);
  for (const LogSourceConfig& c : configs) {
    auto format = LogFormat::make(c.format, clock);
    if (!format) return make_error(format.error().code, c.name() + ": " + format.error().message);
    std::unique_ptr<LineReader> reader;
    if (!c.path.empty()) {
      reader = std::make_unique<FileFollower>(c.path, c.max_line_bytes);
    } else {
      auto j = JournalReader::open(JournalMatch::for_setting(c.journal));
      if (!j) return make_error(j.error().code, c.name() + ": " + j.error().message);
      reader = std::move(*j);
    }
    sources->sources_.push_back(std::make_unique<LogSource>(c, std::move(reader),
                                                            std::move(*format), engine, commits,
                                                            *sources->positions_, clock, options));
  }
  return sources;
}

void LogSources::start() {
  for (auto& s : sources_) s->start();
}

void LogSources::stop() {
  for (auto& s : sources_) s->stop();
}

namespace {

std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void LogSources::render_metrics(std::string& out) const {
  if (sources_.empty()) return;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& s : sources_)
      out += std::string(name) + "{source=\"" + label(s->config().name()) + "\"} " +
             std::to_string(value(*s)) + "\n";
  };
  family("mamori_log_lines_total", "counter", "Lines read from a [[logs]] source.",
         [](const LogSource& s) { return s.counters().lines.load() + s.too_long(); });
  family("mamori_log_lines_matched_total", "counter",
         "Lines a source's format recognised as logins (events or skipped).",
         [](const LogSource& s) { return s.counters().matched.load(); });
  family("mamori_log_events_total", "counter", "Login results a source gave the engine.",
         [](const LogSource& s) { return s.counters().events.load(); });
  family("mamori_log_lag_bytes", "gauge",
         "Bytes written to a source's file but not yet read (after the last batch).",
         [](const LogSource& s) { return s.lag_bytes(); });
  family("mamori_log_events_already_stored_total", "counter",
         "Events of lines read again after a restart that the activity log already held "
         "(not processed again).",
         [](const LogSource& s) { return s.already_stored(); });
  family("mamori_log_batches_not_stored_total", "counter",
         "Batches whose events the store failed to commit (read again).",
         [](const LogSource& s) { return s.not_stored(); });
  family("mamori_log_sends_dropped_total", "counter",
         "Authenticated sends whose two lines never joined (postfix: a client line with no queue "
         "line within its wait): not counted against the mail_volume quota.",
         [](const LogSource& s) { return s.sends_dropped(); });
  out +=
      "# HELP mamori_log_lines_skipped_total Login lines that became no event, by reason.\n"
      "# TYPE mamori_log_lines_skipped_total counter\n";
  for (const auto& s : sources_) {
    for (int i = 0; i < kSkipCount; ++i) {
      const std::uint64_t v =
          Skip(i) == Skip::kTooLong ? s->too_long() : s->counters().skipped[std::size_t(i)].load();
      out += "mamori_log_lines_skipped_total{source=\"" + label(s->config().name()) +
             "\",reason=\"" + std::string(to_string(Skip(i))) + "\"} " + std::to_string(v) + "\n";
    }
  }
}

}  // namespace mamori::logs
