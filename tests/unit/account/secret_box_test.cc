#include "account/secret_box.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "account/recovery_codes.h"
#include "testing/temp_dir.h"

namespace mamori::account {
namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(SecretBox, SealsAndOpensWithTheSameKeyAndAccount) {
  std::vector<std::uint8_t> key(32, 7);
  auto box = SecretBox::from_key(key);
  const auto sealed = box->seal(bytes("secret"), "alice");
  EXPECT_EQ(sealed.size(), 1 + 8 + 24 + 6 + 16u);
  EXPECT_EQ(std::string(sealed.begin(), sealed.end()).find("secret"), std::string::npos);
  auto opened = box->open(sealed, "alice");
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, bytes("secret"));
  // Same plaintext twice: different nonces, different ciphertexts.
  EXPECT_NE(box->seal(bytes("secret"), "alice"), sealed);
}

TEST(SecretBox, RefusesAnotherAccountAnotherKeyAndTampering) {
  std::vector<std::uint8_t> key(32, 7), other(32, 9);
  auto box = SecretBox::from_key(key);
  auto box2 = SecretBox::from_key(other);
  auto sealed = box->seal(bytes("secret"), "alice");
  EXPECT_EQ(box->open(sealed, "bob").error().code, "secret_corrupt");
  auto wrong = box2->open(sealed, "alice");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, "secret_wrong_key");
  EXPECT_NE(wrong.error().message.find("key file"), std::string::npos);
  sealed.back() ^= 1;
  EXPECT_EQ(box->open(sealed, "alice").error().code, "secret_corrupt");
  EXPECT_EQ(box->open(std::vector<std::uint8_t>(10, 1), "alice").error().code, "secret_corrupt");
}

TEST(SecretBox, KeyFileIsCreatedOnceWithMode0600) {
  testing::TempDir tmp;
  const std::string path = tmp.path() + "/sub/totp.key";
  bool created = false;
  auto a = SecretBox::from_key_file(path, true, &created);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_TRUE(created);
  struct stat sb {};
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  auto b = SecretBox::from_key_file(path, true, &created);
  ASSERT_TRUE(b);
  EXPECT_FALSE(created);
  EXPECT_EQ((*a)->key_id_hex(), (*b)->key_id_hex());
  auto sealed = (*a)->seal(bytes("x"), "acct");
  EXPECT_TRUE((*b)->open(sealed, "acct"));
}

TEST(SecretBox, BadOrMissingKeyFileIsAClearError) {
  testing::TempDir tmp;
  const std::string path = tmp.path() + "/totp.key";
  auto missing = SecretBox::from_key_file(path, false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "key_file_error");
  EXPECT_NE(missing.error().message.find(path), std::string::npos);
  std::ofstream(path) << "not hex\n";
  auto bad = SecretBox::from_key_file(path, true);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("64 hex digits"), std::string::npos);
}

TEST(RecoveryCodes, ShapeNormalisationAndHashing) {
  const std::string c = generate_recovery_code();
  ASSERT_EQ(c.size(), 19u);
  EXPECT_EQ(c[4], '-');
  auto n = normalize_recovery_code(c);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->size(), 16u);
  std::string upper = c;
  for (char& ch : upper) ch = char(std::toupper(ch));
  EXPECT_EQ(normalize_recovery_code(upper), n);
  EXPECT_FALSE(normalize_recovery_code("123456"));
  EXPECT_FALSE(normalize_recovery_code("abcd-efgh-ijkl-mno1"));
  EXPECT_NE(generate_recovery_code(), generate_recovery_code());
  std::array<std::uint8_t, 32> key{};
  RecoveryCodeHasher h(key);
  EXPECT_EQ(h.hash("alice", *n), h.hash("alice", *n));
  EXPECT_NE(h.hash("alice", *n), h.hash("bob", *n));
  std::array<std::uint8_t, 32> key2{};
  key2[0] = 1;
  RecoveryCodeHasher h2(key2);
  EXPECT_NE(h.hash("alice", *n), h2.hash("alice", *n));
}

}  // namespace
}  // namespace mamori::account
