// distributed_stuffing: a credential-stuffing wave spread over thousands of
// addresses, networks and autonomous systems, one attempt each, under every
// per-IP and per-/24 threshold.
#include "engine/distributed_stuffing.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "engine_harness.h"

namespace mamori::engine {
namespace {

using namespace testing;

// Modern browsers the wave rotates through (and honest users use too).
const char* const kBrowsers[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
};
constexpr int kBrowserCount = 6;
// The attacking tool's TLS fingerprint, as the app reports it.
constexpr const char* kToolJa4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";

// 100.N.0.0/16 (N < 40) are the proxy network's 40 networks, four to an
// autonomous system (AS64500-AS64509); 20.N.0.0/16 the honest users' ISPs,
// AS64600 + N.
class AsnLocator final : public Locator {
 public:
  Location locate(const IpAddress& ip) const override {
    Location l;
    if (!ip.is_v4()) return l;
    const std::uint32_t a = ip.v4() >> 24, b = (ip.v4() >> 16) & 0xff;
    if (a == 100 && b < 40) l.asn = 64'500 + b / 4;
    if (a == 20) l.asn = 64'600 + b;
    return l;
  }
};

std::string addr(int a, int b, int c, int d) {
  return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c) + "." +
         std::to_string(d);
}

// Address k of the wave: 2,000 addresses over the 40 /16s, one each.
std::string wave_ip(int k) { return addr(100, k % 40, (k / 40) % 250, 1 + k / 10'000); }

class DistributedStuffingTest : public ::testing::Test {
 protected:
  explicit DistributedStuffingTest(EngineConfig config = {}) : h(config) {
    h.engine().set_locator(&locator);
  }

  Event login(EventType type, const std::string& account, const std::string& from, TimePoint t,
              const char* ua, std::string device = "", std::string fingerprint = "") {
    Event e = EngineHarness::event(type, account, from, t);
    e.user_agent = ua;
    e.device_id = std::move(device);
    e.client_fingerprint = std::move(fingerprint);
    return e;
  }
  // An honest user's login: an attempt, then a success, on a known device.
  Decision honest(int i, TimePoint t, bool typo = false) {
    const std::string from = i % 10 == 0
                                 ? addr(100, i % 40, 251, 1 + i % 200)  // in the wave's ASes
                                 : addr(20, i % 50, i % 200, 1 + i % 250);
    const std::string account = "user" + std::to_string(i);
    const std::string device = "dev-" + std::to_string(i);
    const char* ua = kBrowsers[i % kBrowserCount];
    const Decision a =
        h.process(login(EventType::kLoginAttempt, account, from, t, ua, device)).decision;
    EXPECT_LT(a.action(), Action::kChallenge) << describe(a) << " honest attempt " << account;
    if (typo) h.process(login(EventType::kLoginResult, account, from, t, ua, device));
    Event ok = login(EventType::kLoginResult, account, from, t + seconds(5), ua, device);
    ok.success = true;
    return h.process(ok).decision;
  }
  // Each honest user's first login, days before: their device is known.
  void learn_devices(int users) {
    for (int i = 0; i < users; ++i) {
      const Decision d = honest(i, kT0 - hours(72) + seconds(i));
      EXPECT_ALLOWED(d);
    }
  }
  std::optional<store::Incident> wave_incident() {
    for (const store::Incident& i : h.incidents())
      if (i.kind == store::IncidentKind::kDistributedStuffing) return i;
    return std::nullopt;
  }

  AsnLocator locator;
  EngineHarness h;
};

// The scenario: 2,000 addresses over 40 /16s (ten autonomous
// systems), rotating modern user agents and the tool's TLS fingerprint, one
// failed login per address on distinct accounts over an hour, among honest
// users who log in on their known devices (5 % after a typo).
TEST_F(DistributedStuffingTest, WaveFromThousandsOfAddressesIsCaught) {
  constexpr int kUsers = 400;
  learn_devices(kUsers);
  int honest_challenged_before = 0, honest_challenged_during = 0, honest_logins = 0;
  // An hour of honest traffic alone, for the challenge rate before.
  for (int n = 0; n < 600; ++n) {
    const Decision d = honest(n % kUsers, kT0 - hours(1) + seconds(6 * n), n % 20 == 0);
    if (d.action() >= Action::kChallenge) ++honest_challenged_before;
  }
  int wave_refused = 0, wave_refused_late = 0, wave_late = 0;
  for (int k = 0; k < 2000; ++k) {
    const TimePoint t = kT0 + milliseconds(1800 * k);  // an hour
    const std::string account = "leaked" + std::to_string(k);
    const char* ua = kBrowsers[k % kBrowserCount];
    const Decision a =
        h.process(login(EventType::kLoginAttempt, account, wave_ip(k), t, ua, "", kToolJa4))
            .decision;
    const Decision r = h.process(login(EventType::kLoginResult, account, wave_ip(k), t + seconds(1),
                                       ua, "", kToolJa4))
                           .decision;
    EXPECT_FALSE(r.has(Reason::kCredentialStuffing)) << "one attempt per address: " << describe(r);
    const bool refused = a.action() >= Action::kChallenge;
    wave_refused += refused;
    if (k >= 200) {
      ++wave_late;
      wave_refused_late += refused;
    }
    if (k % 5 == 0) {
      const Decision d = honest(k % kUsers, t + milliseconds(700), k % 100 == 0);
      ++honest_logins;
      if (d.action() >= Action::kChallenge) ++honest_challenged_during;
    }
  }
  // Caught within its first tenth (the tool's fingerprint at 50 accounts),
  // and every later attempt refused.
  EXPECT_EQ(wave_refused_late, wave_late);
  EXPECT_GE(wave_refused, 1900);
  // The tool's fingerprint is denied; no wide prefix, no AS.
  bool fingerprint_blocked = false;
  for (const store::Block& b : h.stored_blocks(kT0 + hours(1))) {
    if (b.scope == "fingerprint") {
      fingerprint_blocked = true;
      EXPECT_NE(b.key.find(kToolJa4), std::string::npos) << b.key;
    }
    if (b.scope == "network") {
      EXPECT_NE(b.key.find("/24"), std::string::npos) << b.key;
    }
  }
  EXPECT_TRUE(fingerprint_blocked);
  const Decision denied = h.process(login(EventType::kLoginAttempt, "someone", addr(100, 3, 9, 9),
                                          kT0 + hours(1), kBrowsers[0], "", kToolJa4))
                              .decision;
  EXPECT_DECISION(denied, Action::kDeny, Reason::kDistributedStuffing);
  // Honest users, also those in the wave's autonomous systems, keep their
  // challenge rate (none) on their known devices.
  EXPECT_EQ(honest_challenged_before, 0);
  EXPECT_EQ(honest_challenged_during, 0) << "of " << honest_logins;
  // One incident lists every account failed during the wave.
  auto incident = wave_incident();
  ASSERT_TRUE(incident);
  const std::set<std::string> listed = h.incident_account_names(incident->id);
  for (int k = 0; k < 2000; ++k)
    EXPECT_TRUE(listed.count("leaked" + std::to_string(k))) << "leaked" << k;
  EXPECT_GE(incident->accounts_targeted, 2000);
  EXPECT_FALSE(incident->sources.empty());
}

// The same wave with browsers' user agents alone (no client fingerprint the
// tool could be told by): nothing specific to deny, so the wave raises the
// service's protection: attempts and logins from devices the account never
// used are challenged, known devices are not.
TEST_F(DistributedStuffingTest, WaveWithoutItsOwnFingerprintChallengesNewDevices) {
  constexpr int kUsers = 400;
  learn_devices(kUsers);
  int honest_challenged = 0;
  for (int k = 0; k < 2000; ++k) {
    const TimePoint t = kT0 + milliseconds(1800 * k);
    const char* ua = kBrowsers[k % kBrowserCount];
    h.process(login(EventType::kLoginResult, "leaked" + std::to_string(k), wave_ip(k), t, ua));
    if (k % 5 == 0 && honest(k % kUsers, t + milliseconds(700)).action() >= Action::kChallenge)
      ++honest_challenged;
  }
  EXPECT_EQ(honest_challenged, 0);
  for (const store::Block& b : h.stored_blocks(kT0 + hours(1)))
    ADD_FAILURE() << "nothing here is the attacker's own, yet " << b.scope << " " << b.key
                  << " is blocked";
  const TimePoint t = kT0 + hours(1);
  // A stolen password used on an honest user's account from the wave.
  Event stolen = login(EventType::kLoginAttempt, "user7", wave_ip(3), t, kBrowsers[0]);
  EXPECT_DECISION(h.process(stolen).decision, Action::kChallenge, Reason::kDistributedStuffing);
  stolen.type = EventType::kLoginResult;
  stolen.success = true;
  EXPECT_DECISION(h.process(stolen).decision, Action::kChallenge, Reason::kDistributedStuffing);
  // ... counted in the wave's incident as got into.
  auto incident = wave_incident();
  ASSERT_TRUE(incident);
  auto user7 = h.incident_account(incident->id, "user7");
  ASSERT_TRUE(user7);
  EXPECT_TRUE(user7->login_succeeded);
  // An honest user's new phone, anywhere, is challenged too while it lasts.
  Event phone =
      login(EventType::kLoginResult, "user8", addr(20, 8, 8, 8), t, kBrowsers[5], "new-phone");
  phone.success = true;
  EXPECT_DECISION(h.process(phone).decision, Action::kChallenge, Reason::kDistributedStuffing);
  // A second factor passed in the login lifts it.
  phone.account = "user9";
  phone.mfa = true;
  EXPECT_ALLOWED(h.process(phone).decision);
  // The wave's protection ends `raise_for` after its last hot failure.
  phone.account = "user10";
  phone.mfa = false;
  phone.time = t + h.config().distributed_stuffing.raise_for;
  const Decision later = h.process(phone).decision;
  EXPECT_FALSE(later.has(Reason::kDistributedStuffing)) << describe(later);
}

// Honest traffic of a big ISP: many failing accounts from one /16 and AS,
// but many more logins that work. No source is hot, no wave.
TEST_F(DistributedStuffingTest, BusyHonestNetworkMakesNoWave) {
  for (int n = 0; n < 3000; ++n) {
    const TimePoint t = kT0 + seconds(n);
    const std::string from = addr(20, n % 2, n % 250, 1 + n % 200);
    const std::string account = "user" + std::to_string(n);
    if (n % 10 == 0) h.process(login(EventType::kLoginResult, account, from, t, kBrowsers[n % 6]));
    Event ok = login(EventType::kLoginResult, account, from, t, kBrowsers[n % 6], "d");
    ok.success = true;
    const Decision d = h.process(ok).decision;
    EXPECT_FALSE(d.has(Reason::kDistributedStuffing)) << describe(d);
  }
  EXPECT_FALSE(wave_incident());
  // A later new device is not challenged on its own.
  Event phone = login(EventType::kLoginResult, "user1", addr(20, 1, 1, 1), kT0 + hours(1),
                      kBrowsers[5], "new-phone");
  phone.success = true;
  EXPECT_FALSE(h.process(phone).decision.action() >= Action::kChallenge);
}

// One hot wide prefix is one network's doing (a NAT, a school): with no AS
// known and no user agent, it is one hot source, under min_hot_sources (2).
TEST(DistributedStuffing, OneHotSourceAloneMakesNoWave) {
  EngineHarness h;
  for (int k = 0; k < 100; ++k)
    h.fail("leaked" + std::to_string(k), addr(100, 1, k, 1), kT0 + seconds(20 * k));
  Event e =
      EngineHarness::event(EventType::kLoginAttempt, "user1", "20.1.1.1", kT0 + seconds(2000));
  EXPECT_ALLOWED(h.process(e).decision);
  for (const store::Incident& i : h.incidents())
    EXPECT_NE(i.kind, store::IncidentKind::kDistributedStuffing);
  // A second wide prefix makes it one.
  for (int k = 0; k < 20; ++k)
    h.fail("other" + std::to_string(k), addr(101, 1, k, 1), kT0 + seconds(2000 + k));
  bool wave = false;
  for (const store::Incident& i : h.incidents())
    wave = wave || i.kind == store::IncidentKind::kDistributedStuffing;
  EXPECT_TRUE(wave);
}

// A narrow network of the wave (/24) with several failing accounts is
// denied during the wave; its wide prefix is not.
// A wave too thin for any source to stand out (250 failures from 250 /16s
// without an AS, rotating browsers, among three times as many honest
// logins), seen by the service's failure ratio: 25 % where 5 % is usual for
// the hour of the week. Before the baseline is learnt the same traffic
// starts nothing.
TEST_F(DistributedStuffingTest, TheServicesFailureRatioStartsAWaveNoSourceReveals) {
  constexpr int kUsers = 400;
  learn_devices(kUsers);
  auto thin_wave = [&](TimePoint start, const std::string& prefix) {
    for (int k = 0; k < 250; ++k) {
      const TimePoint t = start + milliseconds(2000 * k);
      h.process(login(EventType::kLoginResult, prefix + std::to_string(k),
                      addr(30 + k % 200, k / 200, 7, 7), t, kBrowsers[k % kBrowserCount]));
      for (int i = 0; i < 3; ++i) {
        const Decision d = honest((3 * k + i) % kUsers, t + milliseconds(500 * i + 100));
        EXPECT_LT(d.action(), Action::kChallenge) << "honest, known device: " << describe(d);
      }
    }
  };
  thin_wave(kT0 - hours(3), "early");
  EXPECT_FALSE(wave_incident()) << "the baseline is not learnt yet";

  std::string usual = "mamori-baseline 1\n";
  for (int slot = 0; slot < 168; ++slot) usual += std::to_string(slot) + " 4 0.05 0\n";
  ASSERT_TRUE(h.engine().failure_baseline().restore(usual).ok());
  thin_wave(kT0, "thin");
  for (const store::Block& b : h.stored_blocks(kT0 + minutes(10)))
    ADD_FAILURE() << "nothing here is the attacker's own, yet " << b.scope << " " << b.key
                  << " is blocked";
  auto incident = wave_incident();
  ASSERT_TRUE(incident);
  ASSERT_FALSE(incident->sources.empty());
  EXPECT_NE(incident->sources.front().find("service: failure ratio"), std::string::npos)
      << incident->sources.front();
  const std::set<std::string> listed = h.incident_account_names(incident->id);
  for (int k = 200; k < 250; ++k)
    EXPECT_TRUE(listed.count("thin" + std::to_string(k))) << "thin" << k;
  // Service-wide: a new device is challenged, a known one is not.
  const TimePoint t = kT0 + minutes(9);
  Event stolen = login(EventType::kLoginAttempt, "user7", addr(77, 7, 7, 7), t, kBrowsers[0]);
  EXPECT_DECISION(h.process(stolen).decision, Action::kChallenge, Reason::kDistributedStuffing);
  EXPECT_LT(honest(8, t).action(), Action::kChallenge);
}

TEST(DistributedStuffing, NarrowNetworkOfTheWaveIsDenied) {
  EngineHarness h;
  // The wave: two /16s, 20 accounts each, one address each.
  for (int k = 0; k < 20; ++k) {
    h.fail("a" + std::to_string(k), addr(100, 1, 100 + k, 1), kT0 + seconds(10 * k));
    h.fail("b" + std::to_string(k), addr(100, 2, 100 + k, 1), kT0 + seconds(10 * k + 5));
  }
  // Five addresses of 100.1.7.0/24 fail on five accounts.
  Decision d;
  for (int k = 0; k < 5; ++k)
    d = h.fail("c" + std::to_string(k), addr(100, 1, 7, 10 + k), kT0 + seconds(300 + k));
  EXPECT_DECISION(d, Action::kDeny, Reason::kDistributedStuffing);
  EXPECT_DECISION(h.attempt("user1", "100.1.7.200", kT0 + seconds(400)), Action::kDeny,
                  Reason::kDistributedStuffing);
  // The rest of the /16 is not denied.
  EXPECT_LT(h.attempt("user1", "100.1.8.200", kT0 + seconds(400)).action(), Action::kDeny);
  bool narrow = false;
  for (const store::Block& b : h.stored_blocks(kT0 + seconds(400))) {
    EXPECT_NE(b.key, "100.1.0.0/16");
    narrow = narrow || (b.scope == "network" && b.key == "100.1.7.0/24");
  }
  EXPECT_TRUE(narrow);
}

// A browser's fingerprint shared with honest users is never denied, however
// hot; a tool's own (client fingerprint, or an app's user agent) is.
TEST(DistributedStuffing, OnlyTheAttackersOwnFingerprintIsDenied) {
  EngineHarness h;
  auto fail_as = [&](int k, const char* ua, const char* fp) {
    Event e = EngineHarness::event(EventType::kLoginResult, "x" + std::to_string(k),
                                   addr(30 + k % 200, k / 200, 1, 1), kT0 + seconds(k));
    e.user_agent = ua;
    e.client_fingerprint = fp;
    return h.process(e).decision;
  };
  Decision d;
  for (int k = 0; k < 60; ++k) d = fail_as(k, kBrowsers[0], "");
  EXPECT_LT(d.action(), Action::kDeny) << describe(d);
  for (int k = 100; k < 160; ++k) d = fail_as(k, "python-requests/2.31.0", "");
  EXPECT_DECISION(d, Action::kDeny, Reason::kDistributedStuffing);
  bool tool = false;
  for (const store::Block& b : h.stored_blocks(kT0 + seconds(200))) {
    EXPECT_EQ(b.key.find("Chrome"), std::string::npos) << b.key;
    tool = tool || b.key == "app:python-requests/2";
  }
  EXPECT_TRUE(tool);
}

// An attacker that copies a browser's TLS fingerprint outnumbers that
// browser's honest users many times over; their logins from known devices
// keep it from being denied.
TEST_F(DistributedStuffingTest, ClientFingerprintOfHonestUsersIsNeverDenied) {
  constexpr const char* kBrowserJa4 = "t13d1516h2_8daaf6152771_02713d6af862";
  learn_devices(20);
  Event known = login(EventType::kLoginResult, "user1", addr(20, 1, 1, 1), kT0, kBrowsers[1],
                      "dev-1", kBrowserJa4);
  known.success = true;
  EXPECT_ALLOWED(h.process(known).decision);
  for (int k = 0; k < 300; ++k)
    h.process(login(EventType::kLoginResult, "leaked" + std::to_string(k), wave_ip(k),
                    kT0 + seconds(1 + k), kBrowsers[k % kBrowserCount], "", kBrowserJa4));
  for (const store::Block& b : h.stored_blocks(kT0 + seconds(400)))
    EXPECT_NE(b.scope, "fingerprint") << b.key;
  known.time = kT0 + seconds(400);
  known.type = EventType::kLoginAttempt;
  EXPECT_LT(h.process(known).decision.action(), Action::kChallenge);
}

TEST(DistributedStuffing, FingerprintsOfAnEvent) {
  Event e;
  e.user_agent = kBrowsers[0];
  EXPECT_EQ(agent_fingerprint_of(e), "Chrome/131/Windows");
  e.user_agent = kBrowsers[2];
  EXPECT_EQ(agent_fingerprint_of(e), "Safari/18/macOS");
  EXPECT_EQ(client_fingerprint_key(e), "");
  e.client_fingerprint = kToolJa4;
  EXPECT_EQ(client_fingerprint_key(e), std::string("client:") + kToolJa4);
  e.user_agent = "python-requests/2.31.0";
  EXPECT_EQ(agent_fingerprint_of(e), "app:python-requests/2");
  e.user_agent.clear();
  EXPECT_EQ(agent_fingerprint_of(e), "");
}

TEST(DistributedStuffing, DisabledSeesNothing) {
  EngineConfig config;
  config.distributed_stuffing.enabled = false;
  EngineHarness h(config);
  for (int k = 0; k < 200; ++k) {
    Event e = EngineHarness::event(EventType::kLoginResult, "x" + std::to_string(k), wave_ip(k),
                                   kT0 + seconds(k));
    e.user_agent = "python-requests/2.31.0";
    EXPECT_FALSE(h.process(e).decision.has(Reason::kDistributedStuffing));
  }
}

}  // namespace
}  // namespace mamori::engine
