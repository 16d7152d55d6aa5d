#include "core/log.h"

#include <unistd.h>

#include <string>

#include "core/clock.h"

namespace mamori {

namespace {
void write_line(std::string_view level, std::string_view message) {
  static const SystemClock clock;
  std::string line = format_rfc3339(clock.now());
  line += ' ';
  line += level;
  line += ' ';
  line += message;
  line += '\n';
  [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}
}  // namespace

void log_info(std::string_view message) { write_line("info ", message); }
void log_warn(std::string_view message) { write_line("warn ", message); }
void log_error(std::string_view message) { write_line("error", message); }

}  // namespace mamori
