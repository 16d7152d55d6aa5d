#include "server/logs_config.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "protocols/logs/stock_patterns.h"
#include "server/config_reader.h"

namespace mamori::server {

void read_log_sources(const toml::table& root, const std::string& source,
                      std::vector<logs::LogSourceConfig>& out, std::string& error) {
  const toml::node* node = root.get("logs");
  if (!node) return;
  const toml::array* arr = node->as_array();
  if (!arr) {
    if (error.empty()) {
      std::ostringstream os;
      os << source << ":" << node->source().begin.line
         << ": logs must be an array of tables ([[logs]])";
      error = os.str();
    }
    return;
  }
  std::set<std::string> names;
  SystemClock clock;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = (*arr)[i].as_table();
    if (!t) {
      if (error.empty())
        error = source + ": logs entries must be tables with path (or journal) and format";
      return;
    }
    TableReader r(*t, "logs[" + std::to_string(i) + "].", source, error);
    logs::LogSourceConfig c;
    logs::FormatConfig& f = c.format;
    r.string("path", c.path);
    r.string("journal", c.journal);
    r.string("format", f.name);
    r.string("login_path", f.login_path);
    r.strings("success_status", f.success_status);
    r.strings("failure_status", f.failure_status);
    r.string("pattern", f.pattern);
    r.string("time_format", f.time_format);
    r.string("protocol", f.protocol);
    r.integer("max_line_bytes", c.max_line_bytes, 256, 16 << 20);
    std::string time = "line";
    r.string("time", time);
    r.reject_unknown();
    if (!error.empty()) return;
    if (c.path.empty() == c.journal.empty())
      return r.fail(r.has("path") ? "path" : "journal",
                    "or journal: give one of them (a log file, or a systemd unit or syslog "
                    "identifier)");
    if (c.path.find_first_of("\t\n") != std::string::npos ||
        c.journal.find_first_of("\t\n= ") != std::string::npos)
      return r.fail(c.path.empty() ? "journal" : "path", "must not hold tabs, newlines or '='");
    if (f.name.empty())
      return r.fail("format", "is required: dovecot, postfix, sshd, nginx, apache or custom");
    if (time != "line" && time != "read")
      return r.fail("time",
                    "must be \"line\" (each line's own stamp) or \"read\" (lines "
                    "without a stamp take the time they are read)");
    f.time_read = time == "read";
    if (f.time_read && !c.journal.empty())
      return r.fail("time", "is for files: journal entries carry their own time");
    if (f.time_read && logs::stock_patterns(f.name).empty())
      return r.fail("time",
                    "= \"read\" is for the dovecot, postfix and sshd formats (an access log's "
                    "lines carry their time; a custom pattern without (?P<time>...) takes the "
                    "read time already)");
    if (!r.has("success_status") && !r.has("failure_status")) {
      // defaults stay
    } else if (f.name != "nginx" && f.name != "apache") {
      return r.fail(r.has("success_status") ? "success_status" : "failure_status",
                    "is for the nginx and apache formats");
    }
    c.path = from_config_dir(c.path, source);
    if (auto made = logs::LogFormat::make(f, clock); !made)
      return r.fail("format", "\"" + f.name + "\": " + made.error().message);
    if (!names.insert(c.name()).second)
      return r.fail(c.path.empty() ? "journal" : "path", "is given twice");
    out.push_back(std::move(c));
  }
}

std::string describe_log_sources(const std::vector<logs::LogSourceConfig>& sources) {
  if (sources.empty()) return "(none)";
  std::string s;
  for (const logs::LogSourceConfig& c : sources)
    s += (s.empty() ? "" : ", ") + c.name() + " (" + c.format.name + ")";
  return s;
}

}  // namespace mamori::server
