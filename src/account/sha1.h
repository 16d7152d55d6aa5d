#ifndef MAMORI_ACCOUNT_SHA1_H_
#define MAMORI_ACCOUNT_SHA1_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace mamori::account {

using Sha1Digest = std::array<std::uint8_t, 20>;

// SHA-1 (FIPS 180-4). libsodium has no SHA-1, and both RFC 4226 (HMAC-SHA-1)
// and the Pwned Passwords data set are defined over it. Not for new designs:
// used only where an external format fixes the algorithm.
// Incremental: update() any number of times, then final() once.
class Sha1 {
 public:
  Sha1();
  void update(std::span<const std::uint8_t> data);
  void update(std::string_view data);
  Sha1Digest final();

  static Sha1Digest digest(std::string_view data);

 private:
  void block(const std::uint8_t* p);

  std::array<std::uint32_t, 5> h_;
  std::array<std::uint8_t, 64> buf_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // bytes
};

// HMAC-SHA-1 (RFC 2104) of `message` under `key`.
Sha1Digest hmac_sha1(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message);

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_SHA1_H_
