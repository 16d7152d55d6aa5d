#include "redis/cluster_slots.h"

#include <charconv>

namespace mamori::redis {

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= std::uint16_t(byte) << 8;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x8000) ? std::uint16_t((crc << 1) ^ 0x1021) : std::uint16_t(crc << 1);
  }
  return crc;
}

int key_slot(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close != open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kSlotCount - 1);
}

bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = text.substr(0, colon), p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535)
    return false;
  host = std::string(h);
  port = std::uint16_t(v);
  return true;
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect r;
  if (error.starts_with("MOVED ")) {
    r.kind = Redirect::Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    r.kind = Redirect::Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const std::size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view slot = error.substr(0, space);
  auto [end, ec] = std::from_chars(slot.data(), slot.data() + slot.size(), r.slot);
  if (slot.empty() || ec != std::errc() || end != slot.data() + slot.size() || r.slot < 0 ||
      r.slot >= kSlotCount)
    return std::nullopt;
  const std::string_view address = error.substr(space + 1);
  if (address.starts_with(':') && address.find(':', 1) == std::string_view::npos) {
    // ":PORT": the answering node's own host (an IPv6 "::1:PORT" has more colons)
    std::string ignored;
    if (!split_host_port("x" + std::string(address), ignored, r.port)) return std::nullopt;
    return r;
  }
  if (!split_host_port(address, r.host, r.port) || r.host.empty()) return std::nullopt;
  return r;
}

}  // namespace mamori::redis
