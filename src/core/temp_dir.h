#ifndef MAMORI_CORE_TEMP_DIR_H_
#define MAMORI_CORE_TEMP_DIR_H_

#include <string>
#include <string_view>

namespace mamori {

// A fresh directory, removed with everything in it when this goes: made as
// `<base>/<prefix>.XXXXXX` (mkdtemp), where an empty `base` is $TMPDIR or,
// without it, /tmp. path() is empty when it could not be made; error() then
// says why. For a throwaway data dir (mamori logs replay), tests, benches.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "mamori", std::string_view base = "");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  std::string error_;
};

}  // namespace mamori

#endif  // MAMORI_CORE_TEMP_DIR_H_
