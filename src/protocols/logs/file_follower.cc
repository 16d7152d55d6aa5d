#include "protocols/logs/file_follower.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "core/hash.h"

namespace mamori::logs {

namespace {

constexpr std::size_t kChunk = 64 * 1024;

Result<std::size_t> pread_some(int fd, char* buf, std::size_t n, std::uint64_t at) {
  for (;;) {
    const ssize_t got = ::pread(fd, buf, n, off_t(at));
    if (got >= 0) return std::size_t(got);
    if (errno != EINTR) return make_error("log_read_failed", std::strerror(errno));
  }
}

}  // namespace

std::string FilePosition::text() const {
  return "file " + std::to_string(inode) + " " + std::to_string(offset) + " " +
         std::to_string(fingerprint_bytes) + " " + std::to_string(fingerprint);
}

bool FilePosition::parse(std::string_view text, FilePosition& out) {
  if (!text.starts_with("file ")) return false;
  text.remove_prefix(5);
  std::uint64_t v[4];
  for (int i = 0; i < 4; ++i) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v[i]);
    if (ec != std::errc()) return false;
    text.remove_prefix(std::size_t(end - text.data()));
    if (i < 3) {
      if (!text.starts_with(' ')) return false;
      text.remove_prefix(1);
    }
  }
  if (!text.empty() || v[2] > FileFollower::kFingerprintBytes) return false;
  out = FilePosition{v[0], v[1], std::uint32_t(v[2]), v[3]};
  return true;
}

FileFollower::FileFollower(std::string path, std::size_t max_line_bytes)
    : path_(std::move(path)), max_line_bytes_(max_line_bytes) {
  dir_ = std::filesystem::path(path_).parent_path().string();
  if (dir_.empty()) dir_ = ".";
  inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_ >= 0)
    ::inotify_add_watch(inotify_, dir_.c_str(),
                        IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                            IN_CLOSE_WRITE | IN_ATTRIB);
}

FileFollower::~FileFollower() {
  close(current_);
  close(previous_);
  if (inotify_ >= 0) ::close(inotify_);
}

void FileFollower::close(Open& f) {
  if (f.fd >= 0) ::close(f.fd);
  f = Open{};
}

bool FileFollower::fingerprint(int fd, std::uint64_t size, std::uint32_t& bytes,
                               std::uint64_t& hash) {
  char buf[kFingerprintBytes];
  const std::size_t want = std::size_t(std::min<std::uint64_t>(size, kFingerprintBytes));
  auto got = pread_some(fd, buf, want, 0);
  if (!got) return false;
  bytes = std::uint32_t(*got);
  hash = hash_bytes(std::string_view(buf, *got));
  return true;
}

bool FileFollower::open_from_start(const std::string& path, Open& f) {
  close(f);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return false;
  }
  f.fd = fd;
  f.at.inode = std::uint64_t(st.st_ino);
  f.at.offset = 0;
  fingerprint(fd, std::uint64_t(st.st_size), f.at.fingerprint_bytes, f.at.fingerprint);
  read_at_ = 0;
  partial_.clear();
  skipping_ = false;
  return true;
}

bool FileFollower::unchanged(Open& f, std::uint64_t size) {
  if (size < f.at.offset) return false;
  if (f.at.fingerprint_bytes == 0) return true;
  std::uint32_t bytes = 0;
  std::uint64_t hash = 0;
  char buf[kFingerprintBytes];
  auto got = pread_some(f.fd, buf, f.at.fingerprint_bytes, 0);
  if (!got) return true;  // an I/O error: read() reports it
  bytes = std::uint32_t(*got);
  hash = hash_bytes(std::string_view(buf, *got));
  return bytes == f.at.fingerprint_bytes && hash == f.at.fingerprint;
}

Result<std::string> FileFollower::restore(const std::optional<std::string>& saved) {
  close(current_);
  close(previous_);
  FilePosition p;
  if (!saved) {
    open_from_start(path_, current_);
    return std::string();
  }
  if (!FilePosition::parse(*saved, p)) {
    open_from_start(path_, current_);
    return std::string("the saved position is not a file's: reading from the start");
  }
  // The saved file: still at its name, or renamed to NAME.1 by a rotation
  // while the daemon was down.
  auto matches = [&](const std::string& path, Open& f) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    std::uint32_t bytes = 0;
    std::uint64_t hash = 0;
    if (::fstat(fd, &st) != 0 || std::uint64_t(st.st_ino) != p.inode ||
        std::uint64_t(st.st_size) < p.offset ||
        !fingerprint(fd, std::min<std::uint64_t>(std::uint64_t(st.st_size), p.fingerprint_bytes),
                     bytes, hash) ||
        bytes != p.fingerprint_bytes || hash != p.fingerprint) {
      ::close(fd);
      return false;
    }
    f.fd = fd;
    f.at = p;
    return true;
  };
  if (matches(path_, current_)) {
    read_at_ = p.offset;
    return std::string();
  }
  if (matches(path_ + ".1", previous_)) {
    read_at_ = p.offset;
    return "rotated while stopped: reading the rest of " + path_ + ".1 first";
  }
  open_from_start(path_, current_);
  return std::string("the file was replaced or truncated while stopped: reading from its start");
}

Result<std::size_t> FileFollower::drain(Open& f, std::size_t max_bytes,
                                        const std::function<void(const RawLine&)>& on_line,
                                        bool& at_end) {
  std::size_t lines = 0, bytes = 0;
  at_end = false;
  char buf[kChunk];
  while (bytes < max_bytes) {
    auto got = pread_some(f.fd, buf, sizeof buf, read_at_);
    if (!got) return got.error();
    if (*got == 0) {
      at_end = true;
      break;
    }
    const std::size_t n = *got;
    read_at_ += n;
    bytes += n;
    std::size_t start = 0;
    while (start < n) {
      const char* nl = static_cast<const char*>(std::memchr(buf + start, '\n', n - start));
      if (!nl) break;
      const std::size_t end = std::size_t(nl - buf);
      if (skipping_) {
        skipping_ = false;
        ++too_long_;
      } else if (!partial_.empty()) {
        partial_.append(buf + start, end - start);
        if (partial_.size() > max_line_bytes_) {
          ++too_long_;
        } else {
          on_line(RawLine{partial_, std::nullopt, origin(f, partial_at_)});
          ++lines;
        }
        partial_.clear();
      } else if (end - start > max_line_bytes_) {
        ++too_long_;
      } else {
        on_line(RawLine{std::string_view(buf + start, end - start), std::nullopt,
                        origin(f, read_at_ - n + start)});
        ++lines;
      }
      start = end + 1;
      f.at.offset = read_at_ - n + start;
    }
    if (start < n && !skipping_) {
      if (partial_.size() + (n - start) > max_line_bytes_) {
        partial_.clear();
        skipping_ = true;  // counted at its newline
      } else {
        if (partial_.empty()) partial_at_ = read_at_ - n + start;
        partial_.append(buf + start, n - start);
      }
    }
  }
  return lines;
}

Result<std::size_t> FileFollower::read(std::size_t max_bytes,
                                       const std::function<void(const RawLine&)>& on_line) {
  std::size_t lines = 0;
  bool at_end = false;
  // A file's last line without a newline ends with the file (after a rotation).
  auto finish = [&](Open& f) {
    if (!partial_.empty() && !skipping_) {
      on_line(RawLine{partial_, std::nullopt, origin(f, partial_at_)});
      ++lines;
    }
    partial_.clear();
    skipping_ = false;
    close(f);
  };
  if (previous_.fd >= 0) {
    auto n = drain(previous_, max_bytes, on_line, at_end);
    if (!n) return n.error();
    lines += *n;
    if (!at_end) return lines;
    finish(previous_);
    open_from_start(path_, current_);
  }
  if (current_.fd < 0 && !open_from_start(path_, current_)) return lines;
  struct stat st {};
  if (::fstat(current_.fd, &st) != 0)
    return make_error("log_read_failed", path_ + ": " + std::strerror(errno));
  if (!unchanged(current_, std::uint64_t(st.st_size))) {
    // copytruncate (or the file was rewritten in place): from the start.
    current_.at.offset = 0;
    read_at_ = 0;
    partial_.clear();
    skipping_ = false;
    fingerprint(current_.fd, std::uint64_t(st.st_size), current_.at.fingerprint_bytes,
                current_.at.fingerprint);
  }
  auto n = drain(current_, max_bytes, on_line, at_end);
  if (!n) return n.error();
  lines += *n;
  if (current_.at.fingerprint_bytes < kFingerprintBytes && ::fstat(current_.fd, &st) == 0 &&
      std::uint64_t(st.st_size) > current_.at.fingerprint_bytes)
    fingerprint(current_.fd, std::uint64_t(st.st_size), current_.at.fingerprint_bytes,
                current_.at.fingerprint);
  if (!at_end) return lines;
  // Rotation by rename: the name leads to another file now.
  struct stat named {};
  if (::stat(path_.c_str(), &named) == 0 && std::uint64_t(named.st_ino) != current_.at.inode) {
    auto rest = drain(current_, SIZE_MAX, on_line, at_end);  // what was written meanwhile
    if (!rest) return rest.error();
    lines += *rest;
    finish(current_);
    if (open_from_start(path_, current_)) {
      auto more = drain(current_, max_bytes, on_line, at_end);
      if (!more) return more.error();
      lines += *more;
    }
  }
  return lines;
}

std::string_view FileFollower::origin(const Open& f, std::uint64_t offset) {
  char* p = origin_;
  char* const end = origin_ + sizeof origin_;
  p = std::to_chars(p, end, f.at.inode).ptr;
  *p++ = ':';
  p = std::to_chars(p, end, offset).ptr;
  return std::string_view(origin_, std::size_t(p - origin_));
}

std::string FileFollower::position() const {
  return (previous_.fd >= 0 ? previous_.at : current_.at).text();
}

void FileFollower::wait(Duration timeout, int stop_fd) {
  pollfd fds[2] = {{stop_fd, POLLIN, 0}, {inotify_, POLLIN, 0}};
  ::poll(fds, inotify_ >= 0 ? 2 : 1, int(timeout.count()));
  if (inotify_ >= 0 && (fds[1].revents & POLLIN)) {
    alignas(inotify_event) char buf[4096];
    while (::read(inotify_, buf, sizeof buf) > 0) {
    }
  }
}

std::uint64_t FileFollower::lag_bytes() {
  std::uint64_t lag = 0;
  struct stat st {};
  for (const Open* f : {&previous_, &current_}) {
    if (f->fd >= 0 && ::fstat(f->fd, &st) == 0 && std::uint64_t(st.st_size) > f->at.offset)
      lag += std::uint64_t(st.st_size) - f->at.offset;
  }
  return lag;
}

}  // namespace mamori::logs
