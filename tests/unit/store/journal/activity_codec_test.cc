#include "store/journal/activity_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "store/journal/frame.h"

namespace mamori::store::journal {
namespace {

IpAddress ip(std::string_view text) {
  auto r = IpAddress::parse(text);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : IpAddress();
}

ActivityRecord full_record() {
  ActivityRecord r;
  r.event_id = "ev-0123456789abcdef";
  r.time = from_unix_ms(1'800'000'123'456);
  r.account = "alice@example.com";
  r.type = EventType::kLoginResult;
  r.ip = ip("2001:db8::1:2:3");
  r.country = "JP";
  r.city = "Tokyo";
  r.user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
  r.device_id = "device-42";
  r.protocol = "imap";
  r.success = false;
  r.action = Action::kDeny;
  r.reasons = {"brute_force", "ip_failures"};
  return r;
}

void expect_same(const ActivityRecord& a, const ActivityRecord& b) {
  EXPECT_EQ(a.event_id, b.event_id);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.account, b.account);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.ip, b.ip);
  EXPECT_EQ(a.ip.is_v4(), b.ip.is_v4());
  EXPECT_EQ(a.country, b.country);
  EXPECT_EQ(a.city, b.city);
  EXPECT_EQ(a.user_agent, b.user_agent);
  EXPECT_EQ(a.device_id, b.device_id);
  EXPECT_EQ(a.protocol, b.protocol);
  EXPECT_EQ(a.success, b.success);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.reasons, b.reasons);
  EXPECT_EQ(a.actor, b.actor);
  EXPECT_EQ(a.note, b.note);
}

// The payload of the one framed record in `framed`.
std::string_view payload_of(const std::string& framed) {
  std::string_view p;
  EXPECT_EQ(parse_frame(framed, p), FrameEnd::kClean);
  EXPECT_EQ(p.size() + kFrameHeaderBytes, framed.size());
  return p;
}

ActivityRecord round_trip(const ActivityRecord& r) {
  std::string framed;
  Status s = encode_activity(r, framed);
  EXPECT_TRUE(s.ok()) << s.error().message;
  auto back = decode_activity(payload_of(framed));
  EXPECT_TRUE(back.ok()) << back.error().message;
  // A decoded record encodes to the same bytes.
  std::string again;
  EXPECT_TRUE(encode_activity(back.ok() ? *back : ActivityRecord{}, again).ok());
  EXPECT_EQ(again, framed);
  return back.ok() ? *back : ActivityRecord{};
}

TEST(ActivityCodec, RoundTripsEveryField) {
  const ActivityRecord r = full_record();
  expect_same(round_trip(r), r);
}

TEST(ActivityCodec, RoundTripsIpv4Ipv6AndTheUnspecifiedAddress) {
  for (const char* text : {"203.0.113.77", "0.0.0.0", "255.255.255.255", "::", "::1",
                           "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1"}) {
    ActivityRecord r = full_record();
    r.ip = ip(text);
    const ActivityRecord back = round_trip(r);
    EXPECT_EQ(back.ip.to_string(), r.ip.to_string()) << text;
    EXPECT_EQ(back.ip.is_v4(), r.ip.is_v4()) << text;
  }
  ActivityRecord none = full_record();
  none.ip = IpAddress();
  EXPECT_EQ(round_trip(none).ip, IpAddress());
}

TEST(ActivityCodec, RoundTripsSuccessStatesTypesAndActions) {
  for (std::optional<bool> success :
       {std::optional<bool>(), std::optional<bool>(true), std::optional<bool>(false)}) {
    ActivityRecord r = full_record();
    r.success = success;
    EXPECT_EQ(round_trip(r).success, success);
  }
  for (int t = 0; t < kEventTypeCount; ++t) {
    ActivityRecord r = full_record();
    r.type = EventType(t);
    EXPECT_EQ(round_trip(r).type, EventType(t));
  }
  for (int a = 0; a < kActionCount; ++a) {
    ActivityRecord r = full_record();
    r.action = Action(a);
    EXPECT_EQ(round_trip(r).action, Action(a));
  }
}

TEST(ActivityCodec, AnOperatorActionCarriesItsActorAndNote) {
  ActivityRecord r = full_record();
  r.type = EventType::kOperatorAction;
  r.protocol = "token";
  r.reasons = {"account_unlock"};
  r.actor = "support-desk";
  r.note = "owner called, password changed";
  expect_same(round_trip(r), r);
}

TEST(ActivityCodec, OtherEntriesAreWrittenAsBeforeOperatorActionsExisted) {
  // An entry of another type has no actor or note: its bytes are those of
  // version 1 before the type was added, so older builds read it and this
  // one reads theirs.
  ActivityRecord r = full_record();
  std::string plain, with_extras;
  ASSERT_TRUE(encode_activity(r, plain).ok());
  r.actor = "ignored";
  r.note = "ignored";
  ASSERT_TRUE(encode_activity(r, with_extras).ok());
  EXPECT_EQ(plain, with_extras);
  auto back = decode_activity(payload_of(plain));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->actor.empty() && back->note.empty());
  // An operator action cut before its trailer is refused.
  ActivityRecord op = full_record();
  op.type = EventType::kOperatorAction;
  op.actor = "desk";
  std::string framed;
  ASSERT_TRUE(encode_activity(op, framed).ok());
  const std::string_view payload = payload_of(framed);
  EXPECT_FALSE(decode_activity(payload.substr(0, payload.size() - 2)).ok());
}

TEST(ActivityCodec, RoundTripsExtremeTimes) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1},
                          std::int64_t{-86'400'000LL * 365 * 100}, INT64_MAX, INT64_MIN}) {
    ActivityRecord r = full_record();
    r.time = from_unix_ms(ms);
    EXPECT_EQ(to_unix_ms(round_trip(r).time), ms);
  }
}

TEST(ActivityCodec, RoundTripsEmptyAndMaximalStrings) {
  ActivityRecord empty;
  expect_same(round_trip(empty), empty);

  ActivityRecord big = full_record();
  const std::string max(kMaxActivityFieldBytes, '\xff');
  big.account = big.event_id = big.country = big.city = big.user_agent = big.device_id =
      big.protocol = max;
  big.reasons = {max, "", std::string(1, '\0')};
  expect_same(round_trip(big), big);

  ActivityRecord reasons = full_record();
  reasons.reasons.assign(kMaxActivityReasons, "r");
  EXPECT_EQ(round_trip(reasons).reasons.size(), kMaxActivityReasons);
}

TEST(ActivityCodec, RefusesWhatItCannotEncodeAndAppendsNothing) {
  std::string out = "kept";
  ActivityRecord r = full_record();
  r.user_agent.assign(kMaxActivityFieldBytes + 1, 'u');
  Status s = encode_activity(r, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "invalid_activity");
  EXPECT_EQ(out, "kept");

  r = full_record();
  r.reasons.assign(kMaxActivityReasons + 1, "r");
  EXPECT_FALSE(encode_activity(r, out).ok());
  // Every field at its maximum and many long reasons: over the frame limit.
  r = full_record();
  r.reasons.assign(20, std::string(kMaxActivityFieldBytes, 'x'));
  EXPECT_FALSE(encode_activity(r, out).ok());
  EXPECT_EQ(out, "kept");
}

TEST(ActivityCodec, AppendsToWhatIsThere) {
  std::string out;
  ASSERT_TRUE(encode_activity(full_record(), out).ok());
  const std::size_t first = out.size();
  ActivityRecord second = full_record();
  second.account = "bob";
  ASSERT_TRUE(encode_activity(second, out).ok());
  FrameReader reader(out);
  std::string_view p;
  std::uint64_t offset = 0;
  ASSERT_TRUE(reader.next(p, offset));
  EXPECT_EQ(decode_activity(p)->account, "alice@example.com");
  ASSERT_TRUE(reader.next(p, offset));
  EXPECT_EQ(offset, first);
  EXPECT_EQ(decode_activity(p)->account, "bob");
}

TEST(ActivityCodec, HeadReadsTheLeadingFields) {
  const ActivityRecord r = full_record();
  std::string framed;
  ASSERT_TRUE(encode_activity(r, framed).ok());
  ActivityHead h;
  ASSERT_TRUE(decode_activity_head(payload_of(framed), h).ok());
  EXPECT_EQ(h.time, r.time);
  EXPECT_EQ(h.type, r.type);
  EXPECT_EQ(h.success, r.success);
  EXPECT_EQ(h.action, r.action);
  EXPECT_EQ(h.ip, r.ip);
  EXPECT_EQ(h.account, r.account);
}

// Every way a payload can be wrong is refused with a message, never read.
TEST(ActivityCodec, RejectsGarbage) {
  std::string framed;
  ASSERT_TRUE(encode_activity(full_record(), framed).ok());
  const std::string good(payload_of(framed));
  auto refused = [](std::string_view payload, std::string_view words) {
    auto r = decode_activity(payload);
    if (r.ok()) return ::testing::AssertionFailure() << "decoded";
    if (r.error().code != "invalid_activity")
      return ::testing::AssertionFailure() << "code " << r.error().code;
    if (r.error().message.find(words) == std::string::npos)
      return ::testing::AssertionFailure() << "message: " << r.error().message;
    return ::testing::AssertionSuccess();
  };
  // Every proper prefix is cut short.
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_TRUE(refused(good.substr(0, n), "cut short")) << n;
  EXPECT_TRUE(refused(good + "x", "after the record"));

  std::string bad = good;
  bad[0] = 2;
  EXPECT_TRUE(refused(bad, "version"));
  // The time is the varint at byte 1; type, flags, action follow it.
  std::size_t t = 1;
  while (std::uint8_t(good[t]) & 0x80) ++t;
  const std::size_t type = t + 1, flags = t + 2, action = t + 3, ip = t + 4;
  bad = good;
  bad[type] = char(kEventTypeCount);
  EXPECT_TRUE(refused(bad, "event type"));
  bad = good;
  bad[flags] = char(8);
  EXPECT_TRUE(refused(bad, "flags"));
  bad = good;
  bad[flags] = char(2);  // success true but not known
  EXPECT_TRUE(refused(bad, "success"));
  bad = good;
  bad[action] = char(kActionCount);
  EXPECT_TRUE(refused(bad, "action"));
  bad = good;
  bad[flags] = char(std::uint8_t(bad[flags]) ^ 4);  // says IPv4 of an IPv6 address
  EXPECT_TRUE(refused(bad, "family"));
  // The account's length: longer than what remains, and over the limit.
  const std::size_t account_len = ip + 16;
  bad = good;
  bad.replace(account_len, 1, std::string("\xff\xff\x03", 3));  // 65,535
  EXPECT_TRUE(refused(bad, "cut short"));
  bad = good;
  bad.replace(account_len, 1, std::string("\xff\xff\x7f", 3));
  EXPECT_TRUE(refused(bad, "longer than"));
  // An overlong varint (0x81 0x00 for 1) and a varint past 64 bits.
  bad = good;
  bad.replace(account_len, 1, std::string("\x91\x00", 2));
  EXPECT_TRUE(refused(bad, "overlong"));
  bad = good.substr(0, 1) + std::string(10, '\xff') + std::string(1, '\x01') + good.substr(t + 1);
  EXPECT_TRUE(refused(bad, "overflow"));
}

}  // namespace
}  // namespace mamori::store::journal
