#include "store/record_changes.h"

namespace mamori::store {

namespace {

constexpr std::string_view kNames[] = {"lock", "list", "block", "incident"};

}  // namespace

std::string encode_record_change(RecordChange::Kind kind, std::string_view key) {
  std::string out(kNames[static_cast<std::size_t>(kind)]);
  out += ':';
  out += key;
  return out;
}

std::optional<RecordChange> parse_record_change(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view name = text.substr(0, colon);
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] != name) continue;
    RecordChange c;
    c.kind = static_cast<RecordChange::Kind>(i);
    c.key = std::string(text.substr(colon + 1));
    if (c.key.empty()) return std::nullopt;
    if (c.kind == RecordChange::Kind::kBlock && c.key.find(':') == std::string::npos)
      return std::nullopt;
    return c;
  }
  return std::nullopt;
}

}  // namespace mamori::store
