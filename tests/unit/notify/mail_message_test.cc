#include "notify/mail_message.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <sstream>
#include <vector>

namespace mamori::notify {
namespace {

std::string unbase64(std::string_view b64) {
  std::string out(b64.size(), '\0');
  std::size_t n = 0;
  EXPECT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(),
                              b64.size(), nullptr, &n, nullptr, sodium_base64_VARIANT_ORIGINAL),
            0);
  out.resize(n);
  return out;
}

// Decodes a header value made of "=?UTF-8?B?...?=" words folded with CRLF SP.
std::string decode_words(std::string_view v) {
  std::string out;
  std::size_t i = 0;
  while ((i = v.find("=?UTF-8?B?", i)) != std::string_view::npos) {
    const std::size_t end = v.find("?=", i + 10);
    out += unbase64(v.substr(i + 10, end - i - 10));
    i = end + 2;
  }
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t e = text.find("\r\n", i);
    EXPECT_NE(e, std::string::npos) << "a line does not end in CRLF";
    if (e == std::string::npos) break;
    out.push_back(text.substr(i, e - i));
    i = e + 2;
  }
  return out;
}

MailMessage japanese() {
  MailMessage m;
  m.from = "サンプルショップ <noreply@shop.example>";
  m.to = "alice@example.jp";
  m.subject = "【mamori】アカウントをロックしました";
  m.body = "alice 様\n\nお客様のアカウントをロックしました。\n";
  m.message_id = "0123456789ab00000001";
  m.date = *parse_rfc3339("2026-11-23T15:00:00Z");
  m.extra_headers = {{"Auto-Submitted", "auto-generated"}};
  return m;
}

TEST(MailMessage, Base64AndDate) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  // base64 -w0 <<< of the UTF-8 subject (python3: base64.b64encode(s.encode())).
  EXPECT_EQ(base64("【mamori】アカウントをロックしました"),
            "44CQbWFtb3Jp44CR44Ki44Kr44Km44Oz44OI44KS44Ot44OD44Kv44GX44G+44GX44Gf");
  EXPECT_EQ(rfc5322_date(*parse_rfc3339("2026-11-23T15:00:00Z")),
            "Mon, 23 Nov 2026 15:00:00 +0000");
  EXPECT_EQ(rfc5322_date(*parse_rfc3339("2024-02-29T09:05:07.999Z")),
            "Thu, 29 Feb 2024 09:05:07 +0000");
}

TEST(MailMessage, AsciiHeaderTextStaysPlain) {
  EXPECT_EQ(encode_header_text("Your account has been locked"), "Your account has been locked");
}

TEST(MailMessage, JapaneseHeaderIsEncodedWordsWithinLineLimits) {
  const std::string subject =
      "【Example Shop】新しい環境からのログインがありました。ご確認ください";
  const std::string enc = encode_header_text(subject);
  EXPECT_TRUE(enc.starts_with("=?UTF-8?B?")) << enc;
  EXPECT_EQ(decode_words(enc), subject);
  std::istringstream in(enc);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    EXPECT_LE(line.size() + 9, 78u) << line;  // with "Subject: " in front
  }
  // Every word holds whole UTF-8 characters: each decodes on its own.
  std::size_t i = 0, words = 0;
  while ((i = enc.find("=?UTF-8?B?", i)) != std::string::npos) {
    const std::size_t end = enc.find("?=", i + 10);
    const std::string part = unbase64(std::string_view(enc).substr(i + 10, end - i - 10));
    EXPECT_TRUE(part.empty() || (static_cast<unsigned char>(part[0]) & 0xC0) != 0x80);
    i = end + 2;
    ++words;
  }
  EXPECT_GE(words, 2u);
}

TEST(MailMessage, EncodesAProperMessage) {
  auto msg = encode_message(japanese());
  ASSERT_TRUE(msg.ok()) << msg.error().message;
  const std::string& text = *msg;
  const auto blank = text.find("\r\n\r\n");
  ASSERT_NE(blank, std::string::npos);
  const std::vector<std::string> head = lines(text.substr(0, blank + 2));
  const std::vector<std::string> body = lines(text.substr(blank + 4));

  std::string subject_value, from_value;
  bool in_subject = false;
  std::vector<std::string> names;
  for (const std::string& h : head) {
    ASSERT_LE(h.size(), 78u) << h;
    if (h.starts_with(" ")) {
      if (in_subject) subject_value += h.substr(1);
      continue;
    }
    in_subject = h.starts_with("Subject: ");
    names.push_back(h.substr(0, h.find(':')));
    if (in_subject) subject_value = h.substr(9);
    if (h.starts_with("From: ")) from_value = h.substr(6);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"From", "To", "Subject", "Date", "Message-ID",
                                             "MIME-Version", "Content-Type",
                                             "Content-Transfer-Encoding", "Auto-Submitted"}));
  EXPECT_EQ(decode_words(subject_value), "【mamori】アカウントをロックしました");
  EXPECT_TRUE(from_value.ends_with(" <noreply@shop.example>")) << from_value;
  EXPECT_EQ(decode_words(from_value), "サンプルショップ");
  EXPECT_NE(text.find("\r\nTo: alice@example.jp\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nDate: Mon, 23 Nov 2026 15:00:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nMessage-ID: <0123456789ab00000001@shop.example>\r\n"),
            std::string::npos);
  EXPECT_NE(text.find("\r\nMIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nContent-Type: text/plain; charset=UTF-8\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nContent-Transfer-Encoding: base64\r\n"), std::string::npos);

  std::string b64;
  for (const std::string& l : body) {
    EXPECT_LE(l.size(), 76u);
    b64 += l;
  }
  EXPECT_EQ(unbase64(b64), "alice 様\r\n\r\nお客様のアカウントをロックしました。\r\n");
}

TEST(MailMessage, AsciiDisplayNameIsQuoted) {
  MailMessage m = japanese();
  m.from = "Example \"Shop\" <noreply@shop.example>";
  auto msg = encode_message(m);
  ASSERT_TRUE(msg.ok());
  EXPECT_TRUE(msg->starts_with("From: \"Example \\\"Shop\\\"\" <noreply@shop.example>\r\n"))
      << *msg;
  m.from = "noreply@shop.example";
  EXPECT_TRUE(encode_message(m)->starts_with("From: noreply@shop.example\r\n"));
}

TEST(MailMessage, RejectsHeaderInjectionAndMalformedAddresses) {
  for (const char* to : {"alice@example.jp\r\nBcc: all@example.jp", "no-at-sign", "a b@example.jp",
                         "@example.jp", "alice@", "", "たろう@example.jp"}) {
    MailMessage m = japanese();
    m.to = to;
    auto msg = encode_message(m);
    ASSERT_FALSE(msg.ok()) << to;
    EXPECT_EQ(msg.error().code, "invalid_address");
  }
  MailMessage m = japanese();
  m.subject = "hello\r\nBcc: all@example.jp";
  EXPECT_FALSE(encode_message(m).ok());
  m = japanese();
  m.from = "Shop <noreply@shop.example";
  EXPECT_FALSE(encode_message(m).ok());
  EXPECT_EQ(*mail_address(" Shop <noreply@shop.example> "), "noreply@shop.example");
}

}  // namespace
}  // namespace mamori::notify
