#ifndef MAMORI_CLI_LOGS_COMMAND_H_
#define MAMORI_CLI_LOGS_COMMAND_H_

#include <ostream>
#include <span>
#include <string>

namespace mamori::cli {

// `mamori logs replay FILE --format NAME [--json] [--config FILE] ...`: runs
// a log file through the whole engine in this process (logs/log_replay.h)
// and prints what would have been refused and why, with a summary; progress
// goes to `err`. No server is called. `args` are the words after "logs".
// Returns the exit code (commands.h).
int run_logs(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace mamori::cli

#endif  // MAMORI_CLI_LOGS_COMMAND_H_
