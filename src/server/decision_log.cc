#include "server/decision_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/json_writer.h"
#include "core/log.h"

namespace mamori::server {

DecisionLog::File::~File() {
  if (owned && fd >= 0) ::close(fd);
}

DecisionLog::DecisionLog(std::size_t queue_limit)
    : queue_limit_(queue_limit), writer_([this] { run(); }) {}

DecisionLog::~DecisionLog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

Result<std::shared_ptr<DecisionLog::File>> DecisionLog::open_file(const std::string& path) {
  auto f = std::make_shared<File>();
  if (path == "-") {
    f->fd = STDOUT_FILENO;
    return f;
  }
  f->fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (f->fd < 0)
    return make_error("decision_log_error",
                      "decision log " + path + ": cannot open: " + std::strerror(errno));
  f->owned = true;
  return f;
}

Status DecisionLog::set_path(const std::string& path) {
  std::shared_ptr<File> file;
  if (!path.empty()) {
    auto f = open_file(path);
    if (!f) return f.error();
    file = std::move(*f);
  }
  std::lock_guard lock(mu_);
  path_ = path;
  file_ = std::move(file);
  enabled_.store(file_ != nullptr, std::memory_order_relaxed);
  return {};
}

Status DecisionLog::reopen() {
  const std::string p = path();
  if (p.empty() || p == "-") return {};
  auto f = open_file(p);
  if (!f) return f.error();
  std::lock_guard lock(mu_);
  if (path_ == p) file_ = std::move(*f);
  return {};
}

std::string DecisionLog::path() const {
  std::lock_guard lock(mu_);
  return path_;
}

void DecisionLog::record(const engine::Alert& decision) {
  bool was_empty = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= queue_limit_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = queue_.empty();
    queue_.push_back(decision);
  }
  // The writer takes the whole queue at once: only the first line of a batch
  // needs to wake it (a wake-up is a system call on the request's thread).
  if (was_empty) cv_.notify_one();
}

std::string DecisionLog::format(const engine::Alert& a) {
  std::string line;
  JsonWriter w(line);
  w.begin_object();
  w.field("time", format_rfc3339(a.time));
  w.field("event_id", a.event_id);
  w.field("type", to_string(a.type));
  w.field("account", a.account);
  w.field("ip", a.ip.to_string());
  if (!a.protocol.empty()) w.field("protocol", a.protocol);
  w.field("action", a.client_action());
  w.key("reasons").begin_array();
  for (int i = 0; i < a.decision.reason_count(); ++i) w.value(to_string(a.decision.reason(i)));
  w.end_array();
  w.field("risk", a.decision.risk());
  if (!a.incident_id.empty()) w.field("incident_id", a.incident_id);
  const Location& l = a.where;
  if (!l.country.empty() || !l.city.empty() || l.asn != 0) {
    w.key("location").begin_object();
    if (!l.country.empty()) w.field("country", l.country);
    if (!l.city.empty()) w.field("city", l.city);
    if (l.asn != 0) w.field("asn", std::uint64_t(l.asn));
    w.end_object();
  }
  w.end_object();
  return line;
}

void DecisionLog::run() {
  std::vector<engine::Alert> batch;
  std::string out;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything written
    batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    const std::shared_ptr<File> file = file_;
    lock.unlock();
    out.clear();
    for (const engine::Alert& a : batch) {
      out += format(a);
      out += '\n';
    }
    bool ok = file != nullptr;
    for (std::size_t at = 0; ok && at < out.size();) {
      const ssize_t n = ::write(file->fd, out.data() + at, out.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok = false;
        log_error_limited("decision log write failed",
                          "decision log: write failed: " + std::string(std::strerror(errno)));
        break;
      }
      at += std::size_t(n);
    }
    if (ok)
      written_.fetch_add(batch.size(), std::memory_order_relaxed);
    else
      write_errors_.fetch_add(batch.size(), std::memory_order_relaxed);
    batch.clear();
    lock.lock();
    // Under a steady stream, let a batch gather rather than wake and write
    // per line; a stop ends the wait.
    cv_.wait_for(lock, kBatchDelay, [&] { return stopping_; });
  }
}

void DecisionLog::render_metrics(std::string& out) const {
  out +=
      "# HELP mamori_decision_log_lines_total Decisions above allow written to the decision log.\n"
      "# TYPE mamori_decision_log_lines_total counter\n"
      "mamori_decision_log_lines_total " +
      std::to_string(written()) +
      "\n# HELP mamori_decision_log_dropped_total Decisions not written to the decision log: its "
      "queue was full (the writer fell behind).\n"
      "# TYPE mamori_decision_log_dropped_total counter\n"
      "mamori_decision_log_dropped_total " +
      std::to_string(dropped()) +
      "\n# HELP mamori_decision_log_write_errors_total Decisions lost because writing the "
      "decision log failed.\n"
      "# TYPE mamori_decision_log_write_errors_total counter\n"
      "mamori_decision_log_write_errors_total " +
      std::to_string(write_errors_.load(std::memory_order_relaxed)) + "\n";
}

}  // namespace mamori::server
