#ifndef MAMORI_SERVER_BASELINE_FILE_H_
#define MAMORI_SERVER_BASELINE_FILE_H_

#include <cstdint>
#include <string>

#include "engine/failure_baseline.h"

namespace mamori {

// `<data_dir>/baseline`: distributed_stuffing's failure baseline per hour of
// the week (engine/failure_baseline.h) across restarts, so that a restart
// does not start a week of learning over. Small text, replaced whole.
class BaselineFile {
 public:
  BaselineFile(std::string path, engine::FailureBaseline& baseline)
      : path_(std::move(path)), baseline_(baseline) {}

  // Restores the baseline from the file, if there is one. A file that is
  // not a baseline is logged, renamed to PATH.bad, and learning starts over.
  void load();
  // Saves the baseline if an hour was learnt since the last load or save;
  // a failure is logged (once until a save succeeds again) and retried at
  // the next call.
  void save_if_changed();

 private:
  const std::string path_;
  engine::FailureBaseline& baseline_;
  std::uint64_t saved_version_ = 0;
  bool failing_ = false;
};

}  // namespace mamori

#endif  // MAMORI_SERVER_BASELINE_FILE_H_
