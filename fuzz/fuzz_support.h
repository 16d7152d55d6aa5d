// What every fuzz target shares: how a finding stops the run, and scratch
// directories.
#ifndef MAMORI_FUZZ_FUZZ_SUPPORT_H_
#define MAMORI_FUZZ_FUZZ_SUPPORT_H_

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace mamori::fuzz {

// Stops the run with a message: a broken invariant is a finding, like a crash.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// A fresh directory, removed with its contents when destroyed.
class ScratchDir {
 public:
  ScratchDir() {
    std::string base = "/dev/shm";
    if (::access(base.c_str(), W_OK) != 0) {
      const char* tmp = std::getenv("TMPDIR");
      base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    }
    std::string pattern = base + "/mamori_fuzz.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) fail("cannot create a directory under " + base);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mamori::fuzz

#endif  // MAMORI_FUZZ_FUZZ_SUPPORT_H_
