#include "state/observation.h"

#include <gtest/gtest.h>

#include "core/event.h"

namespace mamori::state {
namespace {

Observation failure() {
  Observation o;
  o.kind = ObservationKind::kFailure;
  o.time = from_unix_ms(1'795'435'200'123);
  o.ip = *IpAddress::parse("203.0.113.7");
  o.account = "alice@example.jp";
  o.pwhash = "5baa61e4c9b93f3f0682250b6cf8331b";
  o.asn = 64500;
  o.fingerprint = "agent:curl";
  return o;
}

void expect_same(const Observation& a, const Observation& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.ip, b.ip);
  EXPECT_EQ(a.account, b.account);
  EXPECT_EQ(a.pwhash, b.pwhash);
  EXPECT_EQ(a.asn, b.asn);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.country, b.country);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.recipients, b.recipients);
}

TEST(Observation, RoundTripsABatchOfEveryKind) {
  Observation f = failure();
  Observation s = failure();
  s.kind = ObservationKind::kSuccess;
  s.ip = *IpAddress::parse("2001:db8::1");
  Observation m;
  m.kind = ObservationKind::kMailSent;
  m.time = from_unix_ms(1'795'435'201'000);
  m.ip = *IpAddress::parse("198.51.100.1");
  m.account = "bob";
  m.count = 250;
  Observation g = m;
  g.kind = ObservationKind::kMailLogin;
  g.country = "JP";
  Observation msg = m;
  msg.kind = ObservationKind::kMessage;
  msg.recipients = {"friend-1", "friend-2", "", "friend-4"};
  msg.count = 4;
  std::string data;
  for (const Observation* o : {&f, &s, &m, &g, &msg}) append_observation(data, *o);
  auto back = decode_observations(data);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), 5u);
  expect_same((*back)[0], f);
  expect_same((*back)[1], s);
  expect_same((*back)[2], m);
  expect_same((*back)[3], g);
  expect_same((*back)[4], msg);
}

TEST(Observation, RoundTripsAProfileChangeAndRefusesTheKindAfterIt) {
  Observation p;
  p.kind = ObservationKind::kProfile;
  p.time = from_unix_ms(1'795'435'202'000);
  p.account = "carol@example.jp";
  std::string data;
  append_observation(data, p);
  auto back = decode_observations(data);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), 1u);
  expect_same((*back)[0], p);
  data[0] = char(std::uint8_t(ObservationKind::kProfile) + 1);
  EXPECT_FALSE(decode_observations(data));
}

TEST(Observation, RefusesAMessageWithMoreRecipientsThanAnEventMayHave) {
  Observation msg = failure();
  msg.kind = ObservationKind::kMessage;
  msg.recipients.assign(kMaxRecipients + 1, "r");
  std::string data;
  append_observation(data, msg);
  auto back = decode_observations(data);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code, "invalid_observation");
  msg.recipients.pop_back();
  data.clear();
  append_observation(data, msg);
  auto ok = decode_observations(data);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)[0].recipients.size(), kMaxRecipients);
}

TEST(Observation, SizeIsThirtyBytesAndTheStrings) {
  Observation o = failure();
  std::string data;
  append_observation(data, o);
  EXPECT_EQ(data.size(), 30 + o.account.size() + o.pwhash.size() + o.fingerprint.size());
}

TEST(Observation, EmptyInputIsAnEmptyBatch) {
  auto back = decode_observations("");
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->empty());
}

TEST(Observation, RefusesATruncatedBatchWhole) {
  std::string data;
  append_observation(data, failure());
  append_observation(data, failure());
  for (std::size_t cut = 1; cut < data.size() / 2; ++cut) {
    auto back = decode_observations(std::string_view(data).substr(0, data.size() - cut));
    ASSERT_FALSE(back) << cut;
    EXPECT_EQ(back.error().code, "invalid_observation");
  }
}

TEST(Observation, RefusesUnknownKindFamilyAndOversizedStrings) {
  std::string data;
  append_observation(data, failure());
  std::string bad_kind = data;
  bad_kind[0] = char(9);
  EXPECT_FALSE(decode_observations(bad_kind));
  std::string bad_family = data;
  bad_family[9] = char(5);
  EXPECT_FALSE(decode_observations(bad_family));
  Observation big = failure();
  big.account.assign(300, 'a');  // over kMaxAccountBytes
  std::string too_long;
  append_observation(too_long, big);
  EXPECT_FALSE(decode_observations(too_long));
  Observation nobody = failure();
  nobody.account.clear();
  std::string empty_account;
  append_observation(empty_account, nobody);
  EXPECT_FALSE(decode_observations(empty_account));
}

}  // namespace
}  // namespace mamori::state
