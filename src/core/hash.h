#ifndef MAMORI_CORE_HASH_H_
#define MAMORI_CORE_HASH_H_

#include <cstdint>
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

// 64-bit FNV-1a over bytes, finished with mix64. Stable across runs and
// builds (used for shard selection and fingerprints, never for security).
constexpr std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed = 0) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

constexpr std::uint64_t hash_combine(std::uint64_t a, std::uint64_t b) {
  return mix64(a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

}  // namespace mamori

#endif  // MAMORI_CORE_HASH_H_
