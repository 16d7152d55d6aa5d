#ifndef MAMORI_CORE_HASH_H_
#define MAMORI_CORE_HASH_H_

#include <cstdint>
#include <cstring>
#include <string_view>

namespace mamori {

// Finalizer of SplitMix64: a fast, well-mixed 64-bit hash of a 64-bit value.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// A 64-bit hash of bytes, stable across runs and builds of one
// architecture (used for shard selection and fingerprints, never for
// security). Eight bytes per step, each word folded in with one multiply,
// the length first and mix64 last: an account name of 20 bytes costs three
// steps where a byte-at-a-time hash took twenty. The words cover every
// byte, so two strings of one length differ in a word folded in.
inline std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed = 0) {
  // The state xor the word, times an odd constant as a 128-bit product, its
  // halves folded: every input bit reaches high and low bits alike.
  auto step = [](std::uint64_t h, std::uint64_t w) {
    const unsigned __int128 m = static_cast<unsigned __int128>(h ^ w) * 0x9e3779b97f4a7c15ULL;
    return static_cast<std::uint64_t>(m) ^ static_cast<std::uint64_t>(m >> 64);
  };
  auto load64 = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t h = step(seed ^ 0xcbf29ce484222325ULL, n);
  if (n >= 8) {
    for (; n >= 8; p += 8, n -= 8) h = step(h, load64(p));
    // The last partial word as the eight bytes that end the string: the
    // length, folded in first, tells where they overlap the word before.
    if (n != 0) h = step(h, load64(p + n - 8));
  } else if (n >= 4) {
    std::uint32_t a, b;  // bytes 0-3 and n-4..n-1 cover all of them
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    h = step(h, (std::uint64_t{a} << 32) | b);
  } else if (n != 0) {
    const auto byte = [&](std::size_t i) {
      return std::uint64_t(static_cast<unsigned char>(p[i]));
    };
    h = step(h, (byte(0) << 16) | (byte(n / 2) << 8) | byte(n - 1));
  }
  return mix64(h);
}

constexpr std::uint64_t hash_combine(std::uint64_t a, std::uint64_t b) {
  return mix64(a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

}  // namespace mamori

#endif  // MAMORI_CORE_HASH_H_
