#include <gtest/gtest.h>

#include "notify/dispatcher.h"
#include "notify/webhook_channel.h"
#include "notify/webhook_sender.h"

namespace mamori::notify {
namespace {

TEST(WebhookSignature, MatchesAnIndependentHmacSha256) {
  // Computed with OpenSSL, not with this code:
  //   printf '%s' '1700000000.{"type":"decision","action":"deny"}' |
  //     openssl dgst -sha256 -hmac 'whsec-test-0123456789'
  EXPECT_EQ(webhook_signature("whsec-test-0123456789", 1700000000,
                              R"({"type":"decision","action":"deny"})"),
            "sha256=eb225e7e78fb0315677089a3bb4b1b2a1f6da70ee2ad2c90c1ba7d1fd4a18052");
}

TEST(WebhookSignature, ChangesWithBodyTimestampAndSecret) {
  const std::string base = webhook_signature("secret-secret-secret", 1700000000, "{}");
  EXPECT_NE(base, webhook_signature("secret-secret-secret", 1700000000, "{ }"));
  EXPECT_NE(base, webhook_signature("secret-secret-secret", 1700000001, "{}"));
  EXPECT_NE(base, webhook_signature("secret-secret-secreT", 1700000000, "{}"));
  EXPECT_EQ(base.size(), 7u + 64u);
}

TEST(WebhookSender, RedactedUrlDropsPathAndQuery) {
  EXPECT_EQ(redacted_url("https://hooks.example.com/services/T000/B000/XXXX"),
            "https://hooks.example.com/…");
  EXPECT_EQ(redacted_url("http://127.0.0.1:9000?token=abc"), "http://127.0.0.1:9000/…");
  EXPECT_EQ(redacted_url("https://hooks.example.com"), "https://hooks.example.com");
}

TEST(WebhookChannel, UnconfiguredUrlFailsPermanently) {
  NotifyConfig c;
  c.webhooks.push_back({"http://127.0.0.1:9/hook", "0123456789abcdef"});
  WebhookChannel channel(c);
  store::OutboxItem item;
  item.id = "w1";
  item.channel = store::OutboxChannel::kWebhook;
  item.destination = "http://127.0.0.1:9/other";
  item.payload = "{}";
  const Status s = channel.deliver(item, from_unix_ms(0));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "unknown_webhook");
  EXPECT_TRUE(is_permanent_error(s.error()));
}

TEST(WebhookChannel, ReceiverDownIsATransientErrorWithCurlsReason) {
  NotifyConfig c;
  // Port 9 (discard) on loopback: nothing listens there in the test machine.
  c.webhooks.push_back({"http://127.0.0.1:9/hook", "0123456789abcdef"});
  WebhookChannel channel(c, std::chrono::seconds(5));
  store::OutboxItem item;
  item.id = "w1";
  item.channel = store::OutboxChannel::kWebhook;
  item.destination = "http://127.0.0.1:9/hook";
  item.payload = "{}";
  const Status s = channel.deliver(item, from_unix_ms(0));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "webhook_failed");
  EXPECT_EQ(s.error().message.rfind("http://127.0.0.1:9/…: ", 0), 0u) << s.error().message;
  EXPECT_EQ(s.error().message.find("/hook"), std::string::npos) << "the path may be a secret";
  EXPECT_FALSE(is_permanent_error(s.error()));
}

}  // namespace
}  // namespace mamori::notify
