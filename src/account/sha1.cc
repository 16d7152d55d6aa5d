#include "account/sha1.h"

#include <sodium.h>

#include <cstring>

namespace mamori::account {

namespace {
inline std::uint32_t rol(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
}  // namespace

Sha1::Sha1() : h_{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u} {}

void Sha1::block(const std::uint8_t* p) {
  std::uint32_t w[80];
  for (int i = 0; i < 16; ++i)
    w[i] = std::uint32_t(p[4 * i]) << 24 | std::uint32_t(p[4 * i + 1]) << 16 |
           std::uint32_t(p[4 * i + 2]) << 8 | std::uint32_t(p[4 * i + 3]);
  for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
  for (int i = 0; i < 80; ++i) {
    std::uint32_t f, k;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999u;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1u;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDCu;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6u;
    }
    const std::uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rol(b, 30);
    b = a;
    a = t;
  }
  h_[0] += a;
  h_[1] += b;
  h_[2] += c;
  h_[3] += d;
  h_[4] += e;
  sodium_memzero(w, sizeof w);
}

void Sha1::update(std::span<const std::uint8_t> data) {
  length_ += data.size();
  std::size_t i = 0;
  if (buffered_ > 0) {
    const std::size_t n = std::min(data.size(), 64 - buffered_);
    std::memcpy(buf_.data() + buffered_, data.data(), n);
    buffered_ += n;
    i = n;
    if (buffered_ < 64) return;
    block(buf_.data());
    buffered_ = 0;
  }
  for (; i + 64 <= data.size(); i += 64) block(data.data() + i);
  if (i < data.size()) {
    std::memcpy(buf_.data(), data.data() + i, data.size() - i);
    buffered_ = data.size() - i;
  }
}

void Sha1::update(std::string_view data) {
  update(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

Sha1Digest Sha1::final() {
  const std::uint64_t bits = length_ * 8;
  std::uint8_t pad[72] = {0x80};
  const std::size_t pad_len = (buffered_ < 56 ? 56 - buffered_ : 120 - buffered_);
  for (int i = 0; i < 8; ++i) pad[pad_len + i] = std::uint8_t(bits >> (56 - 8 * i));
  update(std::span<const std::uint8_t>(pad, pad_len + 8));
  Sha1Digest out;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = std::uint8_t(h_[i] >> (24 - 8 * j));
  sodium_memzero(buf_.data(), buf_.size());
  return out;
}

Sha1Digest Sha1::digest(std::string_view data) {
  Sha1 s;
  s.update(data);
  return s.final();
}

Sha1Digest hmac_sha1(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message) {
  std::uint8_t k[64] = {};
  if (key.size() > 64) {
    Sha1 s;
    s.update(key);
    const Sha1Digest d = s.final();
    std::memcpy(k, d.data(), d.size());
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  std::uint8_t ipad[64], opad[64];
  for (int i = 0; i < 64; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  Sha1 inner;
  inner.update(std::span<const std::uint8_t>(ipad, 64));
  inner.update(message);
  const Sha1Digest ih = inner.final();
  Sha1 outer;
  outer.update(std::span<const std::uint8_t>(opad, 64));
  outer.update(ih);
  sodium_memzero(k, sizeof k);
  sodium_memzero(ipad, sizeof ipad);
  sodium_memzero(opad, sizeof opad);
  return outer.final();
}

}  // namespace mamori::account
