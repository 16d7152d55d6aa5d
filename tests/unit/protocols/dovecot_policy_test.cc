#include "protocols/dovecot/dovecot_policy.h"

#include <gtest/gtest.h>

#include "engine/engine_harness.h"

namespace mamori::dovecot {
namespace {

using engine::testing::EngineHarness;
using engine::testing::kT0;
using std::chrono::seconds;

std::string body(std::string_view login, std::string_view remote, std::string_view session,
                 std::string_view pwhash = "0abc", std::string_view extra = "") {
  return std::string("{\"login\":\"") + std::string(login) + "\",\"remote\":\"" +
         std::string(remote) + "\",\"protocol\":\"imap\",\"pwhash\":\"" + std::string(pwhash) +
         "\",\"session_id\":\"" + std::string(session) + "\",\"tls\":false" + std::string(extra) +
         "}";
}

std::size_t results(EngineHarness& h, std::string_view account, bool success) {
  // The store's writer commits in order: waiting for a later write waits
  // for the adapter's too.
  h.process(EngineHarness::event(EventType::kLogout, "sync", "192.0.2.200", kT0));
  h.sync();
  auto r = h.store().activity(std::string(account), from_unix_ms(0), 100);
  EXPECT_TRUE(r.ok());
  std::size_t n = 0;
  for (const auto& a : *r)
    if (a.type == EventType::kLoginResult && a.success == success) ++n;
  return n;
}

TEST(DovecotPolicy, ASuccessfulLoginIsJudgedOnce) {
  EngineHarness h;
  DovecotPolicy p(h.engine());
  auto first = p.handle("allow", body("Alice", "192.0.2.1", "s1"), kT0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->json(), R"({"status":0,"msg":""})");
  ASSERT_TRUE(p.handle("allow", body("Alice", "192.0.2.1", "s1"), kT0).ok());  // after the check
  auto report = p.handle("report", body("Alice", "192.0.2.1", "s1", "0abc",
                                          ",\"success\":true,\"policy_reject\":false"), kT0);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->judged);
  EXPECT_EQ(results(h, "alice", true), 1u);
}

TEST(DovecotPolicy, FailuresAreCountedAtTheReportAndRefusedAtTheThreshold) {
  EngineHarness h;  // brute_force: 10 failures
  DovecotPolicy p(h.engine());
  for (int i = 0; i < 10; ++i) {
    const std::string pw = "f" + std::to_string(i);  // different wrong passwords
    ASSERT_TRUE(p.handle("allow", body("alice", "192.0.2.1", "s1", pw), kT0 + seconds(i)).ok());
    ASSERT_TRUE(p.handle("report", body("alice", "192.0.2.1", "s1", pw,
                                        ",\"success\":false,\"policy_reject\":false"),
                         kT0 + seconds(i)).ok());
  }
  EXPECT_EQ(results(h, "alice", false), 10u);
  auto r = p.handle("allow", body("alice", "192.0.2.1", "s2"), kT0 + seconds(20));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, -1);
  // The block began at the tenth failure (kT0 + 9 s) and lasts an hour: 59 min 49 s left.
  EXPECT_EQ(r->msg, "mamori: too many failed logins from your address; try again in 60 minutes");
  // Dovecot reports its own refusal: not a password failure.
  ASSERT_TRUE(p.handle("report", body("alice", "192.0.2.1", "s2", "0abc",
                                      ",\"success\":false,\"policy_reject\":true"),
                       kT0 + seconds(20)).ok());
  EXPECT_EQ(results(h, "alice", false), 10u);
  // Another address is not refused.
  EXPECT_EQ(p.handle("allow", body("alice", "192.0.2.2", "s3"), kT0 + seconds(21))->status, 0);
}

TEST(DovecotPolicy, WithoutASessionIdTheRepeatedBodyIsTheSecondCheck) {
  EngineHarness h;
  DovecotPolicy p(h.engine());
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(p.handle("allow", body("alice", "192.0.2.1", ""), kT0).ok());
    ASSERT_TRUE(p.handle("allow", body("alice", "192.0.2.1", ""), kT0).ok());
    ASSERT_TRUE(p.handle("report", body("alice", "192.0.2.1", "", "0abc", ",\"success\":true"), kT0).ok());
  }
  EXPECT_EQ(results(h, "alice", true), 2u);
}

TEST(DovecotPolicy, BadRequestsAreRefusedAndChangeNothing) {
  EngineHarness h;
  DovecotPolicy p(h.engine());
  EXPECT_EQ(p.handle("delete", body("alice", "192.0.2.1", "s"), kT0).error().code, "invalid_command");
  EXPECT_EQ(p.handle("allow", "[1]", kT0).error().code, "invalid_json");
  EXPECT_EQ(p.handle("allow", "", kT0).error().code, "invalid_json");
  EXPECT_EQ(p.handle("allow", body("alice", "nope", "s"), kT0).error().code, "invalid_ip");
  EXPECT_EQ(p.handle("allow", body("", "192.0.2.1", "s"), kT0).error().code, "missing_field");
  EXPECT_EQ(p.handle("allow", R"({"login":5,"remote":"192.0.2.1"})", kT0).error().code,
            "invalid_field");
  EXPECT_EQ(p.handle("allow", R"({"login":"a","remote":"192.0.2.1","protocol":"IM AP"})", kT0)
                .error().code,
            "invalid_field");
  EXPECT_EQ(results(h, "alice", false) + results(h, "alice", true), 0u);
}

TEST(DovecotPolicy, RefusalsSayWhenToTryAgain) {
  Decision d;
  d.add(Action::kDeny, Reason::kDenyList);
  EXPECT_EQ(refusal_message(d, std::chrono::seconds(90)),
            "mamori: logins from your address are refused; try again in 90 seconds");
  EXPECT_EQ(refusal_message(d, std::nullopt), "mamori: logins from your address are refused");
  Decision cs;
  cs.add(Action::kDeny, Reason::kCredentialStuffing);
  EXPECT_EQ(refusal_message(cs, std::chrono::hours(5)),
            "mamori: your address is blocked after suspicious logins; try again in 5 hours");
  Decision locked;
  locked.add(Action::kDeny, Reason::kAccountLocked);
  locked.add(Action::kDeny, Reason::kBruteForce);
  EXPECT_EQ(refusal_message(locked, std::nullopt),
            "mamori: this account is locked; reset your password or contact support");
}

TEST(DovecotPolicy, ALockedAccountIsRefusedWithItsMessage) {
  EngineHarness h;
  h.lock("alice", true, kT0);
  DovecotPolicy p(h.engine());
  auto r = p.handle("allow", body("alice", "192.0.2.1", "s"), kT0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, -1);
  EXPECT_EQ(r->json(),
            R"({"status":-1,"msg":"mamori: this account is locked; reset your password or contact support"})");
}

TEST(DovecotPolicy, SpellingsOfOneLoginShareOneBruteForceCount) {
  EngineHarness h;  // brute_force: 10 failures
  DovecotPolicy p(h.engine());
  // alice, fullwidth ａｌｉｃｅ, a zero-width space inside, a no-break space
  // before, upper case.
  const char* spellings[] = {"alice", "\uff41\uff4c\uff49\uff43\uff45", "ali\u200bce",
                             "\u00a0alice", "ALICE"};
  for (int i = 0; i < 10; ++i) {
    const std::string login = spellings[i % 5], pw = "f" + std::to_string(i);
    const std::string session = "s" + std::to_string(i);
    ASSERT_TRUE(p.handle("allow", body(login, "192.0.2.1", session, pw), kT0 + seconds(i)).ok());
    ASSERT_TRUE(p.handle("report",
                         body(login, "192.0.2.1", session, pw,
                              ",\"success\":false,\"policy_reject\":false"),
                         kT0 + seconds(i))
                    .ok());
  }
  EXPECT_EQ(results(h, "alice", false), 10u);
  for (const char* login : spellings) {
    auto r = p.handle("allow", body(login, "192.0.2.1", std::string("late-") + login),
                      kT0 + seconds(20));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, -1) << login;
  }
}

}  // namespace
}  // namespace mamori::dovecot
