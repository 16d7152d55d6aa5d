#include "core/event.h"

#include <gtest/gtest.h>

#include <cstdint>
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

TEST(NormalizeAccount, LowerCasesAscii) {
  EXPECT_EQ(normalized("Alice@Example.COM"), "alice@example.com");
  EXPECT_EQ(normalized("ALICE"), normalized("alice "));
  EXPECT_EQ(normalized("Z@[]^_`{"), "z@[]^_`{");
}

// The variants an application that normalizes names (NFKC, case-insensitive
// collation) takes for "alice" are "alice" here too. (Plain string literals
// with \u are UTF-8 here.)
TEST(NormalizeAccount, UnicodeVariantsOfOneNameAreOneAccount) {
  EXPECT_EQ(normalized("\uff41\uff4c\uff49\uff43\uff45"), "alice");  // fullwidth ａｌｉｃｅ
  EXPECT_EQ(normalized("\uff21\uff2c\uff29\uff23\uff25"), "alice");  // fullwidth ＡＬＩＣＥ
  EXPECT_EQ(normalized("ali\u200bce"), "alice");                     // zero-width space inside
  EXPECT_EQ(normalized("\u200balice\u200b"), "alice");               // ... and around
  EXPECT_EQ(normalized("\u00a0alice"), "alice");                     // no-break space before
  EXPECT_EQ(normalized("alice\u00a0"), "alice");                     // ... and after
  EXPECT_EQ(normalized("\u3000alice\u3000"), "alice");               // ideographic space
  EXPECT_EQ(normalized("ALICE"), "alice");
  // Ignorable and white space mixed at the ends are all trimmed.
  EXPECT_EQ(normalized(" \u200b\u00a0\ufeffalice\u00ad\u3000\t"), "alice");
  // Soft hyphen, zero-width joiner and non-joiner inside are removed.
  EXPECT_EQ(normalized("al\u00adi\u200dc\u200ce"), "alice");
}

TEST(NormalizeAccount, InnerSpacesOfAnyWidthBecomeOneAsciiSpace) {
  EXPECT_EQ(normalized("John\u00a0Smith"), "john smith");  // NBSP
  EXPECT_EQ(normalized("John\u3000Smith"), "john smith");  // ideographic space
  EXPECT_EQ(normalized("John\u2003Smith"), "john smith");  // em space
  EXPECT_EQ(normalized("John\u202fSmith"), "john smith");  // narrow NBSP
}

TEST(NormalizeAccount, ComposedAndDecomposedAreOneName) {
  const std::string composed = normalized("Jos\u00e9");     // é
  const std::string decomposed = normalized("Jose\u0301");  // e + combining acute
  EXPECT_EQ(composed, "jos\u00e9");                         // the composed form (NFC)
  EXPECT_EQ(decomposed, composed);
  EXPECT_EQ(normalized("JOS\u00c9"), composed);   // É
  EXPECT_EQ(normalized("JOSE\u0301"), composed);  // E + combining acute
  // Hangul jamo compose into the syllable 한.
  EXPECT_EQ(normalized("\u1112\u1161\u11ab"), "\ud55c");
  // Marks in either order are one name (canonical ordering).
  EXPECT_EQ(normalized("a\u0307\u0323"), normalized("a\u0323\u0307"));
}

TEST(NormalizeAccount, FullCaseFoldingNotTurkic) {
  // Dotless ı has no case folding: it stays ı, not i.
  EXPECT_EQ(normalized("\u0131stanbul"), "\u0131stanbul");
  // I folds to i (the default folding, not Turkish's ı).
  EXPECT_EQ(normalized("ISTANBUL"), "istanbul");
  // Capital I with dot above folds to i + combining dot above.
  EXPECT_EQ(normalized("\u0130stanbul"), "i\u0307stanbul");
  // German ß and capital ẞ fold to "ss": Straße is strasse.
  EXPECT_EQ(normalized("Stra\u00dfe"), "strasse");
  EXPECT_EQ(normalized("STRA\u1e9eE"), "strasse");
  EXPECT_EQ(normalized("STRASSE"), "strasse");
  // Other scripts: Greek final sigma folds to σ, Cyrillic and Latin-1
  // capitals to lower case.
  EXPECT_EQ(normalized("\u03a3\u03bf\u03c2"), "\u03c3\u03bf\u03c3");              // Σος
  EXPECT_EQ(normalized("\u041f\u0435\u0442\u044f"), "\u043f\u0435\u0442\u044f");  // Петя
  EXPECT_EQ(normalized("\u00c4LICE"), "\u00e4lice");                              // ÄLICE
}

TEST(NormalizeAccount, CompatibilityCharactersBecomeTheirPlainForm) {
  EXPECT_EQ(normalized("\u212aelvin"), "kelvin");   // Kelvin sign
  EXPECT_EQ(normalized("\ufb01nance"), "finance");  // ligature ﬁ
  EXPECT_EQ(normalized("\u2160I"), "ii");           // Roman numeral one
  EXPECT_EQ(normalized("\u2460"), "1");             // circled digit one
  // Halfwidth katakana become fullwidth, with the voicing mark composed:
  // ｶﾞ is ガ.
  EXPECT_EQ(normalized("\uff76\uff9e"), "\u30ac");
  // Japanese and Chinese names are kept.
  EXPECT_EQ(normalized("\u5b88\u308a"), "\u5b88\u308a");  // 守り
}

std::string utf8(std::uint32_t cp) {
  if (cp < 0x80) return std::string(1, char(cp));
  if (cp < 0x800) return {char(0xc0 | (cp >> 6)), char(0x80 | (cp & 0x3f))};
  if (cp < 0x10000)
    return {char(0xe0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 0x3f)), char(0x80 | (cp & 0x3f))};
  return {char(0xf0 | (cp >> 18)), char(0x80 | ((cp >> 12) & 0x3f)),
          char(0x80 | ((cp >> 6) & 0x3f)), char(0x80 | (cp & 0x3f))};
}

TEST(NormalizeAccount, IsIdempotentForEveryCodePoint) {
  // Each code point alone and between letters: normalizing twice changes
  // nothing (so stored names, list targets read back at start, and names
  // copied from an answer are the same account).
  std::size_t accepted = 0;
  for (std::uint32_t cp = 0x80; cp <= 0x10ffff; ++cp) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const std::string ch = utf8(cp);
    for (const std::string& raw : {ch, "A" + ch + "b"}) {
      auto once = normalize_account(raw);
      if (!once) {  // controls, separators, an ignorable alone
        EXPECT_EQ(once.error().code, "invalid_account") << std::hex << cp;
        continue;
      }
      ++accepted;
      auto twice = normalize_account(*once);
      ASSERT_TRUE(twice.ok()) << std::hex << cp << ": " << twice.error().message;
      ASSERT_EQ(*twice, *once) << std::hex << cp;
    }
  }
  EXPECT_GT(accepted, 2'000'000u);
}

TEST(NormalizeAccount, OnlySpacesAndIgnorablesIsEmpty) {
  expect_invalid("\u200b");              // zero-width space
  expect_invalid("\u00a0\u3000");        // NBSP, ideographic space
  expect_invalid(" \ufeff\u00ad ");      // BOM, soft hyphen
  expect_invalid("\u200b \u200b");       // a space between two zero-width spaces
  expect_invalid("\u00a0\u200b\u00a0");  // and the other way round
}

TEST(NormalizeAccount, UnicodeControlsAndSeparatorsAreInvalid) {
  expect_invalid(
      "a\xC2\x85"
      "b");  // NEL (C1) inside
  expect_invalid(
      "a\xC2\x9B"
      "b");                      // CSI (C1)
  expect_invalid("a\u2028b");    // line separator
  expect_invalid("a\u2029b");    // paragraph separator
  expect_invalid("\u00e9\x01");  // é then a C0 control
  // At the ends, NEL and the separators are white space: trimmed.
  EXPECT_EQ(normalized("\xC2\x85"
                       "alice\u2028"),
            "alice");
}

TEST(NormalizeAccount, EmptyIsInvalid) {
  expect_invalid("");
  expect_invalid("   ");
  expect_invalid("\t\n");
}

// Longer than kMaxAccountBytes: rejected with the API's code for an
// over-long field.
void expect_too_long(std::string_view raw) {
  auto r = normalize_account(raw);
  EXPECT_FALSE(r.ok()) << raw.size() << " bytes accepted";
  if (!r.ok()) {
    EXPECT_EQ(r.error().code, "field_too_long") << r.error().message;
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

TEST(NormalizeAccount, TheLimitAppliesToTheTrimmedInputAndToTheResult) {
  // Unicode spaces and ignorables around the name do not count...
  std::string padded;
  for (int i = 0; i < 100; ++i) padded += "\u00a0\u200b";  // 500 bytes
  EXPECT_EQ(normalized(padded + std::string(256, 'a') + padded), std::string(256, 'a'));
  // ...but what is between them does, before normalization: 255 bytes of
  // 'a' and two zero-width spaces are 261 bytes in.
  expect_too_long(std::string(128, 'a') + "\u200b\u200b" + std::string(127, 'a'));
  // A fullwidth name of 85 letters (255 bytes in) is 85 bytes out.
  std::string wide;
  for (int i = 0; i < 85; ++i) wide += "\uff41";
  EXPECT_EQ(normalized(wide), std::string(85, 'a'));
  // NFKC expands: U+FDFA (3 bytes) is 18 code points, 33 bytes. 85 of them
  // (255 bytes in) would be 2,805 bytes out; 7 are 231.
  std::string expands;
  for (int i = 0; i < 85; ++i) expands += "\ufdfa";
  expect_too_long(expands);
  EXPECT_EQ(normalized(expands.substr(0, 21)).size(), 231u);
  // Case folding expands: ß is ss, ŉ (2 bytes) is ʼn (3 bytes).
  std::string eszett;
  for (int i = 0; i < 128; ++i) eszett += "\u00df";
  EXPECT_EQ(normalized(eszett), std::string(256, 's'));  // 256 in, 256 out
  std::string napostrophe;
  for (int i = 0; i < 128; ++i) napostrophe += "\u0149";
  expect_too_long(napostrophe);                                    // 256 in, 384 out
  EXPECT_EQ(normalized(napostrophe.substr(0, 170)).size(), 255u);  // 170 in, 255 out
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
