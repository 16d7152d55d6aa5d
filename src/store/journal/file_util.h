#ifndef MAMORI_STORE_JOURNAL_FILE_UTIL_H_
#define MAMORI_STORE_JOURNAL_FILE_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori::store::journal {

// The few POSIX file calls the journal makes, as Status values whose message
// names the file and the system's reason. Every error carries `code`, the
// caller's word for what failed (`store_write_failed`, `store_read_failed`,
// `store_open_failed`).

// An owned file descriptor, closed on destruction. Move-only.
class File {
 public:
  File() = default;
  explicit File(int fd) : fd_(fd) {}
  ~File();
  File(File&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  File& operator=(File&& o) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// "PATH: what: strerror(errno)" as an Error with `code`.
Error errno_error(std::string_view code, std::string_view path, std::string_view what, int err);

// open(2) with O_CLOEXEC added.
Result<File> open_file(const std::string& path, int flags, std::string_view code,
                       unsigned mode = 0600);

// Reads exactly `n` bytes at `offset`; fewer only at the end of the file
// (`read` says how many). Retries EINTR and short reads.
Status pread_full(int fd, void* buf, std::size_t n, std::uint64_t offset, std::size_t& read,
                  std::string_view path, std::string_view code);

// Writes all of `data` at `offset`; fails at the first error (ENOSPC, EFBIG,
// EIO, ...) with part of it possibly written.
Status pwrite_full(int fd, std::string_view data, std::uint64_t offset, std::string_view path,
                   std::string_view code);

// fsync(2) of a directory, so that a create, rename or unlink in it is
// durable.
Status sync_dir(const std::string& dir, std::string_view code);

// Creates `dir` (and its parents) if missing, syncing the parent of each
// directory made.
Status make_dirs(const std::string& dir, std::string_view code);

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_FILE_UTIL_H_
