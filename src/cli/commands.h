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
// Bad command line (unknown command or option, bad value).
inline constexpr int kExitUsage = 2;
// The server cannot be reached (connection refused, name unknown, timeout).
inline constexpr int kExitUnreachable = 3;
// The answer is not the API's (not JSON, an unexpected status).
inline constexpr int kExitBadResponse = 4;
// A bug in the tool (an exception escaped).
inline constexpr int kExitInternal = 70;

inline constexpr const char* kDefaultServer = "http://127.0.0.1:8425";

// What the tool takes from its environment (MAMORI_SERVER, MAMORI_TOKEN,
// MAMORI_CA, MAMORI_CERT, MAMORI_KEY, TZ); command-line options win over it.
struct Environment {
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<std::string> ca;
  std::optional<std::string> cert;
  std::optional<std::string> key;
  std::optional<std::string> tz;
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
