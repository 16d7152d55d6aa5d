#include <string>
#include <vector>

#include "server/daemon.h"

int main(int argc, char** argv) {
  return mamori::server::run_daemon(std::vector<std::string>(argv + 1, argv + argc));
}
