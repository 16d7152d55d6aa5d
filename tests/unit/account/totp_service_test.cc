#include "account/totp_service.h"

#include <gtest/gtest.h>

#include "account/base32.h"
#include "store/embedded/embedded_store.h"
#include "testing/temp_dir.h"

namespace mamori::account {
namespace {

using namespace std::chrono_literals;

class TotpServiceTest : public ::testing::Test {
 protected:
  TotpServiceTest()
      : clock_(from_unix_ms(1'700'000'000'000)),
        box_(SecretBox::from_key(std::vector<std::uint8_t>(32, 3))) {
    auto s = store::EmbeddedStore::open(tmp_.path());
    EXPECT_TRUE(s);
    store_ = std::move(*s);
    service_ = std::make_unique<TotpService>(TotpConfig{}, *store_, *store_, *box_, clock_);
  }

  // Enrols `account` and returns its secret.
  std::vector<std::uint8_t> enrol(const std::string& account) {
    auto e = service_->enrol(account);
    EXPECT_TRUE(e) << e.error().message;
    auto key = base32_decode(e->secret_base32);
    EXPECT_TRUE(key);
    return *key;
  }
  std::string code_now(const std::vector<std::uint8_t>& key, int offset_steps = 0) {
    return totp(key, clock_.now() + std::chrono::seconds(30 * offset_steps));
  }
  std::vector<std::string> enrol_and_confirm(const std::string& account, std::vector<std::uint8_t>& key) {
    key = enrol(account);
    auto c = service_->confirm(account, code_now(key));
    EXPECT_TRUE(c && c->ok);
    last_ticket_ = c->ticket;
    clock_.advance(30s);  // the next code is of a new step
    return c->recovery_codes;
  }

  testing::TempDir tmp_;
  ManualClock clock_;
  std::unique_ptr<SecretBox> box_;
  std::unique_ptr<store::EmbeddedStore> store_;
  std::unique_ptr<TotpService> service_;
  store::WriteTicket last_ticket_ = 0;
};

TEST_F(TotpServiceTest, EnrolIsPendingUntilAValidCodeConfirmsIt) {
  auto e = service_->enrol("alice");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->secret_base32.size(), 32u);  // 160 bits
  EXPECT_EQ(e->otpauth_uri.rfind("otpauth://totp/mamori:alice?secret=" + e->secret_base32, 0), 0u);
  EXPECT_EQ(e->qr_svg.rfind("<svg", 0), 0u);
  EXPECT_FALSE(*service_->enabled("alice"));
  EXPECT_EQ(service_->verify("alice", "123456").error().code, "totp_not_enabled");
  auto key = base32_decode(e->secret_base32);
  auto wrong = service_->confirm("alice", totp(*key, clock_.now() + 10min));
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(wrong->ok);
  EXPECT_FALSE(*service_->enabled("alice"));
  auto ok = service_->confirm("alice", totp(*key, clock_.now()));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->recovery_codes.size(), 10u);
  EXPECT_TRUE(*service_->enabled("alice"));
  EXPECT_EQ(service_->enrol("alice").error().code, "totp_already_enabled");
  EXPECT_EQ(service_->confirm("alice", "123456").error().code, "totp_already_enabled");
}

TEST_F(TotpServiceTest, StoredRecordHoldsNoSecretAndNoRecoveryCode) {
  std::vector<std::uint8_t> key;
  auto codes = enrol_and_confirm("alice", key);
  ASSERT_TRUE(store_->wait(last_ticket_));
  auto rec = store_->totp("alice");
  ASSERT_TRUE(rec && *rec);
  const std::string sealed((*rec)->sealed_secret.begin(), (*rec)->sealed_secret.end());
  EXPECT_EQ(sealed.find(std::string(key.begin(), key.end())), std::string::npos);
  ASSERT_EQ((*rec)->recovery_codes.size(), 10u);
  EXPECT_EQ((*rec)->recovery_codes[0].hash.size(), 32u);
  EXPECT_TRUE((*rec)->confirmed);
}

TEST_F(TotpServiceTest, ACodeIsAcceptedOnceEvenBeforeItsWriteCommits) {
  std::vector<std::uint8_t> key;
  enrol_and_confirm("alice", key);
  const std::string code = code_now(key);
  auto first = service_->verify("alice", code);
  auto second = service_->verify("alice", code);  // at once, from the overlay
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->ok);
  EXPECT_FALSE(second->ok);
  EXPECT_EQ(second->method_or_reason, "code_reused");
  // Durable: a new service over the same store refuses it too.
  ASSERT_TRUE(store_->wait(second->ticket));
  TotpService again(TotpConfig{}, *store_, *store_, *box_, clock_);
  EXPECT_FALSE(again.verify("alice", code)->ok);
  // The next step's code is fine.
  clock_.advance(30s);
  EXPECT_TRUE(again.verify("alice", code_now(key))->ok);
}

TEST_F(TotpServiceTest, FiveWrongCodesLockOutForTheWindow) {
  std::vector<std::uint8_t> key;
  enrol_and_confirm("alice", key);
  const std::string wrong = code_now(key, 5);
  for (int i = 0; i < 5; ++i) {
    auto r = service_->verify("alice", wrong);
    ASSERT_TRUE(r) << i;
    EXPECT_FALSE(r->ok);
    clock_.advance(1s);
  }
  auto locked = service_->verify("alice", code_now(key));
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().code, "too_many_attempts");
  // Malformed codes are refused without counting or unlocking.
  EXPECT_EQ(service_->verify("alice", "12").error().code, "invalid_code");
  clock_.advance(15min);
  auto r = service_->verify("alice", code_now(key));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->ok);
}

TEST_F(TotpServiceTest, RecoveryCodesWorkOnceEach) {
  std::vector<std::uint8_t> key;
  auto codes = enrol_and_confirm("alice", key);
  auto r = service_->verify("alice", codes[3]);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->method_or_reason, "recovery_code");
  EXPECT_EQ(r->recovery_codes_left, 9);
  auto again = service_->verify("alice", codes[3]);
  EXPECT_FALSE(again->ok);
  EXPECT_EQ(again->method_or_reason, "code_reused");
  std::string typed = codes[4];
  for (char& c : typed) c = char(std::toupper(c));
  EXPECT_TRUE(service_->verify("alice", typed)->ok);
  EXPECT_FALSE(service_->verify("bob", codes[5]).ok());  // not enrolled
}

TEST_F(TotpServiceTest, RemoveNeedsACurrentCodeUnlessAnOperatorAsks) {
  std::vector<std::uint8_t> key;
  enrol_and_confirm("alice", key);
  auto wrong = service_->remove("alice", std::string("000000") == code_now(key) ? "111111" : "000000");
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(wrong->ok);
  EXPECT_TRUE(*service_->enabled("alice"));
  auto ok = service_->remove("alice", code_now(key));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok);
  EXPECT_FALSE(*service_->enabled("alice"));
  enrol_and_confirm("bob", key);
  EXPECT_TRUE(service_->remove("bob", std::nullopt)->ok);
  EXPECT_EQ(service_->remove("bob", std::nullopt).error().code, "totp_not_enabled");
}

TEST_F(TotpServiceTest, AnotherKeyCannotReadTheSecret) {
  std::vector<std::uint8_t> key;
  enrol_and_confirm("alice", key);
  ASSERT_TRUE(store_->wait(last_ticket_));
  auto other = SecretBox::from_key(std::vector<std::uint8_t>(32, 4));
  TotpService moved(TotpConfig{}, *store_, *store_, *other, clock_);
  auto r = moved.verify("alice", code_now(key));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "secret_wrong_key");
}

}  // namespace
}  // namespace mamori::account
