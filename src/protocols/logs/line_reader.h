#ifndef MAMORI_PROTOCOLS_LOGS_LINE_READER_H_
#define MAMORI_PROTOCOLS_LOGS_LINE_READER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace mamori::logs {

// One line as a reader delivers it: a file's line without its newline, or a
// journal entry's MESSAGE with the entry's time.
struct RawLine {
  std::string_view text;
  std::optional<TimePoint> time;
  // Where the line is in its source, the same each time it is read: a
  // file's "INODE:OFFSET" (the byte offset of the line's start), a journal
  // entry's cursor; empty when the reader cannot tell.
  std::string_view origin = {};
};

// Where lines come from: a followed file (FileFollower) or the systemd
// journal (JournalReader). A reader delivers each line once, in order, and
// says where it stopped, so that a restart from a saved position() neither
// loses nor repeats a line. Not thread-safe: one thread reads.
class LineReader {
 public:
  virtual ~LineReader() = default;

  // Starts from a position() saved earlier; none: from the reader's start
  // (a file's first byte, the journal's end). A saved position that no
  // longer fits (the file was replaced) is not an error: the reader starts
  // afresh and says so in its result ("" when resumed as saved).
  virtual Result<std::string> restore(const std::optional<std::string>& saved) = 0;
  // Delivers the complete lines there are now, about `max_bytes` at most,
  // to `on_line` (the view is valid during the call). Returns their number.
  // A file's missing file is not an error (it may appear); I/O errors are.
  virtual Result<std::size_t> read(std::size_t max_bytes,
                                   const std::function<void(const RawLine&)>& on_line) = 0;
  // Where the next read() starts: after the last line delivered.
  virtual std::string position() const = 0;
  // Blocks until there may be more to read, `timeout` has passed or
  // `stop_fd` became readable.
  virtual void wait(Duration timeout, int stop_fd) = 0;
  // Bytes written to the source but not yet delivered (0 for the journal).
  virtual std::uint64_t lag_bytes() = 0;
  // Lines skipped because they were longer than the limit.
  virtual std::uint64_t too_long() const = 0;
};

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_LINE_READER_H_
