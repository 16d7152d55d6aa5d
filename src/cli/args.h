#ifndef MAMORI_CLI_ARGS_H_
#define MAMORI_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mamori::cli {

// One `--name` option a command accepts; `takes_value` options consume the
// next argument (or the text after '=') whatever it looks like.
struct FlagSpec {
  std::string_view name;  // without the leading "--"
  bool takes_value;
};

// Command-line arguments split into options and positional words.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> flags;  // name -> value ("" for switches)

  bool has(std::string_view name) const { return flags.find(name) != flags.end(); }
  std::optional<std::string> get(std::string_view name) const;
};

// Parses `args` against `specs`: `--name value`, `--name=value`, `-h` as
// `--help`; `--` makes every later argument positional; a repeated option
// keeps its last value. Fails with code `usage` and a message naming the
// argument for an unknown option (with the closest known one, if any), a
// switch given a value or a missing value.
// With `stop_at_positional`, the first positional word and everything after
// it are left unparsed in `positional` (for options that precede a command).
Result<Args> parse_args(std::span<const std::string> args, std::span<const FlagSpec> specs,
                        bool stop_at_positional = false);

// Parses a duration such as "90s", "10m", "1h", "7d", "2w" or "1h30m"
// (a bare number is seconds) into seconds. Fails with code `usage` for
// anything else, zero, or more than 100 years.
Result<std::int64_t> parse_duration_seconds(std::string_view s);

// The word of `candidates` closest to `word` by edit distance (a typo's
// likely intent): at most 2 edits, and fewer than half of `word`'s length.
// Empty when none is that close.
std::string closest_word(std::string_view word, std::span<const std::string_view> candidates);

// Parses a positive decimal integer; fails with code `usage`.
Result<std::int64_t> parse_positive_int(std::string_view s);

}  // namespace mamori::cli

#endif  // MAMORI_CLI_ARGS_H_
