#ifndef MAMORI_NOTIFY_TEMPLATES_H_
#define MAMORI_NOTIFY_TEMPLATES_H_

#include <string>
#include <string_view>

#include "notify/payload.h"

namespace mamori::notify {

// What the templates need besides the notice's facts (`[notify]`).
struct TemplateOptions {
  std::string service_name = "mamori";
  std::string help_url;  // empty: the mails point to the service's support instead
};

// A notice as the owner reads it: UTF-8 subject and plain-text body (lines
// end in "\n"; the message encoder turns them into CRLF).
struct RenderedNotice {
  std::string subject;
  std::string body;
};

// Renders the notice in the owner's language ("ja" or "en"; anything else is
// English), with times in the owner's time zone (UTC when the zone is unknown
// to the tz database). Pure: the same facts give the same text.
RenderedNotice render_notice(const NoticeFacts& facts, const TemplateOptions& options);

// A time in `zone_name` as a line of a notice:
//   ja: "2026年11月24日（火）00:00 JST"
//   en: "Tuesday, 24 November 2026, 00:00 JST"
std::string format_notice_time(TimePoint t, std::string_view zone_name, std::string_view lang);

// Where the facts' address is, in the owner's words: the GeoIP names in
// `lang` when known ("イギリス ロンドン", "London, United Kingdom"), else
// the English city and the country code; "不明" / "unknown" when nothing.
std::string place_in_words(const NoticeFacts& facts, std::string_view lang);

// A reason word ("risky_change") in plain words for the owner.
std::string reason_in_words(std::string_view reason, std::string_view lang);

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_TEMPLATES_H_
