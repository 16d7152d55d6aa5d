// Account takeover after a successful login (docs/design.md S1, S5): profile
// signals, owner notices, risky changes and message fan-out, with places from
// the GeoIP test databases (tests/data/geoip/README.md).
#include <gtest/gtest.h>

#include "engine/device.h"
#include "engine/engine.h"
#include "engine/impossible_travel.h"
#include "engine/profile_update.h"
#include "engine_harness.h"
#include "geo/maxmind_locator.h"

namespace mamori::engine::testing {
namespace {

constexpr const char* kChromeWindows =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36";
constexpr const char* kChromeWindowsUpdated =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Safari/537.36";
constexpr const char* kFirefoxLinux =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
constexpr const char* kSafariIphone =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

constexpr const char* kTokyo = "2001:240::10";      // JP
constexpr const char* kChangchun = "175.16.199.20";  // CN
constexpr const char* kBritain = "2.125.160.217";    // GB, Boxford
constexpr const char* kTorExit = "81.2.69.1";        // anonymous, no city record

const std::string kData = std::string(MAMORI_TEST_DATA) + "/geoip/";

class Takeover : public ::testing::Test {
 protected:
  Takeover() {
    auto l = geo::MaxmindLocator::open(
        {kData + "GeoLite2-City-Test.mmdb", "", kData + "GeoIP2-Anonymous-IP-Test.mmdb"});
    EXPECT_TRUE(l) << l.error().message;
    locator_ = std::move(*l);
    h_.engine().set_locator(locator_.get());
    h_.engine().set_effects(&effects_);
  }

  Outcome login(std::string_view account, std::string_view from, TimePoint t, const char* ua,
                bool mfa = false) {
    Event e = EngineHarness::event(EventType::kLoginResult, account, from, t);
    e.success = true;
    e.mfa = mfa;
    e.user_agent = ua;
    return h_.process(e);
  }
  Decision change(EventType type, std::string_view account, std::string_view from, TimePoint t) {
    Event e = EngineHarness::event(type, account, from, t);
    if (type == EventType::kEmailChanged) {
      e.old_email = "owner@example.jp";
      e.new_email = "intruder@example.cn";
    }
    return h_.process(e).decision;
  }
  Decision message(std::string_view account, std::string_view from, TimePoint t,
                   std::string to) {
    Event e = EngineHarness::event(EventType::kMessageSent, account, from, t);
    e.recipients = {std::move(to)};
    e.recipient_count = 1;
    return h_.process(e).decision;
  }
  std::vector<OwnerNotice> notices(NoticeKind kind) const {
    std::vector<OwnerNotice> out;
    for (const auto& n : effects_.notices)
      if (n.kind == kind) out.push_back(n);
    return out;
  }

  EngineHarness h_;
  RecordingEffects effects_;
  std::unique_ptr<geo::MaxmindLocator> locator_;
};

TEST_F(Takeover, S1_DormantAccountLoggedIntoFromNewDeviceAbroadIsChallengedAndOwnerTold) {
  // The owner's last login, 200 days ago, from home.
  EXPECT_ALLOWED(login("mika", kTokyo, kT0 - hours(24 * 200), kChromeWindows).decision);
  EXPECT_TRUE(effects_.notices.empty()) << "a first login has nothing to compare with";

  const Outcome o = login("mika", kChangchun, kT0, kFirefoxLinux);
  EXPECT_EQ(o.decision.action(), Action::kChallenge) << describe(o.decision);
  EXPECT_TRUE(o.decision.has(Reason::kNewDevice));
  EXPECT_TRUE(o.decision.has(Reason::kNewLocation));
  EXPECT_TRUE(o.decision.has(Reason::kDormantAccount));
  EXPECT_EQ(o.decision.risk(), 100);
  EXPECT_TRUE(o.new_device && o.new_location && o.notified);

  const auto told = notices(NoticeKind::kNewLogin);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].account, "mika");
  EXPECT_EQ(told[0].ip.to_string(), kChangchun);
  EXPECT_EQ(told[0].where.country, "CN");
  EXPECT_EQ(told[0].where.city, "Changchun");
  EXPECT_EQ(told[0].user_agent, kFirefoxLinux);
  EXPECT_EQ(told[0].time, kT0);
}

TEST_F(Takeover, S1_HundredMessagesAfterTheSuspiciousLoginAreDeniedAndTheAccountLocked) {
  login("mika", kTokyo, kT0 - hours(24 * 200), kChromeWindows);
  ASSERT_EQ(login("mika", kChangchun, kT0, kFirefoxLinux).decision.action(), Action::kChallenge);

  // The intruder ignores the challenge (the app has no second factor) and
  // messages every friend: 100 messages in two minutes.
  int delivered = 0;
  Decision last;
  for (int i = 0; i < 100; ++i) {
    last = message("mika", kChangchun, kT0 + minutes(1) + milliseconds(1200 * i),
                   "friend" + std::to_string(i));
    if (last.action() == Action::kAllow) ++delivered;
  }
  EXPECT_EQ(delivered, 29);
  EXPECT_DECISION(last, Action::kDeny, Reason::kAccountLocked);
  const auto lock = h_.stored_lock("mika");
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->reason, "message_fanout");
  EXPECT_TRUE(lock->password_reset_required);
  ASSERT_EQ(notices(NoticeKind::kAccountLocked).size(), 1u);

  const auto incidents = h_.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].kind, store::IncidentKind::kMessageFanout);
  EXPECT_EQ(incidents[0].sources, std::vector<std::string>{kChangchun});
}

TEST_F(Takeover, MessageFanoutWithoutSuspiciousLoginThrottlesButDoesNotLock) {
  login("ren", kTokyo, kT0 - hours(1), kChromeWindows);
  int delivered = 0;
  for (int i = 0; i < 40; ++i)
    if (message("ren", kTokyo, kT0 + seconds(i), "f" + std::to_string(i)).action() == Action::kAllow)
      ++delivered;
  EXPECT_EQ(delivered, 29);
  EXPECT_FALSE(h_.stored_lock("ren"));
  // Ten minutes later the window has room again.
  EXPECT_ALLOWED(message("ren", kTokyo, kT0 + minutes(11), "late"));
}

TEST_F(Takeover, S5_EmailChangedMinutesAfterLoginFromChinaLocksAndNotifiesTheOldAddress) {
  login("shopper", kTokyo, kT0 - hours(24 * 3), kChromeWindows);
  const Outcome in = login("shopper", kChangchun, kT0, kFirefoxLinux);
  EXPECT_EQ(in.decision.action(), Action::kChallenge) << describe(in.decision);

  const Decision d = change(EventType::kEmailChanged, "shopper", kChangchun, kT0 + minutes(5));
  EXPECT_DECISION(d, Action::kLock, Reason::kRiskyChange);
  const auto lock = h_.stored_lock("shopper");
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->reason, "risky_change");
  EXPECT_TRUE(lock->password_reset_required);

  const auto locked = notices(NoticeKind::kAccountLocked);
  ASSERT_EQ(locked.size(), 1u);
  EXPECT_EQ(locked[0].to_address, "owner@example.jp");
  EXPECT_EQ(locked[0].where.country, "CN");

  // The intruder's password change next does not lift the lock.
  EXPECT_DECISION(change(EventType::kPasswordChanged, "shopper", kChangchun, kT0 + minutes(6)),
                  Action::kDeny, Reason::kAccountLocked);
  EXPECT_TRUE(h_.stored_lock("shopper"));
}

TEST_F(Takeover, RiskyChangeWindowEndsAfter24Hours) {
  login("aoi", kTokyo, kT0 - hours(24 * 3), kChromeWindows);
  login("aoi", kChangchun, kT0, kFirefoxLinux);
  EXPECT_ALLOWED(change(EventType::kMfaDisabled, "aoi", kTokyo, kT0 + hours(25)));
  EXPECT_FALSE(h_.stored_lock("aoi"));
}

TEST_F(Takeover, Benign_TypoThenSuccessStaysQuiet) {
  login("yuki", kTokyo, kT0 - hours(24), kChromeWindows);
  Event typo = EngineHarness::event(EventType::kLoginResult, "yuki", kTokyo, kT0, "typo");
  typo.user_agent = kChromeWindows;
  EXPECT_ALLOWED(h_.process(typo).decision);
  const Outcome o = login("yuki", kTokyo, kT0 + seconds(10), kChromeWindowsUpdated);
  EXPECT_ALLOWED(o.decision);
  EXPECT_EQ(o.decision.reason_count(), 0) << describe(o.decision);
  EXPECT_FALSE(o.new_device || o.new_location || o.notified);
  EXPECT_TRUE(effects_.notices.empty());
}

TEST_F(Takeover, Benign_NewPhoneInTheHomeCountryIsAllowedWithANoticeAndNoLock) {
  login("hana", kTokyo, kT0 - hours(24 * 30), kChromeWindows);
  const Outcome o = login("hana", "2001:218::7", kT0, kSafariIphone);
  EXPECT_EQ(o.decision.action(), Action::kAllow) << describe(o.decision);
  EXPECT_TRUE(o.decision.has(Reason::kNewDevice));
  EXPECT_TRUE(o.new_device);
  EXPECT_FALSE(o.new_location);
  EXPECT_EQ(notices(NoticeKind::kNewLogin).size(), 1u);
  EXPECT_ALLOWED(change(EventType::kPasswordChanged, "hana", "2001:218::7", kT0 + minutes(3)));
  EXPECT_FALSE(h_.stored_lock("hana"));
  // The phone is known from now on.
  EXPECT_FALSE(login("hana", "2001:218::7", kT0 + hours(1), kSafariIphone).new_device);
}

TEST_F(Takeover, Benign_TripAbroadAtPlaneSpeedWithChallengePassedIsNotLocked) {
  login("kenji", kTokyo, kT0 - hours(24 * 10), kChromeWindows);
  login("kenji", kTokyo, kT0, kChromeWindows);
  // Britain 14 hours later: about 9,560 km, 680 km/h.
  const Outcome o = login("kenji", kBritain, kT0 + hours(14), kChromeWindows);
  EXPECT_EQ(o.decision.action(), Action::kChallenge) << describe(o.decision);
  EXPECT_TRUE(o.decision.has(Reason::kNewLocation));
  EXPECT_FALSE(o.decision.has(Reason::kImpossibleTravel));
  EXPECT_ALLOWED(change(EventType::kChallengePassed, "kenji", kBritain, kT0 + hours(14) + seconds(30)));
  EXPECT_ALLOWED(change(EventType::kPasswordChanged, "kenji", kBritain, kT0 + hours(15)));
  EXPECT_FALSE(h_.stored_lock("kenji"));
  // Great Britain is known now.
  EXPECT_ALLOWED(login("kenji", kBritain, kT0 + hours(40), kChromeWindows).decision);
}

TEST_F(Takeover, LoginWithSecondFactorLearnsThePlaceWithoutAChallenge) {
  login("sora", kTokyo, kT0 - hours(24 * 10), kChromeWindows);
  const Outcome o = login("sora", kBritain, kT0, kFirefoxLinux, /*mfa=*/true);
  EXPECT_EQ(o.decision.action(), Action::kAllow) << describe(o.decision);
  EXPECT_TRUE(o.new_device && o.new_location && o.notified);
  EXPECT_ALLOWED(change(EventType::kEmailChanged, "sora", kBritain, kT0 + minutes(2)));
  const Outcome again = login("sora", kBritain, kT0 + hours(30), kFirefoxLinux);
  EXPECT_EQ(again.decision.reason_count(), 0) << describe(again.decision);
}

TEST_F(Takeover, ImpossibleTravelOnAKnownDeviceIsChallenged) {
  login("taro", kTokyo, kT0 - hours(24 * 10), kChromeWindows);
  login("taro", kBritain, kT0 - hours(24 * 5), kChromeWindows, /*mfa=*/true);
  login("taro", kTokyo, kT0, kChromeWindows);
  const Outcome o = login("taro", kBritain, kT0 + hours(1), kChromeWindows);
  EXPECT_EQ(o.decision.action(), Action::kChallenge) << describe(o.decision);
  EXPECT_TRUE(o.decision.has(Reason::kImpossibleTravel));
  EXPECT_FALSE(o.decision.has(Reason::kNewLocation));
}

TEST_F(Takeover, AnonymousNetworkAloneAddsRiskButIsAllowed) {
  login("mei", kTokyo, kT0 - hours(24), kChromeWindows);
  const Outcome o = login("mei", kTorExit, kT0, kChromeWindows);
  EXPECT_EQ(o.decision.action(), Action::kAllow) << describe(o.decision);
  EXPECT_TRUE(o.decision.has(Reason::kAnonymousNetwork));
  EXPECT_EQ(o.decision.risk(), kRiskAnonymousNetwork);
  EXPECT_FALSE(o.notified);
}

TEST_F(Takeover, OperatorUnlockLiftsTheThrottleAndTheSuspicion) {
  login("mika", kTokyo, kT0 - hours(24 * 200), kChromeWindows);
  login("mika", kChangchun, kT0, kFirefoxLinux);
  for (int i = 0; i < 30; ++i) message("mika", kChangchun, kT0 + seconds(i), "f" + std::to_string(i));
  ASSERT_TRUE(h_.stored_lock("mika"));
  h_.unlock("mika", kT0 + minutes(2));
  EXPECT_FALSE(h_.stored_lock("mika"));
  EXPECT_ALLOWED(message("mika", kTokyo, kT0 + minutes(3), "mum"));
  EXPECT_ALLOWED(change(EventType::kEmailChanged, "mika", kTokyo, kT0 + minutes(4)));
}

TEST_F(Takeover, ProfilesSurviveARestart) {
  login("nao", kTokyo, kT0 - hours(24), kChromeWindows);
  login("nao", kChangchun, kT0, kFirefoxLinux);
  h_.restart_process(kT0 + minutes(1));
  h_.engine().set_locator(locator_.get());
  h_.engine().set_effects(&effects_);
  // The device is still known, and the suspicion still stands.
  EXPECT_FALSE(login("nao", kTokyo, kT0 + minutes(2), kChromeWindows).new_device);
  EXPECT_DECISION(change(EventType::kEmailChanged, "nao", kChangchun, kT0 + minutes(3)),
                  Action::kLock, Reason::kRiskyChange);
}

TEST_F(Takeover, AFamiliarLoginsTimesAreWrittenHourlyWhatIsLearntAtOnce) {
  login("ken", kTokyo, kT0, kChromeWindows);
  login("ken", kTokyo, kT0 + minutes(10), kChromeWindows);  // familiar: not written
  h_.sync();
  auto stored = h_.store().profile("ken");
  ASSERT_TRUE(stored && stored->last_success);
  EXPECT_EQ(stored->last_success->time, kT0);
  // The engine's own view is current.
  EXPECT_EQ(h_.engine().account("ken")->last_login->time, kT0 + minutes(10));

  login("ken", "2001:218::7", kT0 + minutes(20), kSafariIphone);  // a new device: written
  login("ken", kTokyo, kT0 + minutes(90), kChromeWindows);         // an hour on: written
  h_.sync();
  stored = h_.store().profile("ken");
  ASSERT_TRUE(stored && stored->last_success);
  EXPECT_EQ(stored->devices.size(), 2u);
  EXPECT_EQ(stored->last_success->time, kT0 + minutes(90));
}

TEST_F(Takeover, AccountViewShowsDevicesCountriesAndTheLastLogin) {
  login("eri", kTokyo, kT0 - hours(2), kChromeWindows);
  login("eri", "2001:218::9", kT0, kSafariIphone);
  auto v = h_.engine().account("eri");
  ASSERT_TRUE(v);
  ASSERT_EQ(v->profile.devices.size(), 2u);
  EXPECT_EQ(v->profile.devices[0].key, "ua:Safari/iOS");
  EXPECT_EQ(v->profile.countries, std::vector<std::string>{"JP"});
  h_.sync();
  auto again = h_.engine().account("eri");
  ASSERT_TRUE(again && again->last_login);
  EXPECT_EQ(again->last_login->country, "JP");
}

// ---- the pure parts ----

TEST(Device, UserAgentFamiliesIgnoreVersions) {
  Event a, b;
  a.user_agent = kChromeWindows;
  b.user_agent = kChromeWindowsUpdated;
  EXPECT_EQ(device_key(a), "ua:Chrome/Windows");
  EXPECT_EQ(device_key(a), device_key(b));
  EXPECT_EQ(describe_user_agent(kSafariIphone), "Safari on iOS");
  EXPECT_EQ(describe_user_agent(kFirefoxLinux), "Firefox on Linux");
  EXPECT_EQ(describe_user_agent(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"),
            "Edge on Windows");
  Event app;
  app.user_agent = "MailClient/2.1 (build 77)";
  EXPECT_EQ(device_key(app), "ua:MailClient");
  Event with_id = a;
  with_id.device_id = "cookie-1";
  EXPECT_EQ(device_key(with_id), "id:cookie-1");
  EXPECT_EQ(device_key(Event{}), "");
}

// The 64 bytes kept of an app's name and the 120 of an unknown user agent end
// at a character: a cut one was stored replaced, and after a restart the
// device no longer matched its key.
TEST(Device, AppNamesAndDescriptionsAreCutBetweenCharacters) {
  const std::string name = "メールクライアント";  // 27 bytes
  Event app;
  app.user_agent = name + name + name + "/2.0";
  EXPECT_EQ(device_key(app), "ua:" + name + name + "メール");  // 63 bytes of the 81
  EXPECT_TRUE(is_valid_utf8(device_key(app)));
  const std::string ua = "é" + std::string(117, 'x') + "é and more";  // the second é: bytes 119-120
  EXPECT_EQ(describe_user_agent(ua), "é" + std::string(117, 'x'));
  EXPECT_EQ(describe_user_agent(std::string(200, 'x')), std::string(120, 'x'));
}

// Summaries are remembered per thread by the user agent's hash: many user
// agents sharing the memo's 64 slots, asked in turn, still get their own.
TEST(Device, SummariesStayRightWhenManyUserAgentsShareTheMemo) {
  const std::string systems[] = {"Windows NT 10.0; Win64; x64", "X11; Linux x86_64",
                                 "iPhone; CPU iPhone OS 17_4 like Mac OS X", "Linux; Android 14"};
  const std::string_view os[] = {"Windows", "Linux", "iOS", "Android"};
  const std::string browsers[] = {"Chrome/124.0.", "Firefox/125.", "Edg/131.0.", "OPR/99."};
  const std::string_view family[] = {"Chrome", "Firefox", "Edge", "Opera"};
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 400; ++i) {
      const std::string ua = "Mozilla/5.0 (" + systems[i % 4] + ") " + browsers[(i / 4) % 4] +
                             std::to_string(i);
      const UserAgentSummary s = summarize_user_agent(ua);
      EXPECT_EQ(s.family, family[(i / 4) % 4]) << ua;
      EXPECT_EQ(s.os, os[i % 4]) << ua;
    }
  }
  EXPECT_EQ(summarize_user_agent(std::string(600, 'x') + " Firefox/1 (Windows)").family, "Firefox");
}

TEST(ImpossibleTravel, DistanceTokyoLondonIsAbout9560Km) {
  EXPECT_NEAR(distance_km(35.685, 139.753, 51.51, -0.09), 9560, 30);
  EXPECT_NEAR(distance_km(10, 20, 10, 20), 0, 1e-9);
}

TEST(ImpossibleTravel, ShortHopsAndMissingCoordinatesAreNotFlagged) {
  LoginRiskConfig c;
  store::LoginPlace last;
  last.time = kT0;
  last.latitude = 35.685;
  last.longitude = 139.753;
  last.has_coordinates = true;
  Location osaka;
  osaka.latitude = 34.69;
  osaka.longitude = 135.50;  // ~400 km
  osaka.has_coordinates = true;
  EXPECT_TRUE(is_impossible_travel(last, osaka, kT0 + minutes(10), c));
  EXPECT_FALSE(is_impossible_travel(last, osaka, kT0 + hours(1), c));
  c.min_distance_km = 500;
  EXPECT_FALSE(is_impossible_travel(last, osaka, kT0 + minutes(10), c));
  EXPECT_FALSE(is_impossible_travel(last, Location{}, kT0 + minutes(1), c));
  EXPECT_FALSE(is_impossible_travel(std::nullopt, osaka, kT0, c));
}

TEST(ProfileUpdate, OldestDevicesAndCountriesAreDroppedBeyondTheLimits) {
  ProfileConfig limits;
  limits.max_devices = 3;
  limits.max_countries = 2;
  store::AccountProfile p;
  const char* countries[] = {"JP", "KR", "US", "JP"};
  for (int i = 0; i < 4; ++i) {
    Event e;
    e.time = kT0 + minutes(i);
    e.device_id = "d" + std::to_string(i);
    Location where;
    where.country = countries[i];
    learn_login(p, device_key(e), e, where, limits);
  }
  ASSERT_EQ(p.devices.size(), 3u);
  EXPECT_EQ(p.devices[0].key, "id:d3");
  EXPECT_EQ(p.devices[2].key, "id:d1");
  EXPECT_EQ(p.countries, (std::vector<std::string>{"JP", "US"}));
}

TEST(ProfileUpdate, ASeenDeviceMovesToTheFrontWithItsNewSightingAndItsFirstTime) {
  ProfileConfig limits;
  store::AccountProfile p;
  auto login = [&](const std::string& id, const std::string& ua, TimePoint t,
                   const std::string& country) {
    Event e;
    e.time = t;
    e.device_id = id;
    e.user_agent = ua;
    Location where;
    where.country = country;
    learn_login(p, "id:" + id, e, where, limits);
  };
  login("a", "UA-1", kT0, "JP");
  login("b", "UA-2", kT0 + minutes(1), "KR");
  login("c", "UA-3", kT0 + minutes(2), "US");
  login("a", "UA-1b", kT0 + minutes(3), "JP");
  ASSERT_EQ(p.devices.size(), 3u);
  EXPECT_EQ(p.devices[0].key, "id:a");
  EXPECT_EQ(p.devices[1].key, "id:c");
  EXPECT_EQ(p.devices[2].key, "id:b");
  EXPECT_EQ(p.devices[0].first_seen, kT0);
  EXPECT_EQ(p.devices[0].last_seen, kT0 + minutes(3));
  EXPECT_EQ(p.devices[0].user_agent, "UA-1b");
  EXPECT_EQ(p.countries, (std::vector<std::string>{"JP", "US", "KR"}));
  // A sighting without a user agent keeps the one known.
  login("c", "", kT0 + minutes(4), "US");
  EXPECT_EQ(p.devices[0].key, "id:c");
  EXPECT_EQ(p.devices[0].user_agent, "UA-3");
  EXPECT_EQ(p.devices[0].first_seen, kT0 + minutes(2));
  EXPECT_EQ(p.countries, (std::vector<std::string>{"US", "JP", "KR"}));
}

TEST(ProfileUpdate, ASecondSuccessReplacesTheLastSuccessInPlace) {
  store::AccountProfile p;
  Event e;
  e.time = kT0;
  e.ip = *IpAddress::parse("192.0.2.1");
  Location tokyo;
  tokyo.country = "JP";
  tokyo.city = "Tokyo Metropolis, Chiyoda";
  tokyo.latitude = 35.685;
  tokyo.has_coordinates = true;
  record_success(p, e, tokyo);
  e.time = kT0 + minutes(5);
  e.ip = *IpAddress::parse("2001:db8::1");
  Location nowhere;  // no place known for this IP
  record_success(p, e, nowhere);
  ASSERT_TRUE(p.last_success.has_value());
  EXPECT_EQ(p.last_success->time, kT0 + minutes(5));
  EXPECT_EQ(p.last_success->ip, *IpAddress::parse("2001:db8::1"));
  EXPECT_EQ(p.last_success->country, "");
  EXPECT_EQ(p.last_success->city, "");
  EXPECT_FALSE(p.last_success->has_coordinates);
  EXPECT_EQ(p.last_success->latitude, 0);
}

}  // namespace
}  // namespace mamori::engine::testing
