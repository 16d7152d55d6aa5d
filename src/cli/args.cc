#include "cli/args.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace mamori::cli {
namespace {

Error usage(std::string message) { return make_error("usage", std::move(message)); }

constexpr std::int64_t kMaxDurationSeconds = 100ll * 365 * 24 * 3600;

}  // namespace

std::optional<std::string> Args::get(std::string_view name) const {
  auto it = flags.find(name);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

Result<Args> parse_args(std::span<const std::string> args, std::span<const FlagSpec> specs,
                        bool stop_at_positional) {
  Args out;
  bool only_positional = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg == "-" || arg.empty() || arg[0] != '-') {
      if (stop_at_positional) {
        out.positional.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
        break;
      }
      out.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "-h") {
      out.flags["help"] = "";
      continue;
    }
    if (arg.size() < 3 || arg[1] != '-') return usage("unknown option '" + arg + "'");

    std::string_view body = std::string_view(arg).substr(2);
    std::optional<std::string> inline_value;
    if (const std::size_t eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    auto spec =
        std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == body; });
    if (spec == specs.end()) {
      std::vector<std::string_view> names;
      for (const FlagSpec& f : specs) names.push_back(f.name);
      const std::string near = closest_word(body, names);
      return usage("unknown option '--" + std::string(body) + "'" +
                   (near.empty() ? "" : "; did you mean '--" + near + "'?"));
    }

    if (!spec->takes_value) {
      if (inline_value) return usage("option '--" + std::string(body) + "' takes no value");
      out.flags[std::string(body)] = "";
    } else if (inline_value) {
      out.flags[std::string(body)] = *inline_value;
    } else if (i + 1 < args.size()) {
      out.flags[std::string(body)] = args[++i];
    } else {
      return usage("option '--" + std::string(body) + "' needs a value");
    }
  }
  return out;
}

Result<std::int64_t> parse_duration_seconds(std::string_view s) {
  const auto bad = [&] {
    return usage("bad duration '" + std::string(s) +
                 "': use a number with a unit, e.g. 90s, 10m, 1h, 7d, 1h30m");
  };
  if (s.empty()) return bad();
  std::int64_t total = 0;
  bool first_part = true;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  while (p < end) {
    std::int64_t n = 0;
    auto [next, ec] = std::from_chars(p, end, n);
    if (ec != std::errc() || next == p || n < 0) return bad();
    p = next;
    std::int64_t unit = 1;
    if (p < end) {
      switch (*p++) {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'd':
          unit = 86400;
          break;
        case 'w':
          unit = 7 * 86400;
          break;
        default:
          return bad();
      }
    } else if (!first_part) {
      return bad();  // only a lone number may go without a unit ("1h30" is ambiguous)
    }
    if (n > kMaxDurationSeconds / unit)
      return usage("duration '" + std::string(s) + "' is too long");
    total += n * unit;
    first_part = false;
    if (total > kMaxDurationSeconds) return usage("duration '" + std::string(s) + "' is too long");
  }
  if (total == 0) return usage("duration '" + std::string(s) + "' must be longer than 0 s");
  return total;
}

std::string closest_word(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = 3;
  std::vector<std::size_t> row, prev;
  for (std::string_view c : candidates) {
    // Levenshtein distance, one row at a time.
    prev.resize(c.size() + 1);
    row.resize(c.size() + 1);
    for (std::size_t j = 0; j <= c.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= word.size(); ++i) {
      row[0] = i;
      for (std::size_t j = 1; j <= c.size(); ++j)
        row[j] = std::min({prev[j] + 1, row[j - 1] + 1,
                           prev[j - 1] + (word[i - 1] == c[j - 1] ? 0 : 1)});
      std::swap(row, prev);
    }
    const std::size_t d = prev[c.size()];
    if (d < best_distance && 2 * d < word.size()) {
      best = c;
      best_distance = d;
    }
  }
  return std::string(best);
}

Result<std::int64_t> parse_positive_int(std::string_view s) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || n <= 0) {
    return usage("'" + std::string(s) + "' is not a positive whole number");
  }
  return n;
}

}  // namespace mamori::cli
