#ifndef MAMORI_PROTOCOLS_LOGS_FILE_FOLLOWER_H_
#define MAMORI_PROTOCOLS_LOGS_FILE_FOLLOWER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "protocols/logs/line_reader.h"

namespace mamori::logs {

// A file's place, as position() writes it: "file INODE OFFSET FPLEN FP",
// FP a hash of the file's first FPLEN bytes (at most kFingerprintBytes), by
// which a file is recognised when its inode number was reused.
struct FilePosition {
  std::uint64_t inode = 0, offset = 0;
  std::uint32_t fingerprint_bytes = 0;
  std::uint64_t fingerprint = 0;
  std::string text() const;
  static bool parse(std::string_view text, FilePosition& out);
};

// Follows a log file as a writer appends to it and as logrotate rotates it:
//   - appended lines are read as they come; a last line without its newline
//     waits for it;
//   - rotation by rename (the name now leads to another inode): the old file
//     is read to its end, then the new one from its start;
//   - copytruncate (the file shrank below the offset, or its first bytes
//     changed): read again from the start;
//   - a restart whose saved file was renamed away (to NAME.1) reads that
//     file's rest first;
//   - a line longer than `max_line_bytes` is skipped (counted by too_long())
//     without being buffered.
// Growth is noticed through inotify on the file's directory, and at least
// every wait() timeout without it. Not thread-safe: one thread reads.
class FileFollower final : public LineReader {
 public:
  static constexpr std::size_t kFingerprintBytes = 256;

  FileFollower(std::string path, std::size_t max_line_bytes);
  ~FileFollower() override;
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  Result<std::string> restore(const std::optional<std::string>& saved) override;
  Result<std::size_t> read(std::size_t max_bytes,
                           const std::function<void(const RawLine&)>& on_line) override;
  std::string position() const override;
  void wait(Duration timeout, int stop_fd) override;
  std::uint64_t lag_bytes() override;
  std::uint64_t too_long() const override { return too_long_; }

  const std::string& path() const { return path_; }

 private:
  // An open file and where in it the next line starts.
  struct Open {
    int fd = -1;
    FilePosition at;
  };
  void close(Open& f);
  // Opens `path` from its start (missing: stays closed).
  bool open_from_start(const std::string& path, Open& f);
  // The fingerprint of the file's first min(size, kFingerprintBytes) bytes.
  static bool fingerprint(int fd, std::uint64_t size, std::uint32_t& bytes, std::uint64_t& hash);
  // Reads `f` to its end (or max_bytes), delivering lines.
  Result<std::size_t> drain(Open& f, std::size_t max_bytes,
                            const std::function<void(const RawLine&)>& on_line, bool& at_end);
  // Whether `f` is still the file it was (no copytruncate).
  bool unchanged(Open& f, std::uint64_t size);
  // RawLine::origin of the line of `f` that starts at `offset` (valid until
  // the next call).
  std::string_view origin(const Open& f, std::uint64_t offset);

  std::string path_, dir_;
  std::size_t max_line_bytes_;
  Open current_;
  Open previous_;              // a rotated file whose rest is read before current_
  std::uint64_t read_at_ = 0;  // where the next read of the file being drained starts
  std::string partial_;        // the start of a line without its newline yet
  std::uint64_t partial_at_ = 0;  // the offset where partial_ starts
  char origin_[48];               // origin()'s text
  bool skipping_ = false;      // inside a line over the limit
  std::uint64_t too_long_ = 0;
  int inotify_ = -1;
};

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_FILE_FOLLOWER_H_
