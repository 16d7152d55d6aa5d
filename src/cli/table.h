#ifndef MAMORI_CLI_TABLE_H_
#define MAMORI_CLI_TABLE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mamori::cli {

// Makes text from the server safe to print on an operator's terminal. Account
// names, user agents and reasons come from clients, some of them attackers:
// control characters (C0, DEL, C1) become visible `\xNN` escapes, bidi
// overrides become `\u{NNNN}`, and invalid UTF-8 bytes become U+FFFD, so
// nothing printed can move the cursor, recolour or reorder the screen.
std::string sanitize_for_terminal(std::string_view s);

// Columns a terminal uses to show `s` (UTF-8): 2 for East Asian wide
// characters, 0 for combining marks, 1 otherwise.
std::size_t display_width(std::string_view s);

// Rows of text laid out in columns fitted to their content, separated by two
// spaces, with upper-case headers; no trailing spaces. Cells are sanitized
// with sanitize_for_terminal when added. Not thread-safe.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // Cells of `column` wider than `width` are cut to it, ending in "…".
  // REQUIRES: column < number of headers, width >= 1.
  void set_max_width(std::size_t column, std::size_t width);

  // REQUIRES: cells.size() == number of headers.
  void add_row(std::vector<std::string> cells);

  bool empty() const { return rows_.empty(); }

  // The header line and one line per row, each ending in '\n'.
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::size_t> max_widths_;  // 0: unlimited
  std::vector<std::vector<std::string>> rows_;
};

// A "key  value" block with the keys aligned, for one object (an account, the
// server status). Values are sanitized; keys are the caller's own text.
std::string render_fields(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace mamori::cli

#endif  // MAMORI_CLI_TABLE_H_
