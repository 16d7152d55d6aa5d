#ifndef MAMORI_STORE_SQLITE_DATA_DIR_LOCK_H_
#define MAMORI_STORE_SQLITE_DATA_DIR_LOCK_H_

#include <string>

#include "core/result.h"

namespace mamori::store {

// One process's claim on a data dir: an exclusive lock (flock) on
// `<data_dir>/mamori.lock`, which holds the owner's PID. The kernel drops
// the lock when the process ends, however it ends (kill -9 included), so a
// stale file never blocks a start. Two daemons on one data dir would each
// keep locks, lists and blocks in memory that the other never sees.
// Move-only; the lock is released on destruction.
class DataDirLock {
 public:
  // Fails with `data_dir_in_use`, naming the lock file and the PID written
  // in it, when another process holds it; with `store_open_failed` when the
  // file cannot be opened.
  static Result<DataDirLock> acquire(const std::string& data_dir);

  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_SQLITE_DATA_DIR_LOCK_H_
