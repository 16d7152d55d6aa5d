#include "account/totp.h"

#include <sodium.h>

#include "account/sha1.h"

namespace mamori::account {

std::string hotp(std::span<const std::uint8_t> key, std::uint64_t counter, int digits) {
  std::uint8_t msg[8];
  for (int i = 0; i < 8; ++i) msg[i] = std::uint8_t(counter >> (56 - 8 * i));
  Sha1Digest mac = hmac_sha1(key, std::span<const std::uint8_t>(msg, 8));
  const int offset = mac[19] & 0x0f;
  const std::uint32_t bin = (std::uint32_t(mac[offset] & 0x7f) << 24) |
                            (std::uint32_t(mac[offset + 1]) << 16) |
                            (std::uint32_t(mac[offset + 2]) << 8) | std::uint32_t(mac[offset + 3]);
  sodium_memzero(mac.data(), mac.size());
  std::uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  std::uint32_t v = bin % mod;
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = char('0' + v % 10);
    v /= 10;
  }
  return out;
}

std::int64_t totp_step(TimePoint t, const TotpParams& p) {
  const std::int64_t ms = to_unix_ms(t);
  const std::int64_t step_ms = p.step_seconds * 1000;
  return ms >= 0 ? ms / step_ms : -((-ms + step_ms - 1) / step_ms);
}

std::string totp(std::span<const std::uint8_t> key, TimePoint t, const TotpParams& p) {
  return hotp(key, std::uint64_t(totp_step(t, p)), p.digits);
}

bool is_totp_code(std::string_view code, int digits) {
  if (code.size() != static_cast<std::size_t>(digits)) return false;
  for (char c : code)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<std::int64_t> totp_match(std::span<const std::uint8_t> key, std::string_view code,
                                       TimePoint now, std::int64_t after_step,
                                       const TotpParams& p) {
  if (!is_totp_code(code, p.digits)) return std::nullopt;
  const std::int64_t current = totp_step(now, p);
  std::optional<std::int64_t> found;
  // Current step first, then outwards; every candidate is computed and
  // compared so timing does not tell which one matched.
  for (int d = 0; d <= p.drift_steps; ++d) {
    for (int side = 0; side < (d == 0 ? 1 : 2); ++side) {
      const std::int64_t step = side == 0 ? current - d : current + d;
      if (step < 0) continue;
      const std::string candidate = hotp(key, std::uint64_t(step), p.digits);
      const bool same = sodium_memcmp(candidate.data(), code.data(), candidate.size()) == 0;
      if (same && step > after_step && !found) found = step;
    }
  }
  return found;
}

}  // namespace mamori::account
