#include "cli/table.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstdio>

namespace mamori::cli {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;

// Decodes the UTF-8 sequence at s[i]; sets `len` to the bytes it used (1 for
// an invalid byte) and returns kInvalid for overlong forms, surrogates and
// truncated or stray bytes.
char32_t decode_utf8(std::string_view s, std::size_t i, std::size_t& len) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b0 = byte(0);
  len = 1;
  if (b0 < 0x80) return b0;
  std::size_t n;
  char32_t cp;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return kInvalid;
  }
  if (i + n > s.size()) return kInvalid;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return kInvalid;
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kInvalid;
  len = n;
  return cp;
}

std::size_t codepoint_width(char32_t cp) {
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) ||
      (cp >= 0xFE00 && cp <= 0xFE0F)) {
    return 0;
  }
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF && cp != 0x303F) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

bool is_bidi_control(char32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

// `s` cut to at most `width` columns, ending in "…" when anything was cut.
std::string truncate_to_width(const std::string& s, std::size_t width) {
  if (display_width(s) <= width) return s;
  std::string out;
  std::size_t used = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len;
    const char32_t cp = decode_utf8(s, i, len);
    const std::size_t w = cp == kInvalid ? 1 : codepoint_width(cp);
    if (used + w + 1 > width) break;  // keep one column for the ellipsis
    out.append(s, i, len);
    used += w;
    i += len;
  }
  return out + "\u2026";
}

void append_padded(std::string& out, const std::string& cell, std::size_t width) {
  out += cell;
  const std::size_t w = display_width(cell);
  if (w < width) out.append(width - w, ' ');
}

}  // namespace

std::string sanitize_for_terminal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char buf[16];
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len;
    const char32_t cp = decode_utf8(s, i, len);
    if (cp == kInvalid) {
      out += "\uFFFD";
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(cp));
      out += buf;
    } else if (is_bidi_control(cp)) {
      std::snprintf(buf, sizeof buf, "\\u{%04X}", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(s, i, len);
    }
    i += len;
  }
  return out;
}

std::size_t display_width(std::string_view s) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len;
    const char32_t cp = decode_utf8(s, i, len);
    width += cp == kInvalid ? 1 : codepoint_width(cp);
    i += len;
  }
  return width;
}

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), max_widths_(headers_.size(), 0) {}

void Table::set_max_width(std::size_t column, std::size_t width) {
  assert(column < headers_.size() && width >= 1);
  max_widths_[column] = width;
}

void Table::add_row(std::vector<std::string> cells) {
  assert(cells.size() == headers_.size());
  for (std::string& cell : cells) cell = sanitize_for_terminal(cell);
  rows_.push_back(std::move(cells));
}

std::string Table::render() const {
  const std::size_t n = headers_.size();
  std::vector<std::vector<std::string>> lines;
  lines.reserve(rows_.size() + 1);
  std::vector<std::string> header_line;
  for (const std::string& h : headers_) {
    std::string upper = h;
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    header_line.push_back(std::move(upper));
  }
  lines.push_back(std::move(header_line));
  for (const auto& row : rows_) {
    std::vector<std::string> line;
    for (std::size_t c = 0; c < n; ++c) {
      line.push_back(max_widths_[c] ? truncate_to_width(row[c], max_widths_[c]) : row[c]);
    }
    lines.push_back(std::move(line));
  }

  std::vector<std::size_t> widths(n, 0);
  for (const auto& line : lines) {
    for (std::size_t c = 0; c < n; ++c) widths[c] = std::max(widths[c], display_width(line[c]));
  }

  std::string out;
  for (const auto& line : lines) {
    std::string text;
    for (std::size_t c = 0; c < n; ++c) {
      if (c + 1 == n) {
        text += line[c];
      } else {
        append_padded(text, line[c], widths[c]);
        text += "  ";
      }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text;
    out += '\n';
  }
  return out;
}

std::string render_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t key_width = 0;
  for (const auto& [key, value] : fields) key_width = std::max(key_width, display_width(key));
  std::string out;
  for (const auto& [key, value] : fields) {
    append_padded(out, key, key_width);
    out += "  ";
    out += sanitize_for_terminal(value);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  return out;
}

}  // namespace mamori::cli
