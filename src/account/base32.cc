#include "account/base32.h"

namespace mamori::account {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
}  // namespace

std::string base32_encode(std::span<const std::uint8_t> data, bool pad) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5 + 8);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : data) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (5 - bits)) & 31];
  if (pad)
    while (out.size() % 8 != 0) out += '=';
  return out;
}

Result<std::vector<std::uint8_t>> base32_decode(std::string_view text) {
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t chars = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '-') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a';
    else if (c >= '2' && c <= '7') v = c - '2' + 26;
    else return make_error("invalid_base32", "not a Base32 character: only A-Z and 2-7 are");
    if (padding) return make_error("invalid_base32", "Base32 text continues after '=' padding");
    acc = (acc << 5) | std::uint32_t(v);
    bits += 5;
    ++chars;
    if (bits >= 8) {
      out.push_back(std::uint8_t(acc >> (bits - 8)));
      bits -= 8;
    }
  }
  // Valid lengths leave 0, 2, 4, 5 or 7 characters in the last group of 8.
  const std::size_t tail = chars % 8;
  if (tail == 1 || tail == 3 || tail == 6)
    return make_error("invalid_base32", "Base32 text has an impossible length");
  return out;
}

}  // namespace mamori::account
