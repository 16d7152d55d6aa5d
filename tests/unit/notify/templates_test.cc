#include "notify/templates.h"

#include <gtest/gtest.h>

#include "notify/time_zone.h"

namespace mamori::notify {
namespace {

TimePoint t(std::string_view rfc3339) { return *parse_rfc3339(rfc3339); }

NoticeFacts new_login(std::string lang, std::string zone) {
  NoticeFacts f;
  f.kind = engine::NoticeKind::kNewLogin;
  f.account = "alice";
  f.event_id = "0123456789ab00000001";
  f.time = t("2026-11-23T15:00:00Z");
  f.ip = "203.0.113.5";
  f.country = "JP";
  f.city = "Tokyo";
  f.user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0";
  f.new_device = true;
  f.lang = std::move(lang);
  f.time_zone = std::move(zone);
  return f;
}

NoticeFacts locked(std::string lang) {
  NoticeFacts f;
  f.kind = engine::NoticeKind::kAccountLocked;
  f.account = "alice";
  f.time = t("2026-11-23T15:00:00Z");
  f.reasons = {"account_locked"};
  f.note = "support ticket 42";
  f.password_reset_required = true;
  f.lang = std::move(lang);
  f.time_zone = f.lang == "ja" ? "Asia/Tokyo" : "UTC";
  return f;
}

const TemplateOptions kOptions{"Example Shop", "https://shop.example/help/security"};

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(TimeZone, FindsIanaZonesAndRejectsUnknownNames) {
  EXPECT_TRUE(find_time_zone("Asia/Tokyo").ok());
  EXPECT_TRUE(find_time_zone("Europe/Berlin").ok());
  EXPECT_TRUE(find_time_zone("UTC").ok());
  for (const char* bad : {"", "Mars/Olympus", "asia/tokyo ", "../../etc/passwd", "JST+9"}) {
    auto z = find_time_zone(bad);
    ASSERT_FALSE(z.ok()) << bad;
    EXPECT_EQ(z.error().code, "invalid_time_zone");
  }
  EXPECT_EQ(default_time_zone("ja"), "Asia/Tokyo");
  EXPECT_EQ(default_time_zone("en"), "UTC");
}

TEST(TimeZone, ConvertsToLocalTimeAcrossTheDateLine) {
  const LocalTime l = to_local(t("2026-11-23T15:00:00Z"), *find_time_zone("Asia/Tokyo"));
  EXPECT_EQ(l.year, 2026);
  EXPECT_EQ(l.month, 11);
  EXPECT_EQ(l.day, 24);
  EXPECT_EQ(l.hour, 0);
  EXPECT_EQ(l.minute, 0);
  EXPECT_EQ(l.weekday, 2);  // Tuesday
  EXPECT_EQ(l.abbreviation, "JST");
}

TEST(TimeZone, FollowsDaylightSavingTime) {
  const auto* ny = *find_time_zone("America/New_York");
  const LocalTime summer = to_local(t("2026-07-01T16:30:00Z"), ny);
  EXPECT_EQ(summer.hour, 12);
  EXPECT_EQ(summer.abbreviation, "EDT");
  const LocalTime winter = to_local(t("2026-11-23T15:00:00Z"), ny);
  EXPECT_EQ(winter.hour, 10);
  EXPECT_EQ(winter.abbreviation, "EST");
}

TEST(Templates, NoticeTimeInBothLanguages) {
  EXPECT_EQ(format_notice_time(t("2026-11-23T15:00:00Z"), "Asia/Tokyo", "ja"),
            "2026年11月24日（火）00:00 JST");
  EXPECT_EQ(format_notice_time(t("2026-11-23T15:00:00Z"), "UTC", "en"),
            "Monday, 23 November 2026, 15:00 UTC");
  EXPECT_EQ(format_notice_time(t("2026-11-23T15:00:00Z"), "Asia/Tokyo", "en"),
            "Tuesday, 24 November 2026, 00:00 JST");
  // A zone the database does not know falls back to UTC rather than failing.
  EXPECT_EQ(format_notice_time(t("2026-11-23T15:00:00Z"), "Nowhere/Else", "en"),
            "Monday, 23 November 2026, 15:00 UTC");
}

TEST(Templates, NewLoginJapanese) {
  const RenderedNotice n = render_notice(new_login("ja", "Asia/Tokyo"), kOptions);
  EXPECT_EQ(n.subject, "【Example Shop】新しい環境からのログインがありました");
  EXPECT_TRUE(n.body.starts_with("alice 様\n")) << n.body;
  EXPECT_TRUE(has(n.body, "これまでにご利用のない端末からのログインがありました。")) << n.body;
  EXPECT_TRUE(has(n.body, "・日時：2026年11月24日（火）00:00 JST\n")) << n.body;
  EXPECT_TRUE(has(n.body, "・IPアドレス：203.0.113.5\n"));
  EXPECT_TRUE(has(n.body, "・場所（推定）：Tokyo, JP\n"));
  EXPECT_TRUE(
      has(n.body, "・ブラウザ／アプリ：Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0\n"));
  EXPECT_TRUE(has(n.body, "パスワードを変更してください"));
  EXPECT_TRUE(has(n.body, "2段階認証"));
  EXPECT_TRUE(has(n.body, "https://shop.example/help/security\n"));
  EXPECT_TRUE(n.body.ends_with("Example Shop\n"));
}

TEST(Templates, NewLoginEnglish) {
  const RenderedNotice n = render_notice(new_login("en", "UTC"), kOptions);
  EXPECT_EQ(n.subject, "New login to your Example Shop account");
  EXPECT_TRUE(n.body.starts_with("Hello alice,\n")) << n.body;
  EXPECT_TRUE(has(n.body, "from a device we have not seen before")) << n.body;
  EXPECT_TRUE(has(n.body, "When:    Monday, 23 November 2026, 15:00 UTC\n")) << n.body;
  EXPECT_TRUE(has(n.body, "IP:      203.0.113.5\n"));
  EXPECT_TRUE(has(n.body, "Where:   Tokyo, JP (approximate)\n"));
  EXPECT_TRUE(has(n.body, "Device:  Mozilla/5.0"));
  EXPECT_TRUE(has(n.body, "Change your password now"));
  EXPECT_TRUE(has(n.body, "two-step login"));
  EXPECT_TRUE(has(n.body, "How to do both: https://shop.example/help/security\n"));
}

TEST(Templates, UnknownPlaceAndDeviceSaySo) {
  NoticeFacts f = new_login("ja", "Asia/Tokyo");
  f.country.clear();
  f.city.clear();
  f.user_agent.clear();
  f.new_device = false;
  f.new_location = true;
  RenderedNotice n = render_notice(f, kOptions);
  EXPECT_TRUE(has(n.body, "・場所（推定）：不明\n")) << n.body;
  EXPECT_TRUE(has(n.body, "・ブラウザ／アプリ：不明\n"));
  EXPECT_TRUE(has(n.body, "これまでにご利用のない場所からのログイン"));
  f.lang = "en";
  f.protocol = "imap";
  n = render_notice(f, kOptions);
  EXPECT_TRUE(has(n.body, "Where:   unknown\n")) << n.body;
  EXPECT_TRUE(has(n.body, "Device:  IMAP\n"));
  EXPECT_TRUE(has(n.body, "from a place we have not seen before"));
}

TEST(Templates, AccountLockedJapanese) {
  const RenderedNotice n = render_notice(locked("ja"), kOptions);
  EXPECT_EQ(n.subject, "【Example Shop】アカウントをロックしました");
  EXPECT_TRUE(has(n.body, "・日時：2026年11月24日（火）00:00 JST\n")) << n.body;
  EXPECT_TRUE(
      has(n.body, "・理由：サポート担当者が、お客様のアカウントを保護するためにロックしました\n"));
  EXPECT_TRUE(has(n.body, "・担当者からの連絡事項：support ticket 42\n"));
  EXPECT_TRUE(has(n.body, "ロックを解除するには、パスワードの再設定が必要です。"));
  EXPECT_TRUE(has(n.body, "https://shop.example/help/security\n"));
  EXPECT_FALSE(has(n.body, "きっかけとなった接続"));  // no IP for an operator's lock
}

TEST(Templates, AccountLockedEnglishWithCauseAndNoReset) {
  NoticeFacts f = locked("en");
  f.reasons = {"risky_change"};
  f.note.clear();
  f.password_reset_required = false;
  f.ip = "198.51.100.7";
  f.country = "DE";
  const RenderedNotice n = render_notice(f, kOptions);
  EXPECT_EQ(n.subject, "Your Example Shop account has been locked");
  EXPECT_TRUE(has(n.body, "When:    Monday, 23 November 2026, 15:00 UTC\n")) << n.body;
  EXPECT_TRUE(has(n.body,
                  "Why:     important settings (e-mail address, password or two-step "
                  "login) were changed soon after a suspicious login\n"));
  EXPECT_TRUE(has(n.body, "Seen from: IP 198.51.100.7 (DE)\n"));
  EXPECT_FALSE(has(n.body, "Note:"));
  EXPECT_FALSE(has(n.body, "reset your password to unlock"));
  EXPECT_TRUE(has(
      n.body, "To have it unlocked, follow the steps here:\nhttps://shop.example/help/security\n"));
}

TEST(Templates, WithoutHelpUrlPointToSupport) {
  const TemplateOptions no_link{"Example Shop", ""};
  EXPECT_TRUE(has(render_notice(locked("ja"), no_link).body, "Example Shopのサポート窓口"));
  EXPECT_TRUE(has(render_notice(locked("en"), no_link).body, "contact Example Shop support"));
  EXPECT_FALSE(has(render_notice(new_login("en", "UTC"), no_link).body, "http"));
}

TEST(Templates, UnknownReasonFallsBackToItsWord) {
  EXPECT_EQ(reason_in_words("something_new", "en"), "a security check (something_new)");
  EXPECT_EQ(reason_in_words("something_new", "ja"), "セキュリティ上の理由（something_new）");
  EXPECT_EQ(reason_in_words("brute_force", "ja"), "パスワードの誤入力が繰り返されました");
}

}  // namespace
}  // namespace mamori::notify
