#ifndef MAMORI_TESTS_UNIT_TESTING_FILE_SIZE_LIMIT_H_
#define MAMORI_TESTS_UNIT_TESTING_FILE_SIZE_LIMIT_H_

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

namespace mamori::testing {

// A limit on the size of every file this process writes (RLIMIT_FSIZE): a
// write past it fails with EFBIG, a real fault of the file system's kind.
// SIGXFSZ is ignored meanwhile, so the write fails instead of the process.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  }
  ~FileSizeLimit() { lift(); }
  void lift() {
    if (lifted_) return;
    lifted_ = true;
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
  bool lifted_ = false;
};

}  // namespace mamori::testing

#endif  // MAMORI_TESTS_UNIT_TESTING_FILE_SIZE_LIMIT_H_
