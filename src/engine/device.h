#ifndef MAMORI_ENGINE_DEVICE_H_
#define MAMORI_ENGINE_DEVICE_H_

#include <string>
#include <string_view>

#include "core/event.h"

namespace mamori::engine {

// A user agent reduced to what stays the same across browser updates: the
// browser or app family and the operating system ("Chrome", "Windows").
// Version numbers are dropped so an update is not a new device.
struct UserAgentSummary {
  std::string_view family = "Other";
  std::string_view os = "Other";
};
UserAgentSummary summarize_user_agent(std::string_view user_agent);

// The major version of the user agent's browser or app family ("131" for
// Chrome 131, Safari's from its "Version/" token); "" when there is none.
// A view into `user_agent`.
std::string_view user_agent_major_version(std::string_view user_agent);

// The key that identifies the event's device in the account's profile:
// "id:<device_id>" when the app sent one, otherwise "ua:<family>/<os>" from
// the user agent; "" when there is neither (nothing to compare).
std::string device_key(const Event& e);

// "Chrome on Windows" for notices and the console.
std::string describe_user_agent(std::string_view user_agent);

// The browser or app and the device in plain words for the account's owner,
// in `lang` ("ja"; anything else is English), with the browser's major
// version; a login over a mail protocol (`imap`, `pop3`, `smtp`) names it:
//   en: "Chrome 120 on Windows", "Safari 17 on iPhone", "a mail app (IMAP)"
//   ja: "Windows の Chrome 120", "iPhone の Safari 17", "メールソフト（IMAP）"
// "" when the user agent names nothing known and the protocol is no mail
// protocol (the caller says "unknown" and shows the raw user agent).
std::string describe_device_for_owner(std::string_view user_agent, std::string_view protocol,
                                      std::string_view lang);

// Whether `protocol` is one a mail client logs in with: imap, pop3, smtp.
bool is_mail_protocol(std::string_view protocol);

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_DEVICE_H_
