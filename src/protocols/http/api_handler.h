#ifndef MAMORI_PROTOCOLS_HTTP_API_HANDLER_H_
#define MAMORI_PROTOCOLS_HTTP_API_HANDLER_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "engine/engine.h"
#include "protocols/http/api_metrics.h"
#include "protocols/http/http_types.h"
#include "store/store.h"

namespace mamori::http {

enum class Role : std::uint8_t { kApp, kAdmin };

struct ApiToken {
  std::string token;
  Role role = Role::kApp;
};

struct ApiOptions {
  std::vector<ApiToken> tokens;
  bool replay = false;  // honour the events' "time" field
  ReplayClock* replay_clock = nullptr;  // replay mode: told every event time
  std::string version = "0.1.0";
};

// The v1 HTTP API of API.md: routes, bearer tokens and roles, JSON in and
// out. An adapter: it turns requests into Events and engine calls and the
// answers back into JSON; it holds no policy. Every rejected request is
// answered before anything changes.
// Thread-safe: handle() runs on every worker thread.
class ApiHandler final : public Handler {
 public:
  ApiHandler(ApiOptions options, engine::Engine& engine, store::Store& store, const Clock& clock);

  void handle(const Request& request, Response& response) override;
  const ApiMetrics& metrics() const { return metrics_; }

 private:
  struct Call;
  void dispatch(Call& c);
  // One function per route.
  void healthz(Call& c);
  void metrics_text(Call& c);
  void status(Call& c);
  void login(Call& c, EventType type);
  void events(Call& c);
  void account_get(Call& c);
  void account_activity(Call& c);
  void account_lock(Call& c);
  void account_unlock(Call& c);
  void account_contact(Call& c);
  void lists_get(Call& c);
  void lists_post(Call& c);
  void list_delete(Call& c);
  void blocked(Call& c);
  void incidents_list(Call& c);
  void incident_get(Call& c);
  void incident_accounts(Call& c);
  void incidents_affected(Call& c);

  TimePoint now() const { return clock_.now(); }
  void write_account(Call& c, const std::string& account);

  ApiOptions options_;
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Role, TokenHash, std::equal_to<>> tokens_;
  engine::Engine& engine_;
  store::Store& store_;
  const Clock& clock_;
  ApiMetrics metrics_;
  const TimePoint started_;
};

// Decodes %XX escapes of a path segment. Fails on a bad escape.
Result<std::string> percent_decode(std::string_view s);

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_API_HANDLER_H_
