#ifndef MAMORI_SERVER_DAEMON_H_
#define MAMORI_SERVER_DAEMON_H_

#include <string>
#include <vector>

namespace mamori::server {

// mamorid's command line: parses flags, loads the config, opens the store,
// loads the engine, serves HTTP until SIGTERM or SIGINT, then shuts down
// cleanly (every acknowledged write is committed). Returns the exit code:
// 0 after a clean shutdown, 1 when start-up failed (the reason is logged),
// 2 for a usage error.
int run_daemon(const std::vector<std::string>& args);

}  // namespace mamori::server

#endif  // MAMORI_SERVER_DAEMON_H_
