#include "engine/device.h"

#include <array>
#include <functional>
#include <utility>

namespace mamori::engine {

namespace {

bool has(std::string_view ua, std::string_view token) { return ua.find(token) != ua.npos; }

// At most `max` bytes of `s`, not ending inside a UTF-8 character: a cut
// character would be stored replaced (JSON) and the key would then differ.
std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  for (int k = 0; k < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80; ++k) --n;
  return s.substr(0, n);
}

// Ordered: the first token found wins, so browsers that also carry
// "Chrome" or "Safari" in their user agent (Edge, Opera, Samsung, ...) are
// tested before the ones they imitate.
constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kFamilies = {{
    {"Edg/", "Edge"},
    {"EdgA/", "Edge"},
    {"EdgiOS/", "Edge"},
    {"OPR/", "Opera"},
    {"SamsungBrowser/", "Samsung Internet"},
    {"YaBrowser/", "Yandex"},
    {"Firefox/", "Firefox"},
    {"FxiOS/", "Firefox"},
    {"CriOS/", "Chrome"},
    {"Thunderbird/", "Thunderbird"},
    {"Chrome/", "Chrome"},
    {"Chromium/", "Chromium"},
    {"Safari/", "Safari"},
    {"curl/", "curl"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kSystems = {{
    {"Windows", "Windows"},
    {"iPhone", "iOS"},
    {"iPad", "iPadOS"},
    {"Android", "Android"},
    {"CrOS", "ChromeOS"},
    {"Mac OS X", "macOS"},
    {"Macintosh", "macOS"},
    {"Linux", "Linux"},
    {"Darwin", "macOS"},
}};

UserAgentSummary search_user_agent(std::string_view ua) {
  UserAgentSummary s;
  for (const auto& [token, family] : kFamilies) {
    if (has(ua, token)) {
      s.family = family;
      break;
    }
  }
  for (const auto& [token, os] : kSystems) {
    if (has(ua, token)) {
      s.os = os;
      break;
    }
  }
  return s;
}

// The user agents last summarized on this thread, by hash. A service sees few
// distinct user agents at a time, so most logins find theirs here instead of
// running the 23 substring searches (measured: a sixth of a login result's
// engine time). Summaries point into the tables above, so they stay valid.
class SummaryMemo {
 public:
  static constexpr std::size_t kSlots = 64;
  static constexpr std::size_t kMaxLength = 512;  // longer ones are not kept

  UserAgentSummary get(std::string_view ua) {
    if (ua.size() > kMaxLength) return search_user_agent(ua);
    Slot& slot = slots_[std::hash<std::string_view>{}(ua) % kSlots];
    if (!slot.used || slot.ua != ua) {
      slot.summary = search_user_agent(ua);
      slot.ua.assign(ua);
      slot.used = true;
    }
    return slot.summary;
  }

 private:
  struct Slot {
    std::string ua;
    UserAgentSummary summary;
    bool used = false;
  };
  std::array<Slot, kSlots> slots_;
};

}  // namespace

UserAgentSummary summarize_user_agent(std::string_view ua) {
  thread_local SummaryMemo memo;
  return memo.get(ua);
}

std::string_view user_agent_major_version(std::string_view ua) {
  std::size_t at = ua.npos;
  for (const auto& [token, family] : kFamilies) {
    if (const std::size_t i = ua.find(token); i != ua.npos) {
      at = i + token.size();
      // Safari's own token carries the WebKit build; its version is Version/.
      if (family == "Safari") {
        if (const std::size_t v = ua.find("Version/"); v != ua.npos) at = v + 8;
      }
      break;
    }
  }
  if (at == ua.npos) return {};
  std::size_t end = at;
  while (end < ua.size() && end - at < 8 && ua[end] >= '0' && ua[end] <= '9') ++end;
  return ua.substr(at, end - at);
}

std::string device_key(const Event& e) {
  if (!e.device_id.empty()) return "id:" + e.device_id;
  if (e.user_agent.empty()) return "";
  const UserAgentSummary s = summarize_user_agent(e.user_agent);
  if (s.family == "Other" && s.os == "Other") {
    // An app's own user agent ("MailClient/2.1"): its name up to the version.
    const std::string_view name = std::string_view(e.user_agent).substr(0, e.user_agent.find('/'));
    return "ua:" + std::string(utf8_prefix(name, 64));
  }
  return "ua:" + std::string(s.family) + "/" + std::string(s.os);
}

std::string describe_user_agent(std::string_view ua) {
  if (ua.empty()) return "";
  const UserAgentSummary s = summarize_user_agent(ua);
  if (s.family == "Other" && s.os == "Other") return std::string(utf8_prefix(ua, 120));
  if (s.os == "Other") return std::string(s.family);
  return std::string(s.family) + " on " + std::string(s.os);
}

bool is_mail_protocol(std::string_view protocol) {
  return protocol == "imap" || protocol == "pop3" || protocol == "smtp";
}

namespace {

// The device an owner knows, by the system the user agent names.
std::string_view device_word(std::string_view os) {
  if (os == "iOS") return "iPhone";
  if (os == "iPadOS") return "iPad";
  if (os == "macOS") return "Mac";
  if (os == "ChromeOS") return "Chromebook";
  if (os == "Other") return "";
  return os;  // Windows, Android, Linux
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
  return out;
}

}  // namespace

std::string describe_device_for_owner(std::string_view ua, std::string_view protocol,
                                      std::string_view lang) {
  const bool ja = lang == "ja";
  std::string app;  // "Chrome 120"
  std::string_view device;
  if (!ua.empty()) {
    const UserAgentSummary s = summarize_user_agent(ua);
    device = device_word(s.os);
    if (s.family != "Other" && s.family != "curl") {
      app = std::string(s.family);
      if (const std::string_view v = user_agent_major_version(ua); !v.empty())
        app += " " + std::string(v);
    }
  }
  std::string out;
  if (!app.empty() && !device.empty())
    out = ja ? std::string(device) + " の " + app : app + " on " + std::string(device);
  else if (!app.empty())
    out = app;
  else if (!device.empty())
    out = ja ? std::string(device) + " の端末" : "a " + std::string(device) + " device";
  if (is_mail_protocol(protocol)) {
    const std::string p = upper(protocol);
    if (out.empty()) return ja ? "メールソフト（" + p + "）" : "a mail app (" + p + ")";
    return out + (ja ? "（" + p + "）" : " (" + p + ")");
  }
  return out;
}

}  // namespace mamori::engine
