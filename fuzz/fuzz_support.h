// What every fuzz target shares: how a finding stops the run, and scratch
// directories.
#ifndef MAMORI_FUZZ_FUZZ_SUPPORT_H_
#define MAMORI_FUZZ_FUZZ_SUPPORT_H_

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "core/temp_dir.h"

namespace mamori::fuzz {

// Stops the run with a message: a broken invariant is a finding, like a crash.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// A fresh directory (in memory, /dev/shm, where there is one), removed
// with its contents when destroyed; the run stops when it cannot be made.
class ScratchDir : public TempDir {
 public:
  ScratchDir() : TempDir("mamori_fuzz", ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "") {
    if (path().empty()) fail(error());
  }
};

}  // namespace mamori::fuzz

#endif  // MAMORI_FUZZ_FUZZ_SUPPORT_H_
