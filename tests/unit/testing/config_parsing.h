// Parsing configs in tests: the config a text gives, or the error it is
// refused with.
#ifndef MAMORI_TESTS_UNIT_TESTING_CONFIG_PARSING_H_
#define MAMORI_TESTS_UNIT_TESTING_CONFIG_PARSING_H_

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "server/config.h"

namespace mamori::testing {

inline server::Config parse_ok(std::string_view text, const std::string& source = "test.toml") {
  auto r = server::parse_config(text, source);
  if (!r) {
    ADD_FAILURE() << r.error().message;
    return server::Config{};
  }
  return *r;
}

// The error message of a config that must be rejected.
inline std::string parse_error(std::string_view text) {
  auto r = server::parse_config(text, "test.toml");
  if (r.ok()) {
    ADD_FAILURE() << "accepted:\n" << text;
    return "";
  }
  EXPECT_EQ(r.error().code, "invalid_config");
  return r.error().message;
}

// The repository root, from this header's path (tests/unit/testing/), for
// the tests that read examples/mamori.toml.
inline std::string source_dir() {
  std::string f = __FILE__;
  const auto at = f.rfind("/tests/unit/testing/");
  return at == std::string::npos ? "." : f.substr(0, at);
}

inline bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

}  // namespace mamori::testing

#endif  // MAMORI_TESTS_UNIT_TESTING_CONFIG_PARSING_H_
