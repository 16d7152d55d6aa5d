// mamori: the operators' command-line tool for mamorid. See `mamori --help`;
// the work is done by run_cli (commands.h) so that it can be tested apart.

#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  mamori::cli::Environment environment{env("MAMORI_SERVER"), env("MAMORI_TOKEN"), env("MAMORI_CA"),
                                       env("MAMORI_CERT"),   env("MAMORI_KEY"),   env("TZ")};
  try {
    const int code = mamori::cli::run_cli(args, environment, std::cout, std::cerr);
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "mamori: writing the output failed\n";
      return mamori::cli::kExitUsage;
    }
    return code;
  } catch (const std::exception& e) {
    std::cerr << "mamori: internal error: " << e.what() << "\n";
    return mamori::cli::kExitInternal;  // EX_SOFTWARE: a bug, not a usage or server problem
  }
}
