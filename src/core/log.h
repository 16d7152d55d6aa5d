#ifndef MAMORI_CORE_LOG_H_
#define MAMORI_CORE_LOG_H_

#include <string_view>

namespace mamori {

// One log line to stderr: "2026-11-23T12:00:00.000Z info  message".
// Thread-safe (one write per line).
void log_info(std::string_view message);
void log_warn(std::string_view message);
void log_error(std::string_view message);

}  // namespace mamori

#endif  // MAMORI_CORE_LOG_H_
