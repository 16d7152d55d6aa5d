#include "server/logs_config.h"

#include <filesystem>
#include <set>
#include <sstream>

namespace mamori::server {

namespace {

class EntryReader {
 public:
  EntryReader(const toml::table& t, std::size_t index, const std::string& source,
              std::string& error)
      : t_(t), prefix_("logs[" + std::to_string(index) + "]."), source_(source), error_(error) {}

  void fail(std::string_view key, const std::string& what, const toml::node* n = nullptr) {
    if (!error_.empty()) return;
    std::ostringstream os;
    os << source_;
    if (!n) n = t_.get(key);
    if (!n) n = &t_;
    if (n->source().begin) os << ":" << n->source().begin.line;
    os << ": " << prefix_ << key << " " << what;
    error_ = os.str();
  }
  void string(std::string_view key, std::string& out) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return;
    if (!n->is_string()) return fail(key, "must be a string", n);
    out = *n->value<std::string>();
  }
  void strings(std::string_view key, std::vector<std::string>& out) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a) return fail(key, "must be an array of strings", n);
    out.clear();
    for (const toml::node& item : *a) {
      if (!item.is_string()) return fail(key, "must be an array of strings", &item);
      out.push_back(*item.value<std::string>());
    }
  }
  void integer(std::string_view key, std::size_t& out, std::int64_t min, std::int64_t max) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return;
    if (!n->is_integer()) return fail(key, "must be an integer", n);
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < min || v > max)
      return fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max), n);
    out = std::size_t(v);
  }
  void reject_unknown() {
    for (const auto& [k, v] : t_)
      if (!known_.count(std::string(k.str()))) return fail(k.str(), "is not a known setting", &v);
  }
  bool has(std::string_view key) const { return t_.contains(key); }

 private:
  const toml::table& t_;
  std::string prefix_;
  const std::string& source_;
  std::string& error_;
  std::set<std::string> known_;
};

std::string from_config_dir(const std::string& path, const std::string& source) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(source, ec).parent_path();
  if (ec) dir = std::filesystem::path(source).parent_path();
  return (dir / path).lexically_normal().string();
}

}  // namespace

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
    EntryReader r(*t, i, source, error);
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
