#ifndef MAMORI_PROTOCOLS_HTTP_CONSOLE_SESSIONS_H_
#define MAMORI_PROTOCOLS_HTTP_CONSOLE_SESSIONS_H_

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace mamori::http {

// The console's session cookie.
inline constexpr std::string_view kConsoleCookie = "mamori_console";

struct ConsoleSessionOptions {
  // A session not used for this long ends ([console] idle_timeout).
  Duration idle_timeout = std::chrono::minutes(30);
  // A session ends this long after sign-in however busy ([console]
  // session_lifetime).
  Duration lifetime = std::chrono::hours(12);
  // Sessions held at most; signing in beyond it ends the least recently
  // used one.
  std::size_t max_sessions = 10'000;
};

// One signed-in operator.
struct ConsoleSession {
  std::string id;    // the cookie's value: 32 random bytes, base64url
  std::string csrf;  // X-CSRF-Token's value: 32 random bytes, base64url
  std::string name;  // the operator's or the token's name
  std::string kind;  // "token" or "operator"
  TimePoint created;
  TimePoint last_used;
  // created + lifetime: the session ends then at the latest.
  TimePoint expires;
};

// The console's sign-in sessions, held in this node's memory: a restart
// ends them, and behind a load balancer the console needs one node or
// sticky sessions. Bounded by max_sessions. Ids and CSRF tokens come from
// randombytes_buf. Times are given by the caller (the injected clock).
// Thread-safe: one mutex, held only for the table's own work.
class ConsoleSessions {
 public:
  explicit ConsoleSessions(ConsoleSessionOptions options) : options_(options) {}
  ConsoleSessions(const ConsoleSessions&) = delete;
  ConsoleSessions& operator=(const ConsoleSessions&) = delete;

  // Starts a session for `name` of `kind` at `now`.
  ConsoleSession open(std::string name, std::string kind, TimePoint now);
  // The live session with cookie value `id`, its idle time restarted at
  // `now`; none when unknown, idle past idle_timeout or past its lifetime
  // (such a session is removed).
  std::optional<ConsoleSession> use(std::string_view id, TimePoint now);
  // Ends the session `id`; whether it was there.
  bool close(std::string_view id);
  // Ends every session of operator `name` of `kind`; how many.
  std::size_t close_all(std::string_view name, std::string_view kind);
  // Ends every session `ends` says; how many.
  std::size_t close_if(const std::function<bool(const ConsoleSession&)>& ends);
  std::size_t size() const;
  const ConsoleSessionOptions& options() const { return options_; }

  // Whether `presented` is the session's CSRF token, compared in constant
  // time (sodium_memcmp).
  static bool csrf_matches(const ConsoleSession& s, std::string_view presented);

 private:
  bool live(const ConsoleSession& s, TimePoint now) const;

  const ConsoleSessionOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, ConsoleSession> sessions_;
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"); empty when
// absent.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_CONSOLE_SESSIONS_H_
