#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace mamori {
namespace {

TEST(JsonWriter, WritesNestedValuesWithCommasInPlace) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .field("a", std::int64_t(-3))
      .field("b", true)
      .key("c")
      .begin_array()
      .value("x")
      .null()
      .value(std::uint64_t(18446744073709551615u))
      .end_array()
      .field("d", "")
      .end_object();
  EXPECT_EQ(out, R"({"a":-3,"b":true,"c":["x",null,18446744073709551615],"d":""})");
}

TEST(JsonWriter, DoublesReadBackExactlyAndNonFiniteOnesAreNull) {
  std::string out;
  JsonWriter w(out);
  w.begin_array()
      .value(43.8801)
      .value(-122.41941550000001)
      .value(0.1)
      .value(std::numeric_limits<double>::infinity())
      .value(std::numeric_limits<double>::quiet_NaN())
      .end_array();
  EXPECT_EQ(out, "[43.8801,-122.41941550000001,0.1,null,null]");
}

TEST(JsonWriter, EscapesQuotesControlCharactersAndReplacesInvalidUtf8) {
  std::string out;
  JsonWriter(out).value("a\"b\\c\nd\x01 \xe3\x81\x82 \xff end");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\u0001 \xe3\x81\x82 \xef\xbf\xbd end\"");
}

// Sequences that look like UTF-8 but are not (overlong forms, surrogates, code
// points past U+10FFFF, a truncated one) are replaced byte by byte: copied,
// they made the whole answer unreadable to a JSON parser.
TEST(JsonWriter, ReplacesOverlongFormsSurrogatesAndCodePointsPastTheLast) {
  const std::string r = "\xef\xbf\xbd";
  auto written = [](std::string_view s) {
    std::string out;
    JsonWriter(out).value(s);
    return out;
  };
  EXPECT_EQ(written("\xc1\x9c"), "\"" + r + r + "\"");                  // overlong '\\'
  EXPECT_EQ(written("\xc0\xaf"), "\"" + r + r + "\"");                  // overlong '/'
  EXPECT_EQ(written("\xe0\x80\xaf"), "\"" + r + r + r + "\"");          // overlong '/'
  EXPECT_EQ(written("\xed\xa0\x80"), "\"" + r + r + r + "\"");          // U+D800
  EXPECT_EQ(written("\xf4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // U+110000
  EXPECT_EQ(written("\xe3\x81"), "\"" + r + r + "\"");                  // cut short
  // The first and last of each length stay.
  for (std::string_view ok :
       {"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xef\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"})
    EXPECT_EQ(written(ok), "\"" + std::string(ok) + "\"");
}

// Plain runs are copied whole: the escapes at either end of a string, an
// empty string and one with nothing to escape come out right too.
TEST(JsonWriter, StringsThatStartOrEndWithAnEscapeOrHaveNone) {
  auto json = [](std::string_view s) {
    std::string out;
    JsonWriter(out).value(s);
    return out;
  };
  EXPECT_EQ(json(""), "\"\"");
  EXPECT_EQ(json("Mozilla/5.0 (X11; Linux x86_64) ~\x7f"),
            "\"Mozilla/5.0 (X11; Linux x86_64) ~\x7f\"");
  EXPECT_EQ(json("\"quoted\""), "\"\\\"quoted\\\"\"");
  EXPECT_EQ(json("\t\x1f"), "\"\\t\\u001f\"");
  EXPECT_EQ(json("\xc3\xa9t\xc3\xa9"), "\"\xc3\xa9t\xc3\xa9\"");
}

}  // namespace
}  // namespace mamori
