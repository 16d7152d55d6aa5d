#ifndef MAMORI_STORE_JOURNAL_ACTIVITY_CODEC_H_
#define MAMORI_STORE_JOURNAL_ACTIVITY_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/records.h"

namespace mamori::store::journal {

// An ActivityRecord as the payload of one journal record (store/journal/
// frame.h), version 1:
//
//   u8      version (1)
//   varint  time in ms since the epoch, zigzag
//   u8      type (EventType)
//   u8      flags: 1 success known, 2 success, 4 IPv4; no other bit
//   u8      action (Action)
//   16      the IP address's bytes (IPv4 as ::ffff:a.b.c.d, as IpAddress holds it)
//   string  account, event_id, country, city, user_agent, device_id, protocol
//   u8      number of reasons, then each a string
//   string  actor, note: only when type is operator_action (an entry of
//           any other type ends after its reasons, as before that type
//           existed, so entries written by older builds read unchanged)
//
// where a string is a varint byte length (at most kMaxActivityFieldBytes)
// then its bytes, and a varint is LEB128 in its shortest form. The fields
// the index and the warm-up need (time, type, success, IP, account) come
// first, so decode_activity_head() reads them without the rest. A decoded
// record re-encodes to the same bytes.
inline constexpr std::uint8_t kActivityCodecVersion = 1;
inline constexpr std::size_t kMaxActivityFieldBytes = 65535;
inline constexpr std::size_t kMaxActivityReasons = 255;

// Appends `r` to `out` as one whole framed record (header, payload). One
// resize of `out` and no other allocation: the caller reuses `out`. Fails
// with `invalid_activity`, appending nothing, when a string is longer than
// kMaxActivityFieldBytes, there are more than kMaxActivityReasons reasons,
// or the payload would be longer than kMaxFramePayload.
// Thread-safe (no shared state).
Status encode_activity(const ActivityRecord& r, std::string& out);

// Decodes a payload (the frame's CRC already checked) into `out`, reusing
// its strings' capacity. Every byte is validated: the version, enum values,
// flags, lengths against what remains, the IP's family against its bytes,
// varints in their shortest form, nothing left over. Fails with
// `invalid_activity` saying what is wrong; `out` is then unspecified.
Status decode_activity(std::string_view payload, ActivityRecord& out);
Result<ActivityRecord> decode_activity(std::string_view payload);

// The leading fields of a payload. `account` points into the payload.
struct ActivityHead {
  TimePoint time{};
  EventType type = EventType::kLoginAttempt;
  std::optional<bool> success;
  Action action = Action::kAllow;
  IpAddress ip;
  std::string_view account;
};

// Reads only the leading fields (validated as decode_activity does). A
// payload that decode_activity refuses may still have a readable head.
Status decode_activity_head(std::string_view payload, ActivityHead& out);

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_ACTIVITY_CODEC_H_
