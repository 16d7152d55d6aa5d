#include "protocols/logs/journal_reader.h"

#include <poll.h>
#include <systemd/sd-journal.h>

#include <charconv>
#include <cstring>
#include <memory>

namespace mamori::logs {

namespace {

std::string_view field_value(std::string_view data, std::string_view name) {
  if (data.size() <= name.size() || !data.starts_with(name) || data[name.size()] != '=') return {};
  return data.substr(name.size() + 1);
}

}  // namespace

JournalMatch JournalMatch::for_setting(std::string_view setting) {
  for (std::string_view suffix : {".service", ".socket", ".scope", ".slice", ".timer"})
    if (setting.ends_with(suffix)) return {"_SYSTEMD_UNIT", std::string(setting)};
  return {"SYSLOG_IDENTIFIER", std::string(setting)};
}

JournalFields journal_fields(std::string_view message_data, std::string_view realtime_data,
                             std::uint64_t entry_realtime_us) {
  JournalFields f;
  f.message = field_value(message_data, "MESSAGE");
  // The sender's own time when it gave one, else the journal's.
  std::uint64_t us = entry_realtime_us;
  const std::string_view source = field_value(realtime_data, "_SOURCE_REALTIME_TIMESTAMP");
  std::uint64_t v = 0;
  if (!source.empty()) {
    auto [end, ec] = std::from_chars(source.data(), source.data() + source.size(), v);
    if (ec == std::errc() && end == source.data() + source.size()) us = v;
  }
  if (us > 0) f.time = TimePoint(Duration(std::int64_t(us / 1000)));
  return f;
}

Result<std::unique_ptr<JournalReader>> JournalReader::open(const JournalMatch& match) {
  std::unique_ptr<JournalReader> r(new JournalReader());
  if (const int e = sd_journal_open(&r->journal_, SD_JOURNAL_LOCAL_ONLY); e < 0)
    return make_error("journal_unavailable",
                      std::string("cannot open the systemd journal: ") + std::strerror(-e));
  const std::string m = match.text();
  if (const int e = sd_journal_add_match(r->journal_, m.data(), m.size()); e < 0)
    return make_error("journal_unavailable", "journal match " + m + ": " + std::strerror(-e));
  sd_journal_set_data_threshold(r->journal_, r->max_line_bytes_ + 16);
  return r;
}

JournalReader::~JournalReader() {
  if (journal_) sd_journal_close(journal_);
}

Result<std::string> JournalReader::restore(const std::optional<std::string>& saved) {
  if (saved && saved->starts_with("journal ")) {
    cursor_ = saved->substr(8);
    if (sd_journal_seek_cursor(journal_, cursor_.c_str()) >= 0) {
      // The entry at the cursor was read: step onto it, then past it.
      sd_journal_next(journal_);
      if (sd_journal_test_cursor(journal_, cursor_.c_str()) > 0) return std::string();
      sd_journal_seek_cursor(journal_, cursor_.c_str());
      return std::string("the saved cursor's entry is gone (vacuumed): reading from the next one");
    }
  }
  cursor_.clear();
  sd_journal_seek_tail(journal_);
  sd_journal_previous(journal_);  // onto the last entry: next() then moves to new ones
  char* c = nullptr;
  if (sd_journal_get_cursor(journal_, &c) >= 0) {
    cursor_ = c;
    free(c);
  }
  return std::string(saved ? "the saved position is not a journal cursor: reading new entries"
                           : "");
}

Result<std::size_t> JournalReader::read(std::size_t max_bytes,
                                        const std::function<void(const RawLine&)>& on_line) {
  std::size_t lines = 0, bytes = 0;
  while (bytes < max_bytes) {
    const int r = sd_journal_next(journal_);
    if (r < 0) return make_error("log_read_failed", std::string("journal: ") + std::strerror(-r));
    if (r == 0) break;
    const void* data = nullptr;
    std::size_t size = 0;
    std::string_view message, source_time;
    if (sd_journal_get_data(journal_, "MESSAGE", &data, &size) >= 0)
      message = std::string_view(static_cast<const char*>(data), size);
    std::string message_copy(message);  // the next get_data may reuse the buffer
    if (sd_journal_get_data(journal_, "_SOURCE_REALTIME_TIMESTAMP", &data, &size) >= 0)
      source_time = std::string_view(static_cast<const char*>(data), size);
    std::uint64_t us = 0;
    sd_journal_get_realtime_usec(journal_, &us);
    const JournalFields f = journal_fields(message_copy, source_time, us);
    char* c = nullptr;
    if (sd_journal_get_cursor(journal_, &c) >= 0) {
      cursor_ = c;
      free(c);
    }
    bytes += message_copy.size();
    if (message_copy.size() > max_line_bytes_) {
      ++too_long_;
      continue;
    }
    on_line(RawLine{f.message, f.time, cursor_});
    ++lines;
  }
  return lines;
}

std::string JournalReader::position() const { return cursor_.empty() ? "" : "journal " + cursor_; }

void JournalReader::wait(Duration timeout, int stop_fd) {
  const int fd = sd_journal_get_fd(journal_);
  pollfd fds[2] = {{stop_fd, POLLIN, 0}, {fd, short(sd_journal_get_events(journal_)), 0}};
  ::poll(fds, fd >= 0 ? 2 : 1, int(timeout.count()));
  sd_journal_process(journal_);
}

}  // namespace mamori::logs
