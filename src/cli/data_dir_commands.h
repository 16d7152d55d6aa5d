#ifndef MAMORI_CLI_DATA_DIR_COMMANDS_H_
#define MAMORI_CLI_DATA_DIR_COMMANDS_H_

#include <ostream>
#include <span>
#include <string>

namespace mamori::cli {

// The data dir's maintenance, on local files (no server is called; the tool
// needs the data dir's machine and read access to it, write access to
// restore and migrate):
//   mamori backup [--data-dir DIR | --config FILE] [--with-pwned] OUT
//   mamori restore BACKUP [--data-dir DIR | --config FILE] [--force]
//   mamori db migrate [--data-dir DIR | --config FILE]
// (store/sqlite/data_dir_tools.h does the work). `args` are the words after
// the command's name. Returns the exit code (commands.h).
int run_backup(std::span<const std::string> args, std::ostream& out, std::ostream& err);
int run_restore(std::span<const std::string> args, std::ostream& out, std::ostream& err);
int run_db(std::span<const std::string> args, std::ostream& out, std::ostream& err);
// The PostgreSQL store's: `mamori db migrate --store URL` (in run_db) and
//   mamori store copy --from DATA_DIR --to URL [--force]
// (store/postgresql/pg_copy.h does the work).
int run_store(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace mamori::cli

#endif  // MAMORI_CLI_DATA_DIR_COMMANDS_H_
