#ifndef MAMORI_TESTS_UNIT_TESTING_TEMP_DIR_H_
#define MAMORI_TESTS_UNIT_TESTING_TEMP_DIR_H_

#include <gtest/gtest.h>

#include <string>

#include "core/temp_dir.h"

namespace mamori::testing {

// A fresh directory under /tmp, removed with everything in it at scope exit.
class TempDir : public ::mamori::TempDir {
 public:
  TempDir() : ::mamori::TempDir("mamori_test", "/tmp") { EXPECT_FALSE(path().empty()) << error(); }
  std::string db() const { return path() + "/mamori.db"; }
};

}  // namespace mamori::testing

#endif  // MAMORI_TESTS_UNIT_TESTING_TEMP_DIR_H_
