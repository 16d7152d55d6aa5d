#ifndef MAMORI_PROTOCOLS_LOGS_JOURNAL_READER_H_
#define MAMORI_PROTOCOLS_LOGS_JOURNAL_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/logs/line_reader.h"

struct sd_journal;

namespace mamori::logs {

// Which journal entries a source reads: those of one unit (_SYSTEMD_UNIT,
// a name ending in ".service", ".socket", ...) or of one syslog identifier
// (SYSLOG_IDENTIFIER: "dovecot", "sshd", "postfix/smtpd").
struct JournalMatch {
  std::string field;  // "_SYSTEMD_UNIT" or "SYSLOG_IDENTIFIER"
  std::string value;
  // The match for a `journal = "..."` setting: a unit name when it has a
  // unit suffix, else an identifier.
  static JournalMatch for_setting(std::string_view setting);
  std::string text() const { return field + "=" + value; }
};

// One journal entry's fields as sd-journal gives them ("FIELD=value").
struct JournalFields {
  std::string_view message;
  std::optional<TimePoint> time;  // __REALTIME_TIMESTAMP (or _SOURCE_REALTIME_TIMESTAMP)
};
// Reads MESSAGE and the time from the raw "FIELD=value" data of an entry:
// `message` and `realtime_us` as sd_journal_get_data returns them (either
// may be empty when the entry lacks it). A MESSAGE that is not valid text
// (a binary field) is returned as given; the formats will not match it.
JournalFields journal_fields(std::string_view message_data, std::string_view realtime_data,
                             std::uint64_t entry_realtime_us);

// The systemd journal of this machine (sd-journal, local only), filtered by
// a JournalMatch. Its position is the journal's cursor ("journal CURSOR");
// without one it starts at the journal's end (the entries from now on).
// Not thread-safe: one thread reads.
class JournalReader final : public LineReader {
 public:
  // Fails with `journal_unavailable` when the journal cannot be opened.
  static Result<std::unique_ptr<JournalReader>> open(const JournalMatch& match);
  ~JournalReader() override;
  JournalReader(const JournalReader&) = delete;
  JournalReader& operator=(const JournalReader&) = delete;

  Result<std::string> restore(const std::optional<std::string>& saved) override;
  Result<std::size_t> read(std::size_t max_bytes,
                           const std::function<void(const RawLine&)>& on_line) override;
  std::string position() const override;
  void wait(Duration timeout, int stop_fd) override;
  std::uint64_t lag_bytes() override { return 0; }
  std::uint64_t too_long() const override { return too_long_; }

 private:
  JournalReader() = default;
  sd_journal* journal_ = nullptr;
  std::string cursor_;
  std::uint64_t too_long_ = 0;
  std::size_t max_line_bytes_ = 64 * 1024;
};

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_JOURNAL_READER_H_
