#ifndef MAMORI_ACCOUNT_BASE32_H_
#define MAMORI_ACCOUNT_BASE32_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mamori::account {

// RFC 4648 Base32 (alphabet A-Z2-7). Authenticator apps take TOTP secrets in
// this form, without padding.
std::string base32_encode(std::span<const std::uint8_t> data, bool pad = false);

// Decodes Base32; accepts lower case, trailing '=' padding, and ignores
// spaces and '-' (as people copy secrets). Fails with `invalid_base32` on any
// other character or a length no encoder produces.
Result<std::vector<std::uint8_t>> base32_decode(std::string_view text);

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_BASE32_H_
