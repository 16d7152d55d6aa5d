#include "notify/templates.h"

#include <array>
#include <cstdio>

#include "engine/device.h"
#include "notify/time_zone.h"

namespace mamori::notify {

namespace {

struct ReasonWords {
  std::string_view reason, ja, en;
};

// Reasons an owner may read about; unknown ones fall back to the word itself.
constexpr std::array<ReasonWords, 11> kReasonWords = {{
    {"account_locked", "サポート担当者が、お客様のアカウントを保護するためにロックしました",
     "our support team locked the account to protect it"},
    {"risky_change",
     "不審なログインの直後に、メールアドレスやパスワードなどの重要な設定が変更されました",
     "important settings (e-mail address, password or two-step login) were changed soon after a "
     "suspicious login"},
    {"mail_geography", "短い時間のうちに、複数の国からメールへのログインがありました",
     "your mailbox was logged into from several countries within a short time"},
    {"message_fanout", "不審なログインの後、多数の相手にメッセージが送信されました",
     "messages were sent to many people after a suspicious login"},
    {"brute_force", "パスワードの誤入力が繰り返されました", "many wrong passwords were tried"},
    {"credential_stuffing",
     "他のサービスから流出したIDとパスワードを使ったログインの試みが確認されました",
     "logins with IDs and passwords leaked from other services were tried"},
    {"password_spray", "多くのアカウントに同じパスワードを試すログインが確認されました",
     "the same password was tried on many accounts"},
    {"new_device", "これまでにご利用のない端末からのログインがありました",
     "a login came from a device not seen before"},
    {"new_location", "これまでにご利用のない場所からのログインがありました",
     "a login came from a place not seen before"},
    {"impossible_travel", "移動できない距離を隔てた場所から、続けてログインがありました",
     "logins came from places too far apart to travel between in the time"},
    {"deny_list", "不正利用の報告がある接続元からのアクセスがありました",
     "access came from a source reported for abuse"},
}};

constexpr std::array<std::string_view, 7> kWeekdaysJa = {"日", "月", "火", "水", "木", "金", "土"};
constexpr std::array<std::string_view, 7> kWeekdaysEn = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonthsEn = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

// Where, as the owner reads it: the GeoIP names in the owner's language
// when the database has them ("イギリス ロンドン", "London, United Kingdom"),
// otherwise the English city and the country code.
std::string place(const NoticeFacts& f, bool ja) {
  const std::string& city = f.place_city.empty() ? f.city : f.place_city;
  const std::string& country = f.place_country.empty() ? f.country : f.place_country;
  if (city.empty() && country.empty()) return ja ? "不明" : "unknown";
  if (city.empty()) return country;
  if (country.empty()) return city;
  // Japanese names read from the larger place to the smaller.
  if (ja && !f.place_country.empty()) return country + " " + city;
  return city + ", " + country;
}

std::string device(const NoticeFacts& f, bool ja) {
  std::string d = engine::describe_device_for_owner(f.user_agent, f.protocol, ja ? "ja" : "en");
  if (!d.empty()) return d;
  return ja ? "不明" : "unknown";
}

bool mail_login(const NoticeFacts& f) { return engine::is_mail_protocol(f.protocol); }

// The raw user agent, for whoever helps the owner: the last line of facts.
std::string detail_lines(const NoticeFacts& f, bool ja) {
  std::string out;
  if (!f.user_agent.empty())
    out += ja ? "（詳細）ユーザーエージェント：" + f.user_agent + "\n"
              : "Details for support: user agent " + f.user_agent + "\n";
  if (!f.incident_id.empty())
    out += ja ? "（詳細）事案番号：" + f.incident_id + "\n"
              : "Details for support: incident " + f.incident_id + "\n";
  return out;
}

std::string activity_link(const NoticeFacts& f, bool ja) {
  if (f.activity_url.empty()) return "";
  return ja ? "最近のログインと設定の変更は、次のページでご確認いただけます。\n" + f.activity_url +
                  "\n\n"
            : "Your recent logins and changes:\n" + f.activity_url + "\n\n";
}

constexpr std::string_view kFooterJa =
    "※このメールは送信専用のアドレスからお送りしています。ご返信いただいてもお答えできません。\n\n";
constexpr std::string_view kFooterEn = "This is an automatic message; replies are not read.\n\n";

std::string reasons_in_words(const NoticeFacts& f, bool ja) {
  if (f.by_owner)
    return ja ? "お客様から、身に覚えのないログインがあったとのご連絡をいただきました"
              : "you told us that a login to your account was not you";
  std::string out;
  for (const std::string& r : f.reasons) {
    if (!out.empty()) out += ja ? "。また、" : "; ";
    out += reason_in_words(r, ja ? "ja" : "en");
  }
  if (out.empty()) out = ja ? "セキュリティ上の理由によるものです" : "a security check";
  return out;
}

RenderedNotice new_login_ja(const NoticeFacts& f, const TemplateOptions& o) {
  RenderedNotice n;
  n.subject = "【" + o.service_name + "】新しい環境からのログインがありました";
  std::string what = f.new_device && f.new_location ? "これまでにご利用のない端末・場所"
                     : f.new_device                 ? "これまでにご利用のない端末"
                     : f.new_location               ? "これまでにご利用のない場所"
                                                    : "新しい環境";
  std::string& b = n.body;
  b += f.account + " 様\n\n";
  b += o.service_name + "をご利用いただき、ありがとうございます。\n";
  b += "お客様のアカウントに、" + what + "からのログインがありました。\n\n";
  b += "・日時：" + format_notice_time(f.time, f.time_zone, "ja") + "\n";
  b += "・IPアドレス：" + (f.ip.empty() ? std::string("不明") : f.ip) + "\n";
  b += "・場所（推定）：" + place(f, true) + "\n";
  b += std::string(mail_login(f) ? "・メールソフト／端末：" : "・ブラウザ／端末：") +
       device(f, true) + "\n\n";
  b += "ご本人によるログインであれば、このメールへの対応は不要です。\n\n";
  if (!f.not_me_url.empty()) {
    b += "ご本人によるログインでない場合は、次のページからお知らせください。アカウントをロックし、"
         "第三者が"
         "使えないようにします。\n";
    b += f.not_me_url + "\n\n";
  }
  b += "お心当たりがない場合は、第三者がお客様のパスワードを使ってログインした可能性があります。\n";
  b += "被害を防ぐため、すぐに次の対応をお願いいたします。\n\n";
  if (mail_login(f)) {
    b += "1. "
         "メールのパスワードを変更してください。他のサービスと同じパスワードは使わないでください。"
         "\n";
    b += "2. パスワードの変更後、お使いのメールソフト（パソコン・スマートフォン）の設定を新しい"
         "パスワードに変更してください。\n";
    b +=
        "3. メールソフトの設定に、見覚えのない転送先や署名が追加されていないかご確認ください。\n\n";
  } else {
    b += "1. パスワードを変更してください。他のサービスと同じパスワードは使わないでください。\n";
    b += "2. 2段階認証（認証アプリによる確認コード）を設定してください。\n\n";
  }
  if (!o.help_url.empty()) {
    b += "手順は次のページをご覧ください。\n" + o.help_url + "\n\n";
  } else {
    b += "手順がご不明な場合は、" + o.service_name + "のサポート窓口までお問い合わせください。\n\n";
  }
  b += activity_link(f, true);
  b += detail_lines(f, true);
  if (!f.user_agent.empty()) b += "\n";
  b += kFooterJa;
  b += o.service_name + "\n";
  return n;
}

RenderedNotice new_login_en(const NoticeFacts& f, const TemplateOptions& o) {
  RenderedNotice n;
  n.subject = "New login to your " + o.service_name + " account";
  std::string what = f.new_device && f.new_location ? "a device and a place"
                     : f.new_device                 ? "a device"
                     : f.new_location               ? "a place"
                                                    : "a device or place";
  std::string& b = n.body;
  b += "Hello " + f.account + ",\n\n";
  b += "Someone logged in to your " + o.service_name + " account from " + what +
       " we have not seen before.\n\n";
  b += "  When:    " + format_notice_time(f.time, f.time_zone, "en") + "\n";
  b += "  IP:      " + (f.ip.empty() ? std::string("unknown") : f.ip) + "\n";
  b += "  Where:   " + place(f, false) +
       (f.city.empty() && f.country.empty() ? "" : " (approximate)") + "\n";
  b += "  Device:  " + device(f, false) + "\n\n";
  b += "If this was you, there is nothing to do.\n\n";
  if (!f.not_me_url.empty()) {
    b += "If this was not you, tell us here and we will lock the account so that nobody can use "
         "it:\n";
    b += f.not_me_url + "\n\n";
  }
  b += "If this was not you, someone else may know your password. Please:\n";
  if (mail_login(f)) {
    b += "  1. Change your mail password now, and do not use it for any other service.\n";
    b += "  2. Then enter the new password in the mail app on each of your computers and phones.\n";
    b += "  3. Check your mail app's settings for forwarding addresses or signatures you did not "
         "add.\n\n";
  } else {
    b += "  1. Change your password now, and do not use it for any other service.\n";
    b += "  2. Turn on two-step login with an authenticator app.\n\n";
  }
  if (!o.help_url.empty()) {
    b += "How to do this: " + o.help_url + "\n\n";
  } else {
    b += "If you need help, contact " + o.service_name + " support.\n\n";
  }
  b += activity_link(f, false);
  b += detail_lines(f, false);
  if (!f.user_agent.empty()) b += "\n";
  b += kFooterEn;
  b += o.service_name + "\n";
  return n;
}

// kCompromised: a login from an address that attacked many accounts
// succeeded with the owner's password. Says so plainly, what was done, and
// what to do.
RenderedNotice compromised_ja(const NoticeFacts& f, const TemplateOptions& o) {
  RenderedNotice n;
  n.subject = "【" + o.service_name + "】【重要】お客様のパスワードが不正に使われました";
  std::string& b = n.body;
  b += f.account + " 様\n\n";
  b += o.service_name + "をご利用いただき、ありがとうございます。\n";
  b += "多数のアカウントへの不正ログインを試みていた接続元から、お客様のアカウントに、"
       "お客様のパスワードでログインされたことを確認しました。\n";
  b += "このパスワードは、他のサービスから流出し、第三者に知られている可能性があります。\n\n";
  b += "・日時：" + format_notice_time(f.time, f.time_zone, "ja") + "\n";
  b += "・接続元のIPアドレス：" + (f.ip.empty() ? std::string("不明") : f.ip) + "\n";
  b += "・場所（推定）：" + place(f, true) + "\n\n";
  b += "■ 当社で行った対応\n";
  if (f.locked) {
    b += "お客様のアカウントを保護するため、アカウントをロックしました。\n";
    if (f.password_reset_required)
      b += "パスワードを再設定していただくまで、このアカウントにはどなたもログインできません。\n\n";
    else
      b += "ロックを解除するまで、このアカウントにはどなたもログインできません。\n\n";
  } else {
    b += "現時点では、アカウントのロックは行っておりません。\n\n";
  }
  b += "■ お客様にお願いしたいこと\n";
  b += "1. " + o.service_name + "のパスワードを再設定してください。\n";
  b += "2. "
       "同じパスワードを他のサービスでもお使いの場合は、そのサービスのパスワードも変更してください"
       "。\n";
  b += "3. 今後はサービスごとに異なるパスワードをお使いいただき、2段階認証（認証アプリによる"
       "確認コード）を設定してください。\n\n";
  if (!o.help_url.empty())
    b += "手順は次のページをご覧ください。\n" + o.help_url + "\n\n";
  else
    b += "手順がご不明な場合は、" + o.service_name + "のサポート窓口までお問い合わせください。\n\n";
  b += activity_link(f, true);
  b += detail_lines(f, true);
  if (!f.incident_id.empty()) b += "\n";
  b += kFooterJa;
  b += o.service_name + "\n";
  return n;
}

RenderedNotice compromised_en(const NoticeFacts& f, const TemplateOptions& o) {
  RenderedNotice n;
  n.subject = "Important: your " + o.service_name + " password was used by someone else";
  std::string& b = n.body;
  b += "Hello " + f.account + ",\n\n";
  b += "Your password was used from an address that attacked many accounts: a login to your " +
       o.service_name + " account from it succeeded.\n";
  b += "Your password has probably leaked from another service and is known to others.\n\n";
  b += "  When:    " + format_notice_time(f.time, f.time_zone, "en") + "\n";
  b += "  From IP: " + (f.ip.empty() ? std::string("unknown") : f.ip) + "\n";
  b += "  Where:   " + place(f, false) + "\n\n";
  b += "What we did\n";
  if (f.locked) {
    b += "We locked your account to protect it. ";
    b += f.password_reset_required ? "Nobody can log in to it until you reset the password.\n\n"
                                   : "Nobody can log in to it until it is unlocked.\n\n";
  } else {
    b += "We have not locked your account.\n\n";
  }
  b += "What to do\n";
  b += "  1. Reset your " + o.service_name + " password.\n";
  b += "  2. If you use the same password anywhere else, change it there too.\n";
  b += "  3. From now on use a different password for each service, and turn on two-step login\n";
  b += "     with an authenticator app.\n\n";
  if (!o.help_url.empty())
    b += "How to do this: " + o.help_url + "\n\n";
  else
    b += "If you need help, contact " + o.service_name + " support.\n\n";
  b += activity_link(f, false);
  b += detail_lines(f, false);
  if (!f.incident_id.empty()) b += "\n";
  b += kFooterEn;
  b += o.service_name + "\n";
  return n;
}

// kTargeted: an attacking address tried the account and failed. Softer: the
// password was not confirmed, nothing is locked, reuse is the risk.
RenderedNotice targeted_ja(const NoticeFacts& f, const TemplateOptions& o) {
  RenderedNotice n;
  n.subject = "【" + o.service_name + "】お客様のアカウントへの不正なログインの試みがありました";
  std::string& b = n.body;
  b += f.account + " 様\n\n";
  b += o.service_name + "をご利用いただき、ありがとうございます。\n";
  b += "多数のアカウントへの不正ログインを試みていた接続元から、お客様のアカウントにも"
       "ログインが試みられました。\n";
  b += "ログインはすべて失敗しており、お客様のアカウントは使われていません。\n\n";
  b += "・日時：" + format_notice_time(f.time, f.time_zone, "ja") + "\n";
  b += "・接続元のIPアドレス：" + (f.ip.empty() ? std::string("不明") : f.ip) + "\n\n";
  b += "このような試みは、他のサービスから流出したIDとパスワードの組み合わせを使って行われます。\n";
  b += "他のサービスと同じパスワードをお使いの場合は、念のため" + o.service_name +
       "のパスワードを変更し、2段階認証（認証アプリによる確認コード）を設定してください。\n\n";
  if (!o.help_url.empty()) b += "手順は次のページをご覧ください。\n" + o.help_url + "\n\n";
  b += activity_link(f, true);
  b += detail_lines(f, true);
  if (!f.incident_id.empty()) b += "\n";
  b += kFooterJa;
  b += o.service_name + "\n";
  return n;
}

RenderedNotice targeted_en(const NoticeFacts& f, const TemplateOptions& o) {
  RenderedNotice n;
  n.subject = "Someone tried to log in to your " + o.service_name + " account";
  std::string& b = n.body;
  b += "Hello " + f.account + ",\n\n";
  b += "Someone tried to log in to your " + o.service_name +
       " account from an address that attacked many accounts.\n";
  b += "Every try failed: your account was not used.\n\n";
  b += "  When:    " + format_notice_time(f.time, f.time_zone, "en") + "\n";
  b += "  From IP: " + (f.ip.empty() ? std::string("unknown") : f.ip) + "\n\n";
  b += "Such attacks try IDs and passwords leaked from other services. If you use your " +
       o.service_name + " password anywhere else, change it here to be safe, and turn on\n";
  b += "two-step login with an authenticator app.\n\n";
  if (!o.help_url.empty()) b += "How to do this: " + o.help_url + "\n\n";
  b += activity_link(f, false);
  b += detail_lines(f, false);
  if (!f.incident_id.empty()) b += "\n";
  b += kFooterEn;
  b += o.service_name + "\n";
  return n;
}

RenderedNotice locked_ja(const NoticeFacts& f, const TemplateOptions& o) {
  RenderedNotice n;
  n.subject = "【" + o.service_name + "】アカウントをロックしました";
  std::string& b = n.body;
  b += f.account + " 様\n\n";
  b += o.service_name + "をご利用いただき、ありがとうございます。\n";
  b += "お客様のアカウントを不正な利用から守るため、アカウントをロックしました。\n";
  b += "現在、このアカウントにはログインできません。\n\n";
  b += "・日時：" + format_notice_time(f.time, f.time_zone, "ja") + "\n";
  b += "・理由：" + reasons_in_words(f, true) + "\n";
  if (!f.note.empty()) b += "・担当者からの連絡事項：" + f.note + "\n";
  if (!f.ip.empty())
    b += "・きっかけとなった接続：IPアドレス " + f.ip + "（" + place(f, true) + "）\n";
  b += "\n■ ロックの解除について\n";
  if (f.password_reset_required) {
    b += "ロックを解除するには、パスワードの再設定が必要です。\n";
    b += o.help_url.empty()
             ? "再設定の手続きは、" + o.service_name + "のサポート窓口までお問い合わせください。\n"
             : "次のページの手順に沿って、新しいパスワードを設定してください。\n" + o.help_url +
                   "\n";
  } else {
    b += o.help_url.empty()
             ? "ロックの解除は、" + o.service_name + "のサポート窓口までお問い合わせください。\n"
             : "ロックの解除をご希望の場合は、次のページからお手続きください。\n" + o.help_url +
                   "\n";
  }
  b += "\n新しいパスワードには、他のサービスで使っていない、推測されにくいものをお選びください。\n";
  b += "あわせて、2段階認証（認証アプリによる確認コード）の設定をおすすめします。\n\n";
  b += activity_link(f, true);
  b += kFooterJa;
  b += o.service_name + "\n";
  return n;
}

RenderedNotice locked_en(const NoticeFacts& f, const TemplateOptions& o) {
  RenderedNotice n;
  n.subject = "Your " + o.service_name + " account has been locked";
  std::string& b = n.body;
  b += "Hello " + f.account + ",\n\n";
  b += "To protect your " + o.service_name + " account from misuse, we have locked it.\n";
  b += "Nobody can log in to it until it is unlocked.\n\n";
  b += "  When:    " + format_notice_time(f.time, f.time_zone, "en") + "\n";
  b += "  Why:     " + reasons_in_words(f, false) + "\n";
  if (!f.note.empty()) b += "  Note:    " + f.note + "\n";
  if (!f.ip.empty()) b += "  Seen from: IP " + f.ip + " (" + place(f, false) + ")\n";
  b += "\nHow to get back in\n";
  if (f.password_reset_required) {
    b += "You need to reset your password to unlock the account.\n";
    b += o.help_url.empty()
             ? "Please contact " + o.service_name + " support to do so.\n"
             : "Follow the steps here to choose a new password:\n" + o.help_url + "\n";
  } else {
    b += o.help_url.empty() ? "Please contact " + o.service_name + " support to unlock it.\n"
                            : "To have it unlocked, follow the steps here:\n" + o.help_url + "\n";
  }
  b += "\nChoose a new password you do not use anywhere else, and turn on two-step login\n";
  b += "with an authenticator app.\n\n";
  b += activity_link(f, false);
  b += kFooterEn;
  b += o.service_name + "\n";
  return n;
}

}  // namespace

std::string place_in_words(const NoticeFacts& facts, std::string_view lang) {
  return place(facts, lang == "ja");
}

std::string reason_in_words(std::string_view reason, std::string_view lang) {
  for (const ReasonWords& w : kReasonWords)
    if (w.reason == reason) return std::string(lang == "ja" ? w.ja : w.en);
  return lang == "ja" ? "セキュリティ上の理由（" + std::string(reason) + "）"
                      : "a security check (" + std::string(reason) + ")";
}

std::string format_notice_time(TimePoint t, std::string_view zone_name, std::string_view lang) {
  auto zone = find_time_zone(zone_name);
  if (!zone) zone = find_time_zone("UTC");
  const LocalTime l = to_local(t, zone ? *zone : nullptr);
  char buf[160];
  if (lang == "ja") {
    std::snprintf(buf, sizeof buf, "%04d年%d月%d日（%s）%02d:%02d %s", l.year, l.month, l.day,
                  std::string(kWeekdaysJa[std::size_t(l.weekday)]).c_str(), l.hour, l.minute,
                  l.abbreviation.c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%s, %d %s %04d, %02d:%02d %s",
                  std::string(kWeekdaysEn[std::size_t(l.weekday)]).c_str(), l.day,
                  std::string(kMonthsEn[std::size_t(l.month - 1)]).c_str(), l.year, l.hour,
                  l.minute, l.abbreviation.c_str());
  }
  return buf;
}

RenderedNotice render_notice(const NoticeFacts& f, const TemplateOptions& o) {
  const bool ja = f.lang == "ja";
  switch (f.kind) {
    case engine::NoticeKind::kNewLogin:
      return ja ? new_login_ja(f, o) : new_login_en(f, o);
    case engine::NoticeKind::kAccountLocked:
      return ja ? locked_ja(f, o) : locked_en(f, o);
    case engine::NoticeKind::kCompromised:
      return ja ? compromised_ja(f, o) : compromised_en(f, o);
    case engine::NoticeKind::kTargeted:
      return ja ? targeted_ja(f, o) : targeted_en(f, o);
  }
  return new_login_en(f, o);
}

}  // namespace mamori::notify
