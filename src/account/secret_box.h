#ifndef MAMORI_ACCOUNT_SECRET_BOX_H_
#define MAMORI_ACCOUNT_SECRET_BOX_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mamori::account {

// Encrypts small secrets at rest (TOTP secrets) with libsodium's
// XChaCha20-Poly1305 (crypto_aead_xchacha20poly1305_ietf) under a 256-bit
// key kept in a key file apart from the database.
//
// A sealed value is: version byte (1) | key id (8: BLAKE2b of the key) |
// random nonce (24) | ciphertext + tag. The caller's `associated` text (the
// account name) is authenticated with it, so a sealed secret copied to
// another account's row does not open. open() fails rather than return
// garbage: with `secret_wrong_key` when the value was sealed under another
// key (a data dir moved without its key file), `secret_corrupt` otherwise.
//
// The key lives in memory locked against swapping and is wiped on
// destruction. Thread-safe (const methods only). Not copyable.
class SecretBox {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  static constexpr std::size_t kKeyIdBytes = 8;
  static constexpr std::uint8_t kVersion = 1;

  // Reads the key file (64 hex digits, optional trailing newline). When the
  // file does not exist and `create` is set, writes a new random key there
  // with mode 0600 (atomically: a crash leaves no half-written key) and sets
  // `*created`. Fails with `key_file_error`, naming the path and the cause.
  static Result<std::unique_ptr<SecretBox>> from_key_file(const std::string& path, bool create,
                                                          bool* created = nullptr);
  // REQUIRES: key.size() == kKeyBytes.
  static std::unique_ptr<SecretBox> from_key(std::span<const std::uint8_t> key);

  ~SecretBox();
  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;

  std::vector<std::uint8_t> seal(std::span<const std::uint8_t> plaintext,
                                 std::string_view associated) const;
  Result<std::vector<std::uint8_t>> open(std::span<const std::uint8_t> sealed,
                                         std::string_view associated) const;

  // 16 hex digits naming the key (not secret: a hash of it).
  std::string key_id_hex() const;
  // A 32-byte subkey for another purpose (crypto_kdf_derive_from_key);
  // `context` is exactly 8 characters.
  std::array<std::uint8_t, 32> derive(std::uint64_t id, const char (&context)[9]) const;

 private:
  SecretBox();
  std::uint8_t* key_;  // kKeyBytes, sodium_malloc'd (guarded, locked)
  std::array<std::uint8_t, kKeyIdBytes> key_id_{};
};

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_SECRET_BOX_H_
