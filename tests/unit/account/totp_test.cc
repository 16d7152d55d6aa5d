#include "account/totp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "account/base32.h"
#include "account/otpauth_uri.h"
#include "account/sha1.h"

namespace mamori::account {
namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string hex(const Sha1Digest& d) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (auto b : d) {
    out += k[b >> 4];
    out += k[b & 15];
  }
  return out;
}

TimePoint at_unix(std::int64_t s) { return from_unix_ms(s * 1000); }

TEST(Sha1, KnownDigests) {
  EXPECT_EQ(hex(Sha1::digest("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex(Sha1::digest("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(Sha1::digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  // A million 'a's, fed in uneven pieces.
  Sha1 s;
  std::string chunk(999, 'a');
  std::size_t left = 1'000'000;
  while (left > 0) {
    const std::size_t n = std::min(left, chunk.size());
    s.update(std::string_view(chunk.data(), n));
    left -= n;
  }
  EXPECT_EQ(hex(s.final()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1, HmacRfc2202) {
  std::vector<std::uint8_t> key(20, 0x0b);
  EXPECT_EQ(hex(hmac_sha1(key, bytes("Hi There"))), "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(hex(hmac_sha1(bytes("Jefe"), bytes("what do ya want for nothing?"))),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  std::vector<std::uint8_t> long_key(80, 0xaa);
  EXPECT_EQ(hex(hmac_sha1(long_key, bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

// RFC 4226 Appendix D.
TEST(Hotp, Rfc4226AppendixD) {
  const auto key = bytes("12345678901234567890");
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t c = 0; c < 10; ++c) EXPECT_EQ(hotp(key, c, 6), expected[c]) << "counter " << c;
}

// RFC 6238 Appendix B, the SHA-1 rows (8 digits).
TEST(Totp, Rfc6238Sha1Vectors) {
  const auto key = bytes("12345678901234567890");
  TotpParams p;
  p.digits = 8;
  const std::pair<std::int64_t, const char*> rows[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (const auto& [t, code] : rows) EXPECT_EQ(totp(key, at_unix(t), p), code) << "T=" << t;
}

TEST(Totp, AcceptsOneStepOfDriftEitherSide) {
  const auto key = bytes("12345678901234567890");
  const TimePoint now = at_unix(1'700'000'000);
  const std::int64_t step = totp_step(now);
  for (int d : {-1, 0, 1}) {
    const std::string code = hotp(key, std::uint64_t(step + d));
    auto m = totp_match(key, code, now, -1);
    ASSERT_TRUE(m) << d;
    EXPECT_EQ(*m, step + d);
  }
  EXPECT_FALSE(totp_match(key, hotp(key, std::uint64_t(step - 2)), now, -1));
  EXPECT_FALSE(totp_match(key, hotp(key, std::uint64_t(step + 2)), now, -1));
}

TEST(Totp, StepsAtOrBeforeTheLastUsedOneAreRefused) {
  const auto key = bytes("12345678901234567890");
  const TimePoint now = at_unix(1'700'000'000);
  const std::int64_t step = totp_step(now);
  const std::string code = hotp(key, std::uint64_t(step));
  EXPECT_TRUE(totp_match(key, code, now, step - 1));
  EXPECT_FALSE(totp_match(key, code, now, step));
  // An earlier step's code is refused once a later one was used.
  EXPECT_FALSE(totp_match(key, hotp(key, std::uint64_t(step - 1)), now, step));
}

TEST(Totp, CodeShape) {
  EXPECT_TRUE(is_totp_code("012345"));
  EXPECT_FALSE(is_totp_code("12345"));
  EXPECT_FALSE(is_totp_code("1234567"));
  EXPECT_FALSE(is_totp_code("12a456"));
  EXPECT_FALSE(totp_match(bytes("12345678901234567890"), "abcdef", at_unix(59), -1));
}

// RFC 4648 section 10.
TEST(Base32, Rfc4648Vectors) {
  const std::pair<const char*, const char*> rows[] = {
      {"", ""},          {"f", "MY======"},         {"fo", "MZXQ===="},
      {"foo", "MZXW6==="}, {"foob", "MZXW6YQ="}, {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI======"}};
  for (const auto& [plain, enc] : rows) {
    EXPECT_EQ(base32_encode(bytes(plain), true), enc);
    auto d = base32_decode(enc);
    ASSERT_TRUE(d) << enc;
    EXPECT_EQ(std::string(d->begin(), d->end()), plain);
  }
  EXPECT_EQ(base32_encode(bytes("foobar")), "MZXW6YTBOI");
}

TEST(Base32, DecodesWhatPeopleTypeAndRefusesTheRest) {
  auto d = base32_decode("mzxw 6ytb-oi");
  ASSERT_TRUE(d);
  EXPECT_EQ(std::string(d->begin(), d->end()), "foobar");
  EXPECT_EQ(base32_decode("MZXW1").error().code, "invalid_base32");  // '1' not in the alphabet
  EXPECT_EQ(base32_decode("M").error().code, "invalid_base32");      // impossible length
  EXPECT_EQ(base32_decode("MY==MY").error().code, "invalid_base32");
}

TEST(OtpauthUri, PercentEncodesLabelAndIssuer) {
  EXPECT_EQ(uri_percent_encode("a b/c:d@e.f~g-h_i"), "a%20b%2Fc%3Ad%40e.f~g-h_i");
  EXPECT_EQ(uri_percent_encode("\xe5\xae\x88"), "%E5%AE%88");
  EXPECT_EQ(otpauth_uri("Example Co", "alice@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Example%20Co:alice%40example.com?secret=JBSWY3DPEHPK3PXP"
            "&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace mamori::account
