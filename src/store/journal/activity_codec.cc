#include "store/journal/activity_codec.h"

#include <array>
#include <cstring>

#include "store/journal/frame.h"

namespace mamori::store::journal {

namespace {

constexpr std::uint8_t kSuccessKnown = 1, kSuccessTrue = 2, kIpv4 = 4;
constexpr std::uint8_t kKnownFlags = kSuccessKnown | kSuccessTrue | kIpv4;

std::uint64_t zigzag(std::int64_t v) { return (std::uint64_t(v) << 1) ^ std::uint64_t(v >> 63); }
std::int64_t unzigzag(std::uint64_t v) { return std::int64_t(v >> 1) ^ -std::int64_t(v & 1); }

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

char* put_varint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = char(std::uint8_t(v) | 0x80);
    v >>= 7;
  }
  *p++ = char(v);
  return p;
}

char* put_string(char* p, std::string_view s) {
  p = put_varint(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

Error invalid(std::string message) { return make_error("invalid_activity", std::move(message)); }

// A cursor over a payload that refuses to read past its end.
class Reader {
 public:
  explicit Reader(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}

  bool done() const { return p_ == end_; }
  std::size_t left() const { return std::size_t(end_ - p_); }

  Status u8(std::uint8_t& v, const char* what) {
    if (p_ == end_) return invalid(std::string("cut short in ") + what);
    v = std::uint8_t(*p_++);
    return {};
  }

  Status varint(std::uint64_t& v, const char* what) {
    v = 0;
    for (int shift = 0;; shift += 7) {
      if (p_ == end_) return invalid(std::string("cut short in ") + what);
      const std::uint8_t b = std::uint8_t(*p_++);
      if (shift == 63 && b > 1) return invalid(std::string("varint overflow in ") + what);
      v |= std::uint64_t(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        // The shortest form: no final zero byte after the first.
        if (b == 0 && shift > 0) return invalid(std::string("overlong varint in ") + what);
        return {};
      }
      if (shift == 63) return invalid(std::string("varint overflow in ") + what);
    }
  }

  Status bytes(std::size_t n, const char*& out, const char* what) {
    if (left() < n) return invalid(std::string("cut short in ") + what);
    out = p_;
    p_ += n;
    return {};
  }

  Status string(std::string_view& out, const char* what) {
    std::uint64_t n = 0;
    if (Status s = varint(n, what); !s) return s;
    if (n > kMaxActivityFieldBytes)
      return invalid(std::string(what) + " longer than " + std::to_string(kMaxActivityFieldBytes) +
                     " bytes");
    const char* b = nullptr;
    if (Status s = bytes(std::size_t(n), b, what); !s) return s;
    out = std::string_view(b, std::size_t(n));
    return {};
  }

  Status string(std::string& out, const char* what) {
    std::string_view v;
    if (Status s = string(v, what); !s) return s;
    out.assign(v.data(), v.size());
    return {};
  }

 private:
  const char* p_;
  const char* end_;
};

Status read_head(Reader& in, ActivityHead& h) {
  std::uint8_t version = 0;
  if (Status s = in.u8(version, "version"); !s) return s;
  if (version != kActivityCodecVersion)
    return invalid("unknown version " + std::to_string(version));
  std::uint64_t t = 0;
  if (Status s = in.varint(t, "time"); !s) return s;
  h.time = from_unix_ms(unzigzag(t));
  std::uint8_t type = 0, flags = 0, action = 0;
  if (Status s = in.u8(type, "type"); !s) return s;
  if (type >= kEventTypeCount) return invalid("unknown event type " + std::to_string(type));
  h.type = EventType(type);
  if (Status s = in.u8(flags, "flags"); !s) return s;
  if ((flags & ~kKnownFlags) != 0) return invalid("unknown flags " + std::to_string(flags));
  if ((flags & kSuccessTrue) != 0 && (flags & kSuccessKnown) == 0)
    return invalid("success set but not known");
  h.success = (flags & kSuccessKnown) != 0 ? std::optional<bool>((flags & kSuccessTrue) != 0)
                                           : std::nullopt;
  if (Status s = in.u8(action, "action"); !s) return s;
  if (action >= kActionCount) return invalid("unknown action " + std::to_string(action));
  h.action = Action(action);
  const char* ip = nullptr;
  if (Status s = in.bytes(16, ip, "ip"); !s) return s;
  std::array<std::uint8_t, 16> b;
  std::memcpy(b.data(), ip, 16);
  h.ip = IpAddress::from_bytes(b);
  if (h.ip.is_v4() != ((flags & kIpv4) != 0)) return invalid("ip family does not match its bytes");
  return in.string(h.account, "account");
}

}  // namespace

Status encode_activity(const ActivityRecord& r, std::string& out) {
  const bool operator_action = r.type == EventType::kOperatorAction;
  const std::string_view strings[] = {r.account,    r.event_id,  r.country, r.city,
                                      r.user_agent, r.device_id, r.protocol};
  const std::string_view trailer[] = {r.actor, r.note};
  if (r.reasons.size() > kMaxActivityReasons)
    return invalid(std::to_string(r.reasons.size()) + " reasons, more than " +
                   std::to_string(kMaxActivityReasons));
  const std::uint64_t t = zigzag(to_unix_ms(r.time));
  std::size_t size = 1 + varint_size(t) + 3 + 16 + 1;
  for (std::string_view s : strings) {
    if (s.size() > kMaxActivityFieldBytes)
      return invalid("a field of " + std::to_string(s.size()) + " bytes, more than " +
                     std::to_string(kMaxActivityFieldBytes));
    size += varint_size(s.size()) + s.size();
  }
  for (const std::string& s : r.reasons) {
    if (s.size() > kMaxActivityFieldBytes)
      return invalid("a reason of " + std::to_string(s.size()) + " bytes, more than " +
                     std::to_string(kMaxActivityFieldBytes));
    size += varint_size(s.size()) + s.size();
  }
  if (operator_action)
    for (std::string_view s : trailer) {
      if (s.size() > kMaxActivityFieldBytes)
        return invalid("a field of " + std::to_string(s.size()) + " bytes, more than " +
                       std::to_string(kMaxActivityFieldBytes));
      size += varint_size(s.size()) + s.size();
    }
  if (size > kMaxFramePayload)
    return invalid("a record of " + std::to_string(size) + " bytes, more than " +
                   std::to_string(kMaxFramePayload));
  const std::size_t start = out.size();
  out.resize(start + kFrameHeaderBytes + size);
  char* p = out.data() + start + kFrameHeaderBytes;
  *p++ = char(kActivityCodecVersion);
  p = put_varint(p, t);
  *p++ = char(r.type);
  std::uint8_t flags = 0;
  if (r.success) flags |= kSuccessKnown | (*r.success ? kSuccessTrue : 0);
  if (r.ip.is_v4()) flags |= kIpv4;
  *p++ = char(flags);
  *p++ = char(r.action);
  std::memcpy(p, r.ip.bytes().data(), 16);
  p += 16;
  for (std::string_view s : strings) p = put_string(p, s);
  *p++ = char(r.reasons.size());
  for (const std::string& s : r.reasons) p = put_string(p, s);
  if (operator_action)
    for (std::string_view s : trailer) p = put_string(p, s);
  end_frame(out, start);
  return {};
}

Status decode_activity_head(std::string_view payload, ActivityHead& out) {
  Reader in(payload);
  return read_head(in, out);
}

Status decode_activity(std::string_view payload, ActivityRecord& out) {
  Reader in(payload);
  ActivityHead h;
  if (Status s = read_head(in, h); !s) return s;
  out.time = h.time;
  out.type = h.type;
  out.success = h.success;
  out.action = h.action;
  out.ip = h.ip;
  out.account.assign(h.account.data(), h.account.size());
  if (Status s = in.string(out.event_id, "event_id"); !s) return s;
  if (Status s = in.string(out.country, "country"); !s) return s;
  if (Status s = in.string(out.city, "city"); !s) return s;
  if (Status s = in.string(out.user_agent, "user_agent"); !s) return s;
  if (Status s = in.string(out.device_id, "device_id"); !s) return s;
  if (Status s = in.string(out.protocol, "protocol"); !s) return s;
  std::uint8_t n = 0;
  if (Status s = in.u8(n, "reasons"); !s) return s;
  out.reasons.resize(n);
  for (std::string& reason : out.reasons)
    if (Status s = in.string(reason, "reason"); !s) return s;
  out.actor.clear();
  out.note.clear();
  if (out.type == EventType::kOperatorAction) {
    if (Status s = in.string(out.actor, "actor"); !s) return s;
    if (Status s = in.string(out.note, "note"); !s) return s;
  }
  if (!in.done()) return invalid(std::to_string(in.left()) + " bytes after the record");
  return {};
}

Result<ActivityRecord> decode_activity(std::string_view payload) {
  ActivityRecord r;
  if (Status s = decode_activity(payload, r); !s) return s.error();
  return r;
}

}  // namespace mamori::store::journal
