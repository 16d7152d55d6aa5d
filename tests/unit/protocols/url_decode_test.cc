#include "protocols/http/url_decode.h"

#include <string>

#include "gtest/gtest.h"

namespace mamori::http {
namespace {

TEST(DecodePathSegment, PlusIsLiteral) {
  auto r = decode_path_segment("bob+shop@x.jp");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "bob+shop@x.jp");
}

TEST(DecodePathSegment, PercentEscapesAreDecoded) {
  auto r = decode_path_segment("bob%2Bshop%40x.jp");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "bob+shop@x.jp");
  auto space = decode_path_segment("Hanako%20Kurosawa");
  ASSERT_TRUE(space);
  EXPECT_EQ(*space, "Hanako Kurosawa");
  auto lower = decode_path_segment("%e3%81%82");  // U+3042 in UTF-8, lower-case hex
  ASSERT_TRUE(lower);
  EXPECT_EQ(*lower, "\xE3\x81\x82");
}

TEST(DecodePathSegment, EncodedSlashStaysInsideTheSegment) {
  auto r = decode_path_segment("a%2Fb");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "a/b");
}

TEST(DecodePathSegment, EncodedPercentIsDecodedOnce) {
  auto r = decode_path_segment("100%2525");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "100%25");
}

TEST(DecodePathSegment, EmptyAndPlainSegmentsAreThemselves) {
  EXPECT_EQ(*decode_path_segment(""), "");
  EXPECT_EQ(*decode_path_segment("alice"), "alice");
}

TEST(DecodePathSegment, BadEscapesFailWithInvalidPath) {
  for (const char* bad : {"%", "%4", "a%", "a%4", "%G1", "%1G", "%-1", "%+1", "% 1", "ab%zz"}) {
    auto r = decode_path_segment(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "invalid_path") << bad;
    EXPECT_NE(r.error().message.find("percent escape"), std::string::npos) << r.error().message;
  }
}

TEST(DecodePathSegment, MessageQuotesTheBadEscape) {
  auto r = decode_path_segment("bob%ZZshop");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("\"%ZZ\""), std::string::npos) << r.error().message;
}

TEST(DecodeQueryValue, PlusIsASpace) {
  auto r = decode_query_value("bob+shop@x.jp");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "bob shop@x.jp");
}

TEST(DecodeQueryValue, EncodedPlusIsAPlus) {
  auto r = decode_query_value("bob%2Bshop%40x.jp");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "bob+shop@x.jp");
  auto t = decode_query_value("2024-03-01T10%3A00%3A00%2B09%3A00");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, "2024-03-01T10:00:00+09:00");
}

TEST(DecodeQueryValue, AmpersandAndEqualsInsideAValue) {
  auto r = decode_query_value("a%26b%3Dc");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "a&b=c");
}

TEST(DecodeQueryValue, BadEscapesFailWithInvalidQuery) {
  for (const char* bad : {"%", "%4", "x%zz", "%%41"}) {
    auto r = decode_query_value(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "invalid_query") << bad;
  }
}

}  // namespace
}  // namespace mamori::http
