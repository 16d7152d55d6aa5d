#ifndef MAMORI_REDIS_CLUSTER_SLOTS_H_
#define MAMORI_REDIS_CLUSTER_SLOTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mamori::redis {

// Redis Cluster's key space: 16384 hash slots.
inline constexpr int kSlotCount = 16384;

// CRC16 as Redis Cluster computes it (CCITT/XMODEM: polynomial 0x1021, initial
// value 0, no reflection); CRC16("123456789") is 0x31C3.
std::uint16_t crc16(std::string_view data);

// The hash slot of `key`: CRC16 of its hash tag mod 16384. The hash tag is the
// text between the first '{' and the first '}' after it, when that text is
// not empty; otherwise the whole key ("{user1000}.following" and
// "{user1000}.followers" share a slot; "foo{}{bar}" hashes whole).
int key_slot(std::string_view key);

// A redirection in an error reply: "MOVED 3999 127.0.0.1:6381" (the slot lives
// on that node now) or "ASK 3999 127.0.0.1:6381" (this one command, preceded
// by ASKING, goes there while the slot migrates). An empty host ("MOVED 3999
// :6381") means the host of the node that answered.
struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  int slot = 0;
  std::string host;
  std::uint16_t port = 0;
};

// Parses an error reply's text; none when it is no well-formed MOVED or ASK.
std::optional<Redirect> parse_redirect(std::string_view error);

// "HOST:PORT" and "[v6]:PORT" (or "v6:PORT", split at the last colon) into
// its parts; false when malformed (no port, port not 1-65535, empty host).
bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace mamori::redis

#endif  // MAMORI_REDIS_CLUSTER_SLOTS_H_
