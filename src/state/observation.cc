#include "state/observation.h"

#include <array>
#include <cstring>

#include "core/event.h"

namespace mamori::state {

namespace {

constexpr std::uint8_t kV4 = 4, kV6 = 6;
constexpr std::size_t kMaxFingerprintBytes = 1024;
constexpr std::size_t kMaxCountryBytes = 8;

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(char(v & 0xff));
  out.push_back(char(v >> 8));
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
void put_string(std::string& out, std::string_view s) {
  put_u16(out, std::uint16_t(s.size()));
  out.append(s);
}

struct Reader {
  std::string_view in;
  bool ok = true;
  std::uint64_t uint(int bytes) {
    if (in.size() < std::size_t(bytes)) {
      ok = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t(std::uint8_t(in[std::size_t(i)])) << (8 * i);
    in.remove_prefix(std::size_t(bytes));
    return v;
  }
  std::string string(std::size_t max) {
    const std::size_t n = std::size_t(uint(2));
    if (!ok || n > max || in.size() < n) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

void append_observation(std::string& out, const Observation& o) {
  out.push_back(char(o.kind));
  put_u64(out, std::uint64_t(to_unix_ms(o.time)));
  if (o.ip.is_v4()) {
    out.push_back(char(kV4));
    put_u32(out, o.ip.v4());
  } else {
    out.push_back(char(kV6));
    out.append(reinterpret_cast<const char*>(o.ip.bytes().data()), 16);
  }
  put_string(out, o.account);
  put_string(out, o.pwhash);
  put_string(out, o.fingerprint);
  put_string(out, o.country);
  put_u32(out, o.asn);
  if (o.kind != ObservationKind::kMessage) {
    put_u32(out, o.count);
    return;
  }
  put_u32(out, std::uint32_t(o.recipients.size()));
  for (const std::string& r : o.recipients) put_string(out, r);
}

Result<std::vector<Observation>> decode_observations(std::string_view data) {
  std::vector<Observation> out;
  Reader r{data};
  auto bad = [&](const std::string& why) {
    return make_error("invalid_observation",
                      "observation " + std::to_string(out.size() + 1) + ": " + why);
  };
  while (!r.in.empty()) {
    Observation o;
    const auto kind = std::uint8_t(r.uint(1));
    if (kind < std::uint8_t(ObservationKind::kFailure) ||
        kind > std::uint8_t(ObservationKind::kProfile))
      return bad("unknown kind " + std::to_string(kind));
    o.kind = ObservationKind(kind);
    o.time = from_unix_ms(std::int64_t(r.uint(8)));
    const auto family = std::uint8_t(r.uint(1));
    if (family == kV4) {
      o.ip = IpAddress::from_v4(std::uint32_t(r.uint(4)));
    } else if (family == kV6) {
      std::array<std::uint8_t, 16> b{};
      for (auto& x : b) x = std::uint8_t(r.uint(1));
      o.ip = IpAddress::from_bytes(b);
    } else {
      return bad("unknown address family " + std::to_string(family));
    }
    o.account = r.string(kMaxAccountBytes);
    o.pwhash = r.string(kMaxPwhashBytes);
    o.fingerprint = r.string(kMaxFingerprintBytes);
    o.country = r.string(kMaxCountryBytes);
    o.asn = std::uint32_t(r.uint(4));
    o.count = std::uint32_t(r.uint(4));
    if (o.kind == ObservationKind::kMessage) {
      if (o.count > kMaxRecipients) return bad("too many recipients");
      o.recipients.reserve(o.count);
      for (std::uint32_t i = 0; i < o.count && r.ok; ++i)
        o.recipients.push_back(r.string(kMaxRecipientBytes));
    }
    if (!r.ok) return bad("truncated or oversized field");
    if (o.account.empty()) return bad("no account");
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace mamori::state
