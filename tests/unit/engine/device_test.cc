#include "engine/device.h"

#include <gtest/gtest.h>

namespace mamori::engine {
namespace {

constexpr const char* kChrome120Windows =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36";
constexpr const char* kSafariIphone =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
constexpr const char* kThunderbirdLinux =
    "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0";

TEST(DeviceForOwner, BrowserVersionAndDeviceInPlainWords) {
  EXPECT_EQ(describe_device_for_owner(kChrome120Windows, "web", "en"), "Chrome 120 on Windows");
  EXPECT_EQ(describe_device_for_owner(kChrome120Windows, "web", "ja"), "Windows の Chrome 120");
  EXPECT_EQ(describe_device_for_owner(kSafariIphone, "", "en"), "Safari 17 on iPhone");
  EXPECT_EQ(describe_device_for_owner(kSafariIphone, "", "ja"), "iPhone の Safari 17");
}

TEST(DeviceForOwner, MailProtocolsNameTheMailApp) {
  EXPECT_EQ(describe_device_for_owner("", "imap", "ja"), "メールソフト（IMAP）");
  EXPECT_EQ(describe_device_for_owner("", "pop3", "en"), "a mail app (POP3)");
  EXPECT_EQ(describe_device_for_owner("", "smtp", "en"), "a mail app (SMTP)");
  EXPECT_EQ(describe_device_for_owner(kThunderbirdLinux, "imap", "en"),
            "Thunderbird 115 on Linux (IMAP)");
  EXPECT_TRUE(is_mail_protocol("pop3"));
  EXPECT_FALSE(is_mail_protocol("web"));
}

TEST(DeviceForOwner, UnknownUserAgentsSayNothing) {
  // The caller says "unknown" and shows the raw user agent in a detail line.
  EXPECT_EQ(describe_device_for_owner("MailClient/2.1", "web", "en"), "");
  EXPECT_EQ(describe_device_for_owner("", "web", "ja"), "");
  EXPECT_EQ(describe_device_for_owner("curl/8.0", "api", "en"), "");
}

}  // namespace
}  // namespace mamori::engine
