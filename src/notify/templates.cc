#include "notify/templates.h"

#include <array>
#include <cstdio>

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

std::string place(const NoticeFacts& f, bool ja) {
  if (f.city.empty() && f.country.empty()) return ja ? "不明" : "unknown";
  if (f.city.empty()) return f.country;
  if (f.country.empty()) return f.city;
  return f.city + ", " + f.country;
}

std::string device(const NoticeFacts& f, bool ja) {
  if (!f.user_agent.empty()) return f.user_agent;
  if (!f.protocol.empty() && f.protocol != "web") {
    std::string p = f.protocol;
    for (char& c : p)
      if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
    return p;
  }
  return ja ? "不明" : "unknown";
}

std::string reasons_in_words(const NoticeFacts& f, bool ja) {
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
  b += "・ブラウザ／アプリ：" + device(f, true) + "\n\n";
  b += "ご本人によるログインであれば、このメールへの対応は不要です。\n\n";
  b += "お心当たりがない場合は、第三者がお客様のパスワードを使ってログインした可能性があります。\n";
  b += "被害を防ぐため、すぐに次の対応をお願いいたします。\n\n";
  b += "1. パスワードを変更してください。他のサービスと同じパスワードは使わないでください。\n";
  b += "2. 2段階認証（認証アプリによる確認コード）を設定してください。\n\n";
  if (!o.help_url.empty()) {
    b += "手順は次のページをご覧ください。\n" + o.help_url + "\n\n";
  } else {
    b += "手順がご不明な場合は、" + o.service_name + "のサポート窓口までお問い合わせください。\n\n";
  }
  b += "※このメールは送信専用のアドレスからお送りしています。ご返信いただいてもお答えできません。\n"
       "\n";
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
  b += "If this was not you, someone else may know your password. Please:\n";
  b += "  1. Change your password now, and do not use it for any other service.\n";
  b += "  2. Turn on two-step login with an authenticator app.\n\n";
  if (!o.help_url.empty()) {
    b += "How to do both: " + o.help_url + "\n\n";
  } else {
    b += "If you need help, contact " + o.service_name + " support.\n\n";
  }
  b += "This is an automatic message; replies are not read.\n\n";
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
  b += "※このメールは送信専用のアドレスからお送りしています。ご返信いただいてもお答えできません。\n"
       "\n";
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
  b += "This is an automatic message; replies are not read.\n\n";
  b += o.service_name + "\n";
  return n;
}

}  // namespace

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
  }
  return new_login_en(f, o);
}

}  // namespace mamori::notify
