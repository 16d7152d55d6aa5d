#include "core/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace mamori {

TempDir::TempDir(std::string_view prefix, std::string_view base) {
  std::string dir(base);
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string pattern = dir + "/" + std::string(prefix) + ".XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    error_ = "cannot make a directory under " + dir + ": " + std::strerror(errno);
    return;
  }
  path_ = std::move(pattern);
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace mamori
