#ifndef MAMORI_ACCOUNT_RECOVERY_CODES_H_
#define MAMORI_ACCOUNT_RECOVERY_CODES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mamori::account {

// Single-use recovery codes: 16 Base32 characters (80 random bits) shown in
// groups of four, "k3vq-7tzm-p2xa-w9..." (lower case, no 0/1/8/9, so they
// cannot be mistaken for a TOTP code).
inline constexpr int kRecoveryCodeCount = 10;
inline constexpr std::size_t kRecoveryCodeChars = 16;

std::string generate_recovery_code();

// Lower-cases and drops spaces and '-'; none unless 16 Base32 characters remain.
std::optional<std::string> normalize_recovery_code(std::string_view code);

using RecoveryCodeHash = std::array<std::uint8_t, 32>;

// Hashes recovery codes for storage with keyed BLAKE2b-256
// (crypto_generichash with a 256-bit key derived from the TOTP key file).
//
// Why not a slow password hash (crypto_pwhash): the codes are random with 80
// bits of entropy, so guessing one from its hash takes ~2^79 tries even at a
// fast hash's speed; slowing each try gains nothing a person-chosen password
// would need it for, while Argon2 at interactive limits would cost ~64 MiB
// and tens of milliseconds per stored code on every verify (10 codes per
// account: a denial-of-service lever). The key adds what speed cannot: a
// database stolen without the key file cannot be tested offline at all.
// The account name is hashed in, so equal codes of two accounts differ.
// Thread-safe.
class RecoveryCodeHasher {
 public:
  explicit RecoveryCodeHasher(const std::array<std::uint8_t, 32>& key) : key_(key) {}
  ~RecoveryCodeHasher();
  RecoveryCodeHasher(const RecoveryCodeHasher&) = delete;
  RecoveryCodeHasher& operator=(const RecoveryCodeHasher&) = delete;

  // REQUIRES: `normalized` came from normalize_recovery_code.
  RecoveryCodeHash hash(std::string_view account, std::string_view normalized) const;

 private:
  std::array<std::uint8_t, 32> key_;
};

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_RECOVERY_CODES_H_
