#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "server/config.h"
#include "testing/config_parsing.h"
#include "testing/temp_dir.h"

namespace mamori::server {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

using mamori::testing::parse_error;
using mamori::testing::parse_ok;

TEST(NotifyConfig, DefaultsSendNothing) {
  const Config c = parse_ok("");
  EXPECT_FALSE(c.notify.smtp.enabled());
  EXPECT_TRUE(c.notify.webhooks.empty());
  EXPECT_EQ(c.notify.service_name, "mamori");
  EXPECT_EQ(c.notify.retry_initial, seconds(5));
  EXPECT_EQ(c.notify.retry_max, minutes(15));
  EXPECT_EQ(c.notify.give_up_after, hours(72));
}

TEST(NotifyConfig, ReadsEveryKey) {
  const Config c = parse_ok(R"(
[notify]
service_name = "Example Shop"
help_url = "https://shop.example/help/security"
retry_initial = "2s"
retry_max = "10m"
give_up_after = "1d"

[smtp]
host = "mail.example"
port = 587
starttls = "require"
username = "mamori"
password = "relay-password"
from = "Example Shop <noreply@shop.example>"
timeout_ms = 5000

[[webhooks]]
url = "https://hooks.example/mamori"
secret = "0123456789abcdef0123"

[[webhooks]]
url = "http://127.0.0.1:9000/alerts"
secret = "another-secret-of-enough-length"
)");
  EXPECT_EQ(c.notify.service_name, "Example Shop");
  EXPECT_EQ(c.notify.help_url, "https://shop.example/help/security");
  EXPECT_EQ(c.notify.retry_initial, seconds(2));
  EXPECT_EQ(c.notify.retry_max, minutes(10));
  EXPECT_EQ(c.notify.give_up_after, hours(24));
  EXPECT_TRUE(c.notify.smtp.enabled());
  EXPECT_EQ(c.notify.smtp.host, "mail.example");
  EXPECT_EQ(c.notify.smtp.port, 587);
  EXPECT_EQ(c.notify.smtp.starttls, notify::StartTls::kRequire);
  EXPECT_EQ(c.notify.smtp.username, "mamori");
  EXPECT_EQ(c.notify.smtp.password, "relay-password");
  EXPECT_EQ(c.notify.smtp.from, "Example Shop <noreply@shop.example>");
  EXPECT_EQ(c.notify.smtp.timeout, std::chrono::milliseconds(5000));
  ASSERT_EQ(c.notify.webhooks.size(), 2u);
  EXPECT_EQ(c.notify.webhooks[1].url, "http://127.0.0.1:9000/alerts");
  EXPECT_EQ(c.notify.webhooks[1].secret, "another-secret-of-enough-length");
}

TEST(NotifyConfig, SecretsFromFilesRelativeToTheConfig) {
  mamori::testing::TempDir tmp;
  std::ofstream(tmp.path() + "/smtp.pw") << "file-password\n";
  std::ofstream(tmp.path() + "/hook.secret") << "0123456789abcdef-from-file\n";
  const Config c = parse_ok(R"(
[smtp]
host = "127.0.0.1"
from = "noreply@shop.example"
username = "u"
password_file = "smtp.pw"
[[webhooks]]
url = "https://hooks.example/x"
secret_file = "hook.secret"
)",
                            tmp.path() + "/mamori.toml");
  EXPECT_EQ(c.notify.smtp.password, "file-password");
  EXPECT_EQ(c.notify.webhooks[0].secret, "0123456789abcdef-from-file");
}

TEST(NotifyConfig, BadValuesNameFileLineAndKey) {
  EXPECT_EQ(parse_error("[smtp]\nhost = \"x\"\nfrom = \"a@b.example\"\nstarttls = \"maybe\"\n"),
            "test.toml:4: smtp.starttls must be \"off\", \"try\" or \"require\"");
  EXPECT_EQ(parse_error("[smtp]\nport = 25\n"), "test.toml:1: smtp.host is required in [smtp]");
  EXPECT_EQ(parse_error("[smtp]\nhost = \"x\"\n"),
            "test.toml:1: smtp.from is required: the notices' sender address");
  EXPECT_EQ(parse_error("[smtp]\nhost = \"x\"\nfrom = \"not an address\"\n"),
            "test.toml:3: smtp.from must be an address or \"Name <address>\"");
  EXPECT_EQ(parse_error("[smtp]\nhost = \"x\"\nfrom = \"a@b.example\"\nusername = \"u\"\n"),
            "test.toml:4: smtp.password (or password_file) is required with username");
  EXPECT_EQ(parse_error("[smtp]\nhost = \"x\"\nfrom = \"a@b.example\"\nport = 0\n"),
            "test.toml:4: smtp.port must be between 1 and 65535");
  EXPECT_EQ(parse_error("[smtp]\nhost = \"x\"\nfrom = \"a@b.example\"\npasword = \"typo\"\n"),
            "test.toml:4: smtp.pasword is not a known setting");
  EXPECT_EQ(parse_error("[notify]\nhelp_url = \"shop.example/help\"\n"),
            "test.toml:2: notify.help_url must be an http:// or https:// URL");
  EXPECT_EQ(parse_error("[notify]\nretry_initial = \"1h\"\nretry_max = \"1m\"\n"),
            "test.toml:3: notify.retry_max must not be below retry_initial");
  EXPECT_EQ(parse_error("[[webhooks]]\nurl = \"https://h.example/a\"\n"),
            "test.toml:1: webhooks[0].secret (or secret_file) is required");
  EXPECT_EQ(parse_error("[[webhooks]]\nurl = \"https://h.example/a\"\nsecret = \"short\"\n"),
            "test.toml:3: webhooks[0].secret must be at least 16 characters");
  EXPECT_EQ(
      parse_error("[[webhooks]]\nurl = \"ftp://h.example/a\"\nsecret = \"0123456789abcdef\"\n"),
      "test.toml:2: webhooks[0].url must be an http:// or https:// URL");
  EXPECT_EQ(
      parse_error("[[webhooks]]\nurl = \"https://h.example/a\"\nsecret = \"0123456789abcdef\"\n"
                  "[[webhooks]]\nurl = \"https://h.example/a\"\nsecret = \"0123456789abcdef\"\n"),
      "test.toml:5: webhooks[1].url is configured twice");
  EXPECT_EQ(
      parse_error("[[webhooks]]\nurl = \"https://h.example/a\"\nsecret = \"0123456789abcdef\"\n"
                  "secret_file = \"/x\"\n"),
      "test.toml:4: webhooks[0].secret_file cannot be given together with secret");
  const std::string missing = parse_error(
      "[[webhooks]]\nurl = \"https://h.example/a\"\nsecret_file = \"/nonexistent/secret\"\n");
  EXPECT_EQ(missing,
            "test.toml:3: webhooks[0].secret_file cannot read /nonexistent/secret: No such file or "
            "directory");
}

}  // namespace
}  // namespace mamori::server
