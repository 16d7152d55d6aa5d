#ifndef MAMORI_SERVER_LOGS_CONFIG_H_
#define MAMORI_SERVER_LOGS_CONFIG_H_

#include <toml++/toml.h>

#include <string>
#include <vector>

#include "protocols/logs/log_source.h"

namespace mamori::server {

// Reads the `[[logs]]` tables of a config file into `out`: each source's
// path or journal, format and the format's settings, checked as start
// would (the format is built, a custom pattern compiled). The first
// problem goes into `error` as "FILE:LINE: logs[N].KEY what" (left alone
// when it already holds one). Relative paths are taken from the config
// file's directory.
void read_log_sources(const toml::table& root, const std::string& source,
                      std::vector<logs::LogSourceConfig>& out, std::string& error);

// A one-line description of the sources, for "needs a restart" messages.
std::string describe_log_sources(const std::vector<logs::LogSourceConfig>& sources);

}  // namespace mamori::server

#endif  // MAMORI_SERVER_LOGS_CONFIG_H_
