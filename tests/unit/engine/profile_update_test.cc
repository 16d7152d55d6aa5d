// merge_profiles: two nodes' copies of one profile, each written over the
// other's, keep what both learnt.
#include "engine/profile_update.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

store::KnownDevice device(const std::string& key, int first_minute, int last_minute,
                          const std::string& agent = "") {
  store::KnownDevice d;
  d.key = key;
  d.device_id = key.substr(3);
  d.user_agent = agent.empty() ? "UA of " + key : agent;
  d.first_seen = kT0 + std::chrono::minutes(first_minute);
  d.last_seen = kT0 + std::chrono::minutes(last_minute);
  return d;
}

store::LoginPlace place(int minute, const std::string& country) {
  store::LoginPlace l;
  l.time = kT0 + std::chrono::minutes(minute);
  l.ip = ip("192.0.2.1");
  l.country = country;
  return l;
}

std::vector<std::string> keys(const store::AccountProfile& p) {
  std::vector<std::string> out;
  for (const store::KnownDevice& d : p.devices) out.push_back(d.key);
  return out;
}

TEST(MergeProfiles, KeepsEveryDeviceBothNodesLearntMostRecentlySeenFirst) {
  // Both read a profile with the phone; node A learnt the laptop (stored),
  // node B the tablet (mine) and saw the phone again later.
  store::AccountProfile stored, mine;
  stored.devices = {device("id:laptop", 10, 10), device("id:phone", 0, 5)};
  mine.devices = {device("id:phone", 0, 20, "Phone/2.0"), device("id:tablet", 15, 15)};
  mine.version = 42;
  const store::AccountProfile m = merge_profiles(stored, mine, ProfileConfig{});
  EXPECT_EQ(keys(m), (std::vector<std::string>{"id:phone", "id:tablet", "id:laptop"}));
  // One sighting of the phone: its first time the earliest, its last the
  // latest, with that sighting's user agent.
  EXPECT_EQ(m.devices[0].first_seen, kT0);
  EXPECT_EQ(m.devices[0].last_seen, kT0 + std::chrono::minutes(20));
  EXPECT_EQ(m.devices[0].user_agent, "Phone/2.0");
  EXPECT_EQ(m.version, 42u);
  // The other way round, the same devices.
  const store::AccountProfile r = merge_profiles(mine, stored, ProfileConfig{});
  EXPECT_EQ(keys(r), keys(m));
  EXPECT_EQ(r.devices[0].user_agent, "Phone/2.0");
}

TEST(MergeProfiles, ALaterSightingInTheStoredCopyWins) {
  store::AccountProfile stored, mine;
  stored.devices = {device("id:phone", 3, 30, "Phone/3.0")};
  mine.devices = {device("id:phone", 1, 10, "Phone/1.0")};
  const store::AccountProfile m = merge_profiles(stored, mine, ProfileConfig{});
  ASSERT_EQ(m.devices.size(), 1u);
  EXPECT_EQ(m.devices[0].first_seen, kT0 + std::chrono::minutes(1));
  EXPECT_EQ(m.devices[0].last_seen, kT0 + std::chrono::minutes(30));
  EXPECT_EQ(m.devices[0].user_agent, "Phone/3.0");
}

TEST(MergeProfiles, CountriesAndAsnsAreUnionsLedByTheCopyWithTheLaterLogin) {
  store::AccountProfile stored, mine;
  stored.countries = {"US", "JP"};
  stored.asns = {64501, 64500};
  stored.last_success = place(30, "US");
  mine.countries = {"KR", "JP"};
  mine.asns = {64502, 64500};
  mine.last_success = place(10, "KR");
  const store::AccountProfile m = merge_profiles(stored, mine, ProfileConfig{});
  EXPECT_EQ(m.countries, (std::vector<std::string>{"US", "JP", "KR"}));
  EXPECT_EQ(m.asns, (std::vector<std::uint32_t>{64501, 64500, 64502}));
  ASSERT_TRUE(m.last_success);
  EXPECT_EQ(m.last_success->country, "US");  // the later login
  EXPECT_EQ(m.last_success->time, kT0 + std::chrono::minutes(30));
}

TEST(MergeProfiles, StaysWithinTheLimitsDroppingTheLeastRecentlySeen) {
  ProfileConfig limits;
  limits.max_devices = 3;
  limits.max_countries = 2;
  store::AccountProfile stored, mine;
  stored.devices = {device("id:a", 0, 4), device("id:b", 0, 2)};
  mine.devices = {device("id:c", 0, 3), device("id:d", 0, 1)};
  stored.countries = {"US"};
  mine.countries = {"JP", "KR"};
  mine.last_success = place(5, "JP");
  const store::AccountProfile m = merge_profiles(stored, mine, limits);
  EXPECT_EQ(keys(m), (std::vector<std::string>{"id:a", "id:c", "id:b"}));
  EXPECT_EQ(m.countries, (std::vector<std::string>{"JP", "KR"}));
}

TEST(MergeProfiles, APendingSuspiciousLoginOfEitherCopyStaysTheLaterOne) {
  store::AccountProfile stored, mine;
  mine.devices = {device("id:phone", 0, 0)};
  stored.devices = mine.devices;
  stored.suspicious_since = kT0 + std::chrono::minutes(7);
  stored.suspicious_reasons = "new_device,new_location";
  stored.pending_device = device("id:intruder", 7, 7);
  stored.pending_country = "CN";
  stored.pending_asn = 64999;
  store::AccountProfile m = merge_profiles(stored, mine, ProfileConfig{});
  ASSERT_TRUE(m.suspicious_since);
  EXPECT_EQ(*m.suspicious_since, kT0 + std::chrono::minutes(7));
  EXPECT_EQ(m.pending_device.key, "id:intruder");
  EXPECT_EQ(m.pending_country, "CN");
  EXPECT_EQ(m.pending_asn, 64999u);
  EXPECT_EQ(m.suspicious_reasons, "new_device,new_location");
  EXPECT_EQ(keys(m), (std::vector<std::string>{"id:phone"}));  // not learnt
  // Both have one: the later.
  mine.suspicious_since = kT0 + std::chrono::minutes(9);
  mine.pending_device = device("id:other", 9, 9);
  m = merge_profiles(stored, mine, ProfileConfig{});
  EXPECT_EQ(m.pending_device.key, "id:other");
  // Neither: none.
  EXPECT_FALSE(merge_profiles(store::AccountProfile{}, store::AccountProfile{}, ProfileConfig{})
                   .suspicious_since);
}

}  // namespace
}  // namespace mamori::engine::testing
