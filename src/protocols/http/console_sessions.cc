#include "protocols/http/console_sessions.h"

#include <sodium.h>

#include <array>

namespace mamori::http {

namespace {

std::string random_token() {
  std::array<unsigned char, 32> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

}  // namespace

bool ConsoleSessions::live(const ConsoleSession& s, TimePoint now) const {
  return now < s.expires && now - s.last_used < options_.idle_timeout;
}

ConsoleSession ConsoleSessions::open(std::string name, std::string kind, TimePoint now) {
  ConsoleSession s{
      random_token(),         random_token(), std::move(name), std::move(kind), now, now,
      now + options_.lifetime};
  std::lock_guard lock(mu_);
  if (sessions_.size() >= options_.max_sessions) {
    // Full: drop the ended sessions, and if none had, the least recently used.
    auto oldest = sessions_.end();
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (!live(it->second, now)) {
        it = sessions_.erase(it);
        continue;
      }
      if (oldest == sessions_.end() || it->second.last_used < oldest->second.last_used) oldest = it;
      ++it;
    }
    if (sessions_.size() >= options_.max_sessions && oldest != sessions_.end())
      sessions_.erase(oldest);
  }
  sessions_.emplace(s.id, s);
  return s;
}

std::optional<ConsoleSession> ConsoleSessions::use(std::string_view id, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(std::string(id));
  if (it == sessions_.end()) return std::nullopt;
  if (!live(it->second, now)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second;
}

bool ConsoleSessions::close(std::string_view id) {
  std::lock_guard lock(mu_);
  return sessions_.erase(std::string(id)) > 0;
}

std::size_t ConsoleSessions::close_all(std::string_view name, std::string_view kind) {
  std::lock_guard lock(mu_);
  return std::erase_if(
      sessions_, [&](const auto& kv) { return kv.second.name == name && kv.second.kind == kind; });
}

std::size_t ConsoleSessions::close_if(const std::function<bool(const ConsoleSession&)>& ends) {
  std::lock_guard lock(mu_);
  return std::erase_if(sessions_, [&](const auto& kv) { return ends(kv.second); });
}

std::size_t ConsoleSessions::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

bool ConsoleSessions::csrf_matches(const ConsoleSession& s, std::string_view presented) {
  return presented.size() == s.csrf.size() &&
         sodium_memcmp(presented.data(), s.csrf.data(), s.csrf.size()) == 0;
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view v = pair.substr(eq + 1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      return v;
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

}  // namespace mamori::http
