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

}  // namespace mamori::testing

#endif  // MAMORI_TESTS_UNIT_TESTING_CONFIG_PARSING_H_
