#ifndef MAMORI_PROTOCOLS_LOGS_POSITIONS_H_
#define MAMORI_PROTOCOLS_LOGS_POSITIONS_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/result.h"

namespace mamori::logs {

// Where each log source stopped: one line per source in <dir>/positions,
// "POSITION<TAB>SOURCE", POSITION being the reader's own text (a file's
// inode, offset and fingerprint; the journal's cursor). The whole file is
// rewritten on each put(): to positions.tmp, fsync, renamed over the old
// one, the directory fsynced, so a crash (kill -9, a power cut) leaves the
// old file or the new one, never a torn one.
// Thread-safe: the sources' threads put() concurrently.
class PositionStore {
 public:
  // Makes `dir` if missing and reads its positions file. Fails with
  // `positions_unreadable` (a file that is not this format) or
  // `positions_unwritable` (the directory cannot be made).
  static Result<std::unique_ptr<PositionStore>> open(const std::string& dir);
  PositionStore(const PositionStore&) = delete;
  PositionStore& operator=(const PositionStore&) = delete;

  // The saved position of `source`; none if it has none yet.
  std::optional<std::string> get(const std::string& source) const;
  // Saves the position of `source` durably. Fails with
  // `positions_unwritable` (disk full, permissions); the old file stays.
  // REQUIRES: neither holds a newline, the position no tab.
  Status put(const std::string& source, const std::string& position);

  const std::string& path() const { return path_; }

 private:
  explicit PositionStore(std::string dir);
  std::string dir_, path_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> positions_;  // by source
};

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_POSITIONS_H_
