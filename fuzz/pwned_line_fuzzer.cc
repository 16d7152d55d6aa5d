// Breached-password import lines (account/pwned_import parse_pwned_line): the
// input is cut into lines as import_pwned cuts its file (LF, a CR before it
// dropped, blank lines skipped) and every line parsed.
//
// Checks besides the sanitizers: the parser agrees with a reference written
// differently here (accepts exactly "40 hex digits:decimal digits", yields
// those bytes and the count held at 2^32-1).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "account/pwned_import.h"
#include "fuzz_support.h"

namespace mamori::fuzz {
namespace {

std::optional<account::PwnedLine> reference(std::string_view line) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  if (line.size() < 42 || line[40] != ':') return std::nullopt;
  account::PwnedLine r;
  for (std::size_t i = 0; i < 40; ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'F') c = char(c - 'A' + 'a');
    const std::size_t v = kHex.find(c);
    if (c == '\0' || v == std::string_view::npos) return std::nullopt;
    r.hash[i / 2] = std::uint8_t(i % 2 == 0 ? v << 4 : r.hash[i / 2] | v);
  }
  const std::string_view digits = line.substr(41);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  const std::size_t first = digits.find_first_not_of('0');
  const std::string_view significant =
      first == std::string_view::npos ? std::string_view() : digits.substr(first);
  if (significant.size() > 10 || (significant.size() == 10 && significant > "4294967295"))
    r.count = 0xffffffffu;
  else
    r.count = significant.empty() ? 0 : std::uint32_t(std::stoull(std::string(significant)));
  return r;
}

}  // namespace
}  // namespace mamori::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mamori;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const std::size_t nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const auto got = account::parse_pwned_line(line);
    const auto want = fuzz::reference(line);
    if (got.has_value() != want.has_value())
      fuzz::fail("'" + std::string(line) + "' is " + (got ? "accepted" : "refused") +
                 " but should be " + (want ? "accepted" : "refused"));
    if (got && (got->hash != want->hash || got->count != want->count))
      fuzz::fail("'" + std::string(line) + "' parses to count " + std::to_string(got->count) +
                 " or a hash other than the reference's (count " + std::to_string(want->count) +
                 ")");
  }
  return 0;
}
