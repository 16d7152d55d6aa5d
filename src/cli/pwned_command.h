#ifndef MAMORI_CLI_PWNED_COMMAND_H_
#define MAMORI_CLI_PWNED_COMMAND_H_

#include <ostream>
#include <span>
#include <string>

namespace mamori::cli {

// `mamori pwned import FILE [--data-dir DIR] [--output FILE] [--temp-dir DIR]
// [--memory MB]`: builds the breached-password store mamorid maps
// (account/pwned_import.h) from a Pwned Passwords text file. Works on local
// files only; no server is called. `args` are the words after "pwned".
// Progress goes to `err`. Returns the exit code.
int run_pwned(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace mamori::cli

#endif  // MAMORI_CLI_PWNED_COMMAND_H_
