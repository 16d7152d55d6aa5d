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
  // The browser and system in plain words; the raw user agent in a detail line only.
  EXPECT_TRUE(has(n.body, "・ブラウザ／端末：Windows の Firefox 133\n")) << n.body;
  EXPECT_TRUE(has(n.body,
                  "（詳細）ユーザーエージェント：Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                  "Firefox/133.0\n"));
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
  EXPECT_TRUE(has(n.body, "Device:  Firefox 133 on Windows\n")) << n.body;
  EXPECT_TRUE(has(n.body, "Details for support: user agent Mozilla/5.0 (Windows NT 10.0"));
  EXPECT_TRUE(has(n.body, "Change your password now"));
  EXPECT_TRUE(has(n.body, "two-step login"));
  EXPECT_TRUE(has(n.body, "How to do this: https://shop.example/help/security\n"));
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
  EXPECT_TRUE(has(n.body, "・ブラウザ／端末：不明\n"));
  EXPECT_FALSE(has(n.body, "（詳細）"));
  EXPECT_TRUE(has(n.body, "これまでにご利用のない場所からのログイン"));
  f.lang = "en";
  f.protocol = "imap";
  n = render_notice(f, kOptions);
  EXPECT_TRUE(has(n.body, "Where:   unknown\n")) << n.body;
  EXPECT_TRUE(has(n.body, "Device:  a mail app (IMAP)\n"));
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

TEST(Templates, MailLoginsAdviseTheMailPasswordAndClientNotTwoStepLogin) {
  for (const char* protocol : {"imap", "pop3", "smtp"}) {
    NoticeFacts f = new_login("ja", "Asia/Tokyo");
    f.protocol = protocol;
    f.user_agent.clear();
    RenderedNotice n = render_notice(f, kOptions);
    std::string upper(protocol);
    for (char& c : upper)
      if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
    EXPECT_TRUE(has(n.body, "・メールソフト／端末：メールソフト（" + upper + "）\n")) << n.body;
    EXPECT_TRUE(has(n.body, "メールのパスワードを変更してください")) << n.body;
    EXPECT_TRUE(has(n.body, "メールソフト（パソコン・スマートフォン）の設定")) << n.body;
    EXPECT_FALSE(has(n.body, "2段階認証")) << n.body;
    f.lang = "en";
    n = render_notice(f, kOptions);
    EXPECT_TRUE(has(n.body, "Device:  a mail app (" + upper + ")\n")) << n.body;
    EXPECT_TRUE(has(n.body, "Change your mail password now")) << n.body;
    EXPECT_TRUE(has(n.body, "mail app's settings")) << n.body;
    EXPECT_FALSE(has(n.body, "two-step")) << n.body;
  }
  // A web login keeps the two-step advice.
  EXPECT_TRUE(has(render_notice(new_login("en", "UTC"), kOptions).body, "two-step login"));
}

TEST(Templates, PlaceNamesInTheOwnersLanguage) {
  NoticeFacts f = new_login("ja", "Asia/Tokyo");
  f.country = "GB";
  f.city = "London";
  f.place_country = "イギリス";
  f.place_city = "ロンドン";
  EXPECT_TRUE(has(render_notice(f, kOptions).body, "・場所（推定）：イギリス ロンドン\n"));
  EXPECT_EQ(place_in_words(f, "ja"), "イギリス ロンドン");
  // Without names in the language: the English city and the country code.
  f.place_country.clear();
  f.place_city.clear();
  EXPECT_EQ(place_in_words(f, "ja"), "London, GB");
  f.lang = "en";
  f.place_country = "United Kingdom";
  f.place_city = "London";
  EXPECT_TRUE(
      has(render_notice(f, kOptions).body, "Where:   London, United Kingdom (approximate)\n"));
}

TEST(Templates, NewLoginCarriesTheOwnersLinks) {
  NoticeFacts f = new_login("ja", "Asia/Tokyo");
  f.not_me_url = "https://login.example/mamori/owner/not-me?t=AAA";
  f.activity_url = "https://login.example/mamori/owner/activity?t=BBB";
  RenderedNotice n = render_notice(f, kOptions);
  EXPECT_TRUE(has(n.body, "ご本人によるログインでない場合は、次のページからお知らせください。"))
      << n.body;
  EXPECT_TRUE(has(n.body, "\nhttps://login.example/mamori/owner/not-me?t=AAA\n"));
  EXPECT_TRUE(has(n.body, "\nhttps://login.example/mamori/owner/activity?t=BBB\n"));
  f.lang = "en";
  n = render_notice(f, kOptions);
  EXPECT_TRUE(has(n.body, "If this was not you, tell us here")) << n.body;
  EXPECT_TRUE(has(n.body, "Your recent logins and changes:\nhttps://login.example/mamori/owner/"));
  // Without [owner_pages]: no link lines.
  n = render_notice(new_login("en", "UTC"), kOptions);
  EXPECT_FALSE(has(n.body, "tell us here"));
  EXPECT_FALSE(has(n.body, "recent logins"));
}

NoticeFacts compromised(std::string lang) {
  NoticeFacts f;
  f.kind = engine::NoticeKind::kCompromised;
  f.account = "alice";
  f.time = t("2026-11-23T15:00:00Z");
  f.ip = "203.0.113.94";
  f.country = "GB";
  f.city = "London";
  f.reasons = {"credential_stuffing"};
  f.password_reset_required = true;
  f.locked = true;
  f.incident_id = "inc-1";
  f.lang = std::move(lang);
  f.time_zone = f.lang == "ja" ? "Asia/Tokyo" : "UTC";
  return f;
}

TEST(Templates, CompromisedSaysPlainlyWhatHappenedWhatWasDoneAndWhatToDo) {
  RenderedNotice n = render_notice(compromised("en"), kOptions);
  EXPECT_EQ(n.subject, "Important: your Example Shop password was used by someone else");
  EXPECT_TRUE(has(n.body, "Your password was used from an address that attacked many accounts"))
      << n.body;
  EXPECT_TRUE(has(n.body, "From IP: 203.0.113.94\n"));
  EXPECT_TRUE(has(n.body,
                  "We locked your account to protect it. Nobody can log in to it until "
                  "you reset the password."));
  EXPECT_TRUE(has(n.body, "If you use the same password anywhere else, change it there too."));
  EXPECT_TRUE(has(n.body, "Details for support: incident inc-1\n"));
  n = render_notice(compromised("ja"), kOptions);
  EXPECT_EQ(n.subject, "【Example Shop】【重要】お客様のパスワードが不正に使われました");
  EXPECT_TRUE(has(n.body,
                  "多数のアカウントへの不正ログインを試みていた接続元から、お客様の"
                  "アカウントに、お客様のパスワードでログインされたことを確認しました。"))
      << n.body;
  EXPECT_TRUE(has(n.body, "・日時：2026年11月24日（火）00:00 JST\n"));
  EXPECT_TRUE(has(n.body, "アカウントをロックしました。"));
  EXPECT_TRUE(has(n.body, "パスワードを再設定していただくまで"));
  // Not locked (the incident kind does not require a reset): says so.
  NoticeFacts f = compromised("en");
  f.locked = false;
  f.password_reset_required = false;
  EXPECT_TRUE(has(render_notice(f, kOptions).body, "We have not locked your account."));
}

TEST(Templates, TargetedIsSofterAndSaysTheAccountWasNotUsed) {
  NoticeFacts f = compromised("en");
  f.kind = engine::NoticeKind::kTargeted;
  f.locked = false;
  RenderedNotice n = render_notice(f, kOptions);
  EXPECT_EQ(n.subject, "Someone tried to log in to your Example Shop account");
  EXPECT_TRUE(has(n.body, "Every try failed: your account was not used.")) << n.body;
  EXPECT_FALSE(has(n.body, "We locked"));
  f.lang = "ja";
  n = render_notice(f, kOptions);
  EXPECT_TRUE(has(n.body, "ログインはすべて失敗しており、お客様のアカウントは使われていません。"));
}

TEST(Templates, OwnersOwnLockSaysTheyToldUs) {
  NoticeFacts f = locked("ja");
  f.reasons.clear();
  f.note.clear();
  f.by_owner = true;
  EXPECT_TRUE(
      has(render_notice(f, kOptions).body,
          "・理由：お客様から、身に覚えのないログインがあったとのご連絡をいただきました\n"));
}

}  // namespace
}  // namespace mamori::notify
