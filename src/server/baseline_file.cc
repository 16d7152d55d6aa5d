#include "server/baseline_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "core/replace_file.h"

namespace mamori {

void BaselineFile::load() {
  std::ifstream in(path_);
  if (!in) return;  // none yet: learning starts
  std::stringstream text;
  text << in.rdbuf();
  if (Status s = baseline_.restore(text.str()); !s) {
    const std::string aside = path_ + ".bad";
    std::error_code ec;
    std::filesystem::rename(path_, aside, ec);
    log_warn("distributed_stuffing: " + path_ + ": " + s.error().message + "; moved to " + aside +
             ", the failure baseline is learnt anew");
    return;
  }
  saved_version_ = baseline_.version();
  log_info("distributed_stuffing: failure baseline restored from " + path_);
}

void BaselineFile::save_if_changed() {
  const std::uint64_t version = baseline_.version();
  if (version == saved_version_) return;
  if (Status s = replace_file(path_, baseline_.snapshot(), "baseline_unwritable"); !s) {
    if (!failing_) log_warn("distributed_stuffing: " + s.error().message + " (retried)");
    failing_ = true;
    return;
  }
  if (failing_) log_info("distributed_stuffing: failure baseline saved again to " + path_);
  failing_ = false;
  saved_version_ = version;
}

}  // namespace mamori
