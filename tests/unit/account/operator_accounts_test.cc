#include "account/operator_accounts.h"

#include <gtest/gtest.h>

#include "account/base32.h"
#include "store/embedded/embedded_store.h"
#include "testing/temp_dir.h"

namespace mamori::account {
namespace {

using namespace std::chrono_literals;

class OperatorAccountsTest : public ::testing::Test {
 protected:
  OperatorAccountsTest()
      : clock_(from_unix_ms(1'700'000'000'000)),
        box_(SecretBox::from_key(std::vector<std::uint8_t>(32, 5))) {
    auto s = store::EmbeddedStore::open(tmp_.path());
    EXPECT_TRUE(s);
    store_ = std::move(*s);
    ops_ = std::make_unique<OperatorAccounts>(*store_, *store_, *box_, clock_, "mamori");
  }

  // Adds `name` and returns its TOTP key.
  std::vector<std::uint8_t> add(const std::string& name, const std::string& password) {
    auto p = ops_->prepare(name, password);
    EXPECT_TRUE(p) << p.error().message;
    auto t = ops_->add(std::move(*p));
    EXPECT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->otpauth_uri.rfind(
                  "otpauth://totp/mamori:console%3A" + name + "?secret=" + t->secret_base32, 0),
              0u)
        << t->otpauth_uri;
    auto key = base32_decode(t->secret_base32);
    EXPECT_TRUE(key);
    return *key;
  }
  bool check(const std::string& name, const std::string& password, const std::string& code) {
    auto c = ops_->check(name, password, code);
    EXPECT_TRUE(c) << c.error().message;
    return c && c->ok;
  }

  testing::TempDir tmp_;
  ManualClock clock_;
  std::unique_ptr<SecretBox> box_;
  std::unique_ptr<store::EmbeddedStore> store_;
  std::unique_ptr<OperatorAccounts> ops_;
};

TEST_F(OperatorAccountsTest, PasswordAndCurrentCodeSignIn) {
  const auto key = add("alice", "correct horse battery");
  auto c = ops_->check("alice", "correct horse battery", totp(key, clock_.now()));
  ASSERT_TRUE(c && c->ok);
  ASSERT_TRUE(store_->wait(c->ticket).ok());
  // The record keeps an Argon2id hash, never the password, and a sealed secret.
  auto r = store_->operator_account("alice");
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->password_hash.rfind("$argon2id$", 0), 0u);
  EXPECT_EQ((*r)->password_hash.find("correct horse"), std::string::npos);
  EXPECT_NE((*r)->sealed_secret.size(), key.size());
  ASSERT_TRUE((*r)->last_sign_in);
  EXPECT_EQ(*(*r)->last_sign_in, clock_.now());
}

TEST_F(OperatorAccountsTest, WrongPasswordWrongCodeAndUnknownNameFail) {
  const auto key = add("alice", "correct horse battery");
  const std::string code = totp(key, clock_.now());
  EXPECT_FALSE(check("alice", "correct horse batterY", code));
  EXPECT_FALSE(check("alice", "correct horse battery", totp(key, clock_.now() + 5min)));
  EXPECT_FALSE(check("alice", "correct horse battery", "12345"));
  EXPECT_FALSE(check("bob", "correct horse battery", code));
  EXPECT_FALSE(check("Not A Name", "correct horse battery", code));
  // None of them used the code.
  EXPECT_TRUE(check("alice", "correct horse battery", code));
}

TEST_F(OperatorAccountsTest, ACodeSignsInOnceAndEarlierStepsNoMore) {
  const auto key = add("alice", "correct horse battery");
  const std::string code = totp(key, clock_.now());
  EXPECT_TRUE(check("alice", "correct horse battery", code));
  EXPECT_FALSE(check("alice", "correct horse battery", code));
  // The previous step's code is inside the drift window but older than the used one.
  EXPECT_FALSE(check("alice", "correct horse battery", totp(key, clock_.now() - 30s)));
  clock_.advance(30s);
  EXPECT_TRUE(check("alice", "correct horse battery", totp(key, clock_.now())));
}

TEST_F(OperatorAccountsTest, ResetTotpReplacesTheSecret) {
  const auto old_key = add("alice", "correct horse battery");
  auto reset = ops_->reset_totp("alice");
  ASSERT_TRUE(reset);
  auto new_key = base32_decode(reset->secret_base32);
  ASSERT_TRUE(new_key);
  EXPECT_FALSE(check("alice", "correct horse battery", totp(old_key, clock_.now())));
  EXPECT_TRUE(check("alice", "correct horse battery", totp(*new_key, clock_.now())));
  EXPECT_EQ(ops_->reset_totp("bob").error().code, "operator_not_found");
}

TEST_F(OperatorAccountsTest, NamesPasswordsAndDuplicatesAreChecked) {
  EXPECT_EQ(ops_->prepare("Alice", "correct horse battery").error().code, "invalid_name");
  EXPECT_EQ(ops_->prepare("me", "correct horse battery").error().code, "invalid_name");
  EXPECT_EQ(ops_->prepare("-x", "correct horse battery").error().code, "invalid_name");
  EXPECT_EQ(ops_->prepare(std::string(33, 'a'), "correct horse battery").error().code,
            "invalid_name");
  EXPECT_EQ(ops_->prepare("alice", "short").error().code, "invalid_password");
  add("alice", "correct horse battery");
  auto again = ops_->prepare("alice", "another long password");
  ASSERT_TRUE(again);
  EXPECT_EQ(ops_->add(std::move(*again)).error().code, "operator_exists");
  EXPECT_TRUE(*ops_->exists("alice"));
  EXPECT_FALSE(*ops_->exists("bob"));
}

TEST_F(OperatorAccountsTest, RemoveAndListSeeUncommittedAndCommittedWrites) {
  add("bob", "correct horse battery");
  add("alice", "correct horse battery");
  auto listed = ops_->list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "alice");
  auto t = ops_->remove("bob");
  ASSERT_TRUE(t);
  EXPECT_EQ(ops_->remove("bob").error().code, "operator_not_found");
  ASSERT_TRUE(store_->wait(*t));
  listed = ops_->list();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "alice");
  // A fresh service over the same store sees what was committed.
  OperatorAccounts again(*store_, *store_, *box_, clock_, "mamori");
  EXPECT_TRUE(*again.exists("alice"));
  EXPECT_FALSE(*again.exists("bob"));
}

}  // namespace
}  // namespace mamori::account
