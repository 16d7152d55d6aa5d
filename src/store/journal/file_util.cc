#include "store/journal/file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace mamori::store::journal {

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Error errno_error(std::string_view code, std::string_view path, std::string_view what, int err) {
  std::string m(path);
  m += ": ";
  m += what;
  m += ": ";
  m += std::strerror(err);
  return make_error(std::string(code), std::move(m));
}

Result<File> open_file(const std::string& path, int flags, std::string_view code, unsigned mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno_error(code, path, "open", errno);
  return File(fd);
}

Status pread_full(int fd, void* buf, std::size_t n, std::uint64_t offset, std::size_t& read,
                  std::string_view path, std::string_view code) {
  read = 0;
  auto* p = static_cast<char*>(buf);
  while (read < n) {
    const ssize_t r = ::pread(fd, p + read, n - read, off_t(offset + read));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno_error(code, path, "read", errno);
    }
    if (r == 0) break;
    read += std::size_t(r);
  }
  return {};
}

Status pwrite_full(int fd, std::string_view data, std::uint64_t offset, std::string_view path,
                   std::string_view code) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::pwrite(fd, data.data() + done, data.size() - done, off_t(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_error(code, path, "write", errno);
    }
    if (w == 0) return errno_error(code, path, "write", EIO);
    done += std::size_t(w);
  }
  return {};
}

Status sync_dir(const std::string& dir, std::string_view code) {
  auto f = open_file(dir, O_RDONLY | O_DIRECTORY, code);
  if (!f) return f.error();
  if (::fsync(f->fd()) != 0) return errno_error(code, dir, "fsync", errno);
  return {};
}

Status make_dirs(const std::string& dir, std::string_view code) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return errno_error(code, dir, "mkdir", ENOTDIR);
  }
  const std::filesystem::path p(dir);
  const std::string parent = p.has_parent_path() ? p.parent_path().string() : ".";
  if (parent != dir && !parent.empty()) {
    if (Status s = make_dirs(parent, code); !s) return s;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error(code, dir, "mkdir", errno);
  return sync_dir(parent.empty() ? "." : parent, code);
}

}  // namespace mamori::store::journal
