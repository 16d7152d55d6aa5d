#ifndef MAMORI_ACCOUNT_TOTP_H_
#define MAMORI_ACCOUNT_TOTP_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace mamori::account {

// HOTP (RFC 4226) with HMAC-SHA-1: the `digits`-digit code (6 to 9) for
// `counter`, with leading zeros.
// REQUIRES: 6 <= digits <= 9.
std::string hotp(std::span<const std::uint8_t> key, std::uint64_t counter, int digits = 6);

// TOTP (RFC 6238) parameters. Authenticator apps (Google Authenticator and
// the like) assume the defaults: SHA-1, 6 digits, 30 s steps from the epoch.
struct TotpParams {
  int digits = 6;
  std::int64_t step_seconds = 30;
  // Steps either side of now that are accepted, for clock drift.
  int drift_steps = 1;
};

// The time step that contains `t` (floor((t - epoch) / step)).
std::int64_t totp_step(TimePoint t, const TotpParams& p = {});

// The code at time `t`.
std::string totp(std::span<const std::uint8_t> key, TimePoint t, const TotpParams& p = {});

// The step whose code is `code`, searching now-drift .. now+drift (the
// current step first), or none. Comparison takes the same time whatever
// matches. Steps at or below `after_step` are not considered: pass the last
// step used so that a code is accepted at most once.
std::optional<std::int64_t> totp_match(std::span<const std::uint8_t> key, std::string_view code,
                                       TimePoint now, std::int64_t after_step,
                                       const TotpParams& p = {});

// True when `code` is exactly `digits` ASCII digits.
bool is_totp_code(std::string_view code, int digits = 6);

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_TOTP_H_
