#include "core/event.h"

#include <gtest/gtest.h>

#include <string>

namespace mamori {
namespace {

std::string normalized(std::string_view raw) {
  auto r = normalize_account(raw);
  if (!r) {
    ADD_FAILURE() << "'" << raw << "' rejected: " << r.error().message;
    return {};
  }
  return *r;
}

void expect_invalid(std::string_view raw) {
  auto r = normalize_account(raw);
  EXPECT_FALSE(r.ok()) << "'" << raw << "' accepted as '" << (r.ok() ? *r : "") << "'";
  if (!r.ok()) {
    EXPECT_EQ(r.error().code, "invalid_account");
  }
}

TEST(NormalizeAccount, TrimsAsciiWhitespace) {
  EXPECT_EQ(normalized("  alice  "), "alice");
  EXPECT_EQ(normalized("\t\r\n alice\f\v"), "alice");
  EXPECT_EQ(normalized("alice"), "alice");
}

TEST(NormalizeAccount, KeepsInnerSpaces) { EXPECT_EQ(normalized(" John Smith "), "john smith"); }

TEST(NormalizeAccount, LowerCasesAsciiOnly) {
  EXPECT_EQ(normalized("Alice@Example.COM"), "alice@example.com");
  EXPECT_EQ(normalized("ALICE"), normalized("alice "));
  // Non-ASCII letters are kept as they are (UTF-8 bytes untouched).
  EXPECT_EQ(normalized("\xC3\x84LICE"), "\xC3\x84lice");                          // "ÄLICE"
  EXPECT_EQ(normalized("\xE5\xAE\x88\xE3\x82\x8A"), "\xE5\xAE\x88\xE3\x82\x8A");  // 守り
  EXPECT_EQ(normalized("Z@[]^_`{"), "z@[]^_`{");
}

TEST(NormalizeAccount, EmptyIsInvalid) {
  expect_invalid("");
  expect_invalid("   ");
  expect_invalid("\t\n");
}

// Longer than kMaxAccountBytes: rejected. event.h names the code
// `field_too_long` (API.md's code for an over-long field); older builds said
// `invalid_account`.
void expect_too_long(std::string_view raw) {
  auto r = normalize_account(raw);
  EXPECT_FALSE(r.ok()) << raw.size() << " bytes accepted";
  if (!r.ok()) {
    EXPECT_TRUE(r.error().code == "field_too_long" || r.error().code == "invalid_account")
        << r.error().code;
  }
}

TEST(NormalizeAccount, AtMost256Bytes) {
  EXPECT_EQ(normalized(std::string(256, 'a')).size(), 256u);
  expect_too_long(std::string(257, 'a'));
  // Length counts after trimming.
  EXPECT_EQ(normalized("  " + std::string(256, 'B') + "  "), std::string(256, 'b'));
  // 256 bytes of multi-byte characters are fine, 257 bytes are not.
  std::string kana;
  for (int i = 0; i < 84; ++i) kana += "\xE3\x81\x82";  // あ, 252 bytes
  kana += "wxyz";                                       // 256 bytes
  ASSERT_EQ(kana.size(), 256u);
  EXPECT_EQ(normalized(kana), kana);
  expect_too_long(kana + "w");
}

TEST(NormalizeAccount, InvalidUtf8IsInvalid) {
  expect_invalid("\xFF");
  expect_invalid("alice\xFF");
  expect_invalid("\xC3");              // truncated 2-byte sequence
  expect_invalid("ab\xE3\x81");        // truncated 3-byte sequence
  expect_invalid("\xC0\xAF");          // overlong '/'
  expect_invalid("\xE0\x80\xAF");      // overlong
  expect_invalid("\xED\xA0\x80");      // UTF-16 surrogate
  expect_invalid("\xF4\x90\x80\x80");  // above U+10FFFF
  expect_invalid("\x80");              // lone continuation byte
  expect_invalid("\xC3\x28");          // bad continuation byte
}

TEST(NormalizeAccount, ControlCharactersAreInvalid) {
  expect_invalid(
      "a\x01"
      "b");
  expect_invalid("a\nb");
  expect_invalid("a\tb");
  expect_invalid(
      "a\x7f"
      "b");
  expect_invalid(std::string("a\0b", 3));
  expect_invalid("\x1b[31malice");
}

TEST(IsValidUtf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9"));          // é
  EXPECT_TRUE(is_valid_utf8("\xE5\xAE\x88"));      // 守
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x94\x92"));  // U+1F512
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x94"));
}

TEST(EventType, WireNamesRoundTrip) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    const auto t = static_cast<EventType>(i);
    EXPECT_EQ(event_type_from_string(to_string(t)), t);
  }
  EXPECT_EQ(to_string(EventType::kPasswordChanged), "password_changed");
  EXPECT_FALSE(event_type_from_string("password-changed").has_value());
}

TEST(EventType, AccountEventsExcludeLogins) {
  EXPECT_FALSE(account_event_type_from_string("login_attempt").has_value());
  EXPECT_FALSE(account_event_type_from_string("login_result").has_value());
  EXPECT_EQ(account_event_type_from_string("mail_sent"), EventType::kMailSent);
}

}  // namespace
}  // namespace mamori
