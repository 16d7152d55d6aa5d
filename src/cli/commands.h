#ifndef MAMORI_CLI_COMMANDS_H_
#define MAMORI_CLI_COMMANDS_H_

#include <optional>
#include <ostream>
#include <span>
#include <string>

namespace mamori::cli {

// Exit codes of the `mamori` tool; `mamori --help` documents them.
inline constexpr int kExitOk = 0;
// The server answered with an error ({"error": {"code", "message"}}).
inline constexpr int kExitRefused = 1;
// Bad command line, server unreachable, or an answer that is not the API.
inline constexpr int kExitUsage = 2;

inline constexpr const char* kDefaultServer = "http://127.0.0.1:8425";

// What the tool takes from its environment (MAMORI_SERVER, MAMORI_TOKEN,
// MAMORI_CA, MAMORI_CERT, MAMORI_KEY); command-line options win over it.
struct Environment {
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<std::string> ca;
  std::optional<std::string> cert;
  std::optional<std::string> key;
};

// Runs the tool on the arguments after the program name: parses them, calls
// the server and prints tables (or, with --json, the server's JSON) to `out`,
// and help to `out` when asked for. Errors go to `err` as one
// "mamori: ..." line (plus a usage hint for usage errors). Returns the exit
// code. Blocks for at most one request timeout per server call.
int run_cli(std::span<const std::string> args, const Environment& env, std::ostream& out,
            std::ostream& err);

}  // namespace mamori::cli

#endif  // MAMORI_CLI_COMMANDS_H_
