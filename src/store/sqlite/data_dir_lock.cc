#include "store/sqlite/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mamori::store {

Result<DataDirLock> DataDirLock::acquire(const std::string& data_dir) {
  const std::string path = (std::filesystem::path(data_dir) / "mamori.lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    return make_error("store_open_failed", "cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK)
      return make_error("store_open_failed", "cannot lock " + path + ": " + std::strerror(err));
    std::string holder = n > 0 ? std::string(pid, std::size_t(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return make_error("data_dir_in_use", "data dir " + data_dir + " is in use by another process" +
                                             (holder.empty() ? "" : " (PID " + holder + ")") +
                                             ", which holds " + path +
                                             "; one mamorid per data dir");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
    const int err = errno;
    ::close(fd);
    return make_error("store_open_failed", "cannot write " + path + ": " + std::strerror(err));
  }
  return DataDirLock(fd);
}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mamori::store
