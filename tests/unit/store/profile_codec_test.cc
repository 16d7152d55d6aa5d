#include "store/profile_codec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace mamori::store {
namespace {

TimePoint at(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

KnownDevice device(std::string key, std::string ua, std::int64_t first, std::int64_t last) {
  KnownDevice d;
  d.key = std::move(key);
  d.device_id = "dev-1";
  d.user_agent = std::move(ua);
  d.first_seen = at(first);
  d.last_seen = at(last);
  return d;
}

void expect_same_device(const KnownDevice& a, const KnownDevice& b) {
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.device_id, b.device_id);
  EXPECT_EQ(a.user_agent, b.user_agent);
  EXPECT_EQ(a.first_seen, b.first_seen);
  EXPECT_EQ(a.last_seen, b.last_seen);
}

TEST(ProfileCodec, EveryFieldReadsBackAsWritten) {
  AccountProfile p;
  // A user agent with quotes, a backslash, a control character and Japanese.
  p.devices.push_back(device("ua:chrome/windows",
                             "Mozilla/5.0 \"test\" \\ \t \xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
                             1'700'000'000'000, 1'700'000'500'000));
  p.devices.push_back(device("id:abc", "curl/8.0", 1'600'000'000'000, 1'650'000'000'000));
  p.countries = {"JP", "US"};
  p.asns = {2516, 4294967295u};
  LoginPlace l;
  l.time = at(1'700'000'600'000);
  l.ip = *IpAddress::parse("2001:db8::7");
  l.country = "JP";
  l.city = "Chiyoda";
  l.latitude = 35.6940027;
  l.longitude = -139.7535951;
  l.has_coordinates = true;
  p.last_success = l;
  p.suspicious_since = at(1'700'000'700'000);
  p.suspicious_reasons = "new_device,new_location";
  p.pending_device = device("ua:firefox/linux", "Firefox", 1, 2);
  p.pending_country = "CN";
  p.pending_asn = 4134;

  auto back = decode_profile(encode_profile(p));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->devices.size(), 2u);
  expect_same_device(back->devices[0], p.devices[0]);
  expect_same_device(back->devices[1], p.devices[1]);
  EXPECT_EQ(back->countries, p.countries);
  EXPECT_EQ(back->asns, p.asns);
  ASSERT_TRUE(back->last_success.has_value());
  EXPECT_EQ(back->last_success->time, l.time);
  EXPECT_EQ(back->last_success->ip, l.ip);
  EXPECT_EQ(back->last_success->country, "JP");
  EXPECT_EQ(back->last_success->city, "Chiyoda");
  EXPECT_TRUE(back->last_success->has_coordinates);
  EXPECT_EQ(back->last_success->latitude, l.latitude);  // exactly
  EXPECT_EQ(back->last_success->longitude, l.longitude);
  EXPECT_EQ(back->suspicious_since, p.suspicious_since);
  EXPECT_EQ(back->suspicious_reasons, p.suspicious_reasons);
  expect_same_device(back->pending_device, p.pending_device);
  EXPECT_EQ(back->pending_country, "CN");
  EXPECT_EQ(back->pending_asn, 4134u);
}

TEST(ProfileCodec, EmptyProfileAndPlaceWithoutCoordinatesReadBack) {
  AccountProfile empty;
  auto e = decode_profile(encode_profile(empty));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
  EXPECT_FALSE(e->suspicious_since.has_value());

  AccountProfile p;
  LoginPlace l;
  l.time = at(5);
  l.ip = *IpAddress::parse("192.0.2.1");
  p.last_success = l;
  auto back = decode_profile(encode_profile(p));
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->last_success.has_value());
  EXPECT_FALSE(back->last_success->has_coordinates);
  EXPECT_EQ(back->last_success->ip, l.ip);
}

TEST(ProfileCodec, DamagedTextIsAnInvalidProfileError) {
  for (const char* bad : {"", "{", "[]", R"({"d":5})", R"({"ls":{"ip":"not an ip"}})"}) {
    auto r = decode_profile(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid_profile") << bad;
  }
}

}  // namespace
}  // namespace mamori::store
