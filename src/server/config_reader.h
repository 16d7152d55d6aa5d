#ifndef MAMORI_SERVER_CONFIG_READER_H_
#define MAMORI_SERVER_CONFIG_READER_H_

#include <toml++/toml.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

// What the config file's sections share: typed reads of a TOML table that
// remember the first problem as "FILE:LINE: section.key what", and paths
// taken from the config file's directory. Used by config.cc and the
// sections read in files of their own (logs_config.cc).
namespace mamori::server {

// The longest duration any setting takes: ten years.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 3650);

inline std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Reads typed values from one TOML table, remembering the first error.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string prefix, const std::string& source, std::string& error)
      : t_(t), prefix_(std::move(prefix)), source_(source), error_(error) {}

  TableReader sub(std::string_view name) {
    known_.insert(std::string(name));
    static const toml::table kEmpty;
    const toml::table* s = t_[name].as_table();
    if (!s && t_.contains(name)) fail(name, "must be a table");
    return TableReader(s ? *s : kEmpty, prefix_ + std::string(name) + ".", source_, error_);
  }

  template <typename T>
  void integer(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return;
    // Asked of a float, value<int64_t>() converts it, which is undefined
    // beyond int64's range (1e102): the type is checked first.
    if (!n->is_integer()) return fail(key, "must be an integer", n);
    auto v = n->value<std::int64_t>();
    if (*v < min || *v > max)
      return fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max), n);
    out = static_cast<T>(*v);
  }
  void number(std::string_view key, double& out, double min, double max) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return;
    if (!n->is_number()) return fail(key, "must be a number", n);
    const double v = *n->value<double>();
    // NaN compares false with everything: ask for the range, not its complement.
    if (!std::isfinite(v) || !(v >= min && v <= max))
      return fail(
          key, "must be a finite number between " + number_text(min) + " and " + number_text(max),
          n);
    out = v;
  }
  void boolean(std::string_view key, bool& out) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return;
    if (!n->is_boolean()) return fail(key, "must be true or false", n);
    out = *n->value<bool>();
  }
  void string(std::string_view key, std::string& out) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return;
    if (!n->is_string()) return fail(key, "must be a string", n);
    out = *n->value<std::string>();
  }
  // An array of strings; given, it replaces what `out` held.
  void strings(std::string_view key, std::vector<std::string>& out) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a) return fail(key, "must be an array of strings", n);
    std::vector<std::string> values;
    for (const toml::node& item : *a) {
      if (!item.is_string()) return fail(key, "must be an array of strings", &item);
      values.push_back(*item.value<std::string>());
    }
    out = std::move(values);
  }
  // Durations lie between `min` and `max`: by default above zero and at most
  // ten years; settings for which less or more is absurd narrow it.
  void duration(std::string_view key, Duration& out, Duration min = Duration(1),
                Duration max = kMaxDuration) {
    known_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return;
    if (n->is_integer()) {
      auto d = parse_duration(std::to_string(*n->value<std::int64_t>()));
      if (!d) return fail(key, d.error().message, n);
      out = *d;
    } else if (n->is_string()) {
      auto d = parse_duration(*n->value<std::string>());
      if (!d) return fail(key, d.error().message, n);
      out = *d;
    } else {
      return fail(key, "must be a duration such as \"10m\", \"1h\", \"90d\"", n);
    }
    if (out.count() <= 0) return fail(key, "must be longer than zero", n);
    if (out < min || out > max)
      fail(key, "must be between " + format_duration(min) + " and " + format_duration(max), n);
  }

  void allow(std::string_view key) { known_.insert(std::string(key)); }

  // Reports keys that were never asked for.
  void reject_unknown() {
    for (const auto& [k, v] : t_)
      if (!known_.count(std::string(k.str()))) return fail(k.str(), "is not a known setting", &v);
  }

  void fail(std::string_view key, const std::string& what, const toml::node* n = nullptr) {
    if (!error_.empty()) return;
    std::ostringstream os;
    os << source_;
    // Without a node, the key's own line, else the table's.
    if (!n) n = t_.get(key);
    if (!n) n = &t_;
    if (n->source().begin) os << ":" << n->source().begin.line;
    os << ": " << prefix_ << key << " " << what;
    error_ = os.str();
  }

  const toml::table& table() const { return t_; }
  bool has(std::string_view key) const { return t_.contains(key); }

 private:
  const toml::table& t_;
  std::string prefix_;
  const std::string& source_;
  std::string& error_;
  std::set<std::string> known_;
};

// A path given in the config file: a relative one is taken from the config
// file's directory (`source`'s), not from the working directory, and made
// absolute (the log names it so).
inline std::string from_config_dir(const std::string& path, const std::string& source) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(source, ec).parent_path();
  if (ec) dir = std::filesystem::path(source).parent_path();
  return (dir / path).lexically_normal().string();
}

}  // namespace mamori::server

#endif  // MAMORI_SERVER_CONFIG_READER_H_
