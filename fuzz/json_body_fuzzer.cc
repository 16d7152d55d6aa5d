// The JSON body of every API call that takes one, straight into
// ApiHandler::handle (no sockets: the HTTP framing is http_request_fuzzer's)
// with a real engine on a temporary SQLite store (fuzz_world.h).
//
// Input: the first byte picks the call (a letter of kRoutes' keys; another
// byte picks by its value modulo the number of calls), the rest is the body.
//
// Checks besides the sanitizers: no answer is a 500, every JSON answer is
// valid JSON, and a body refused as bad input (400) leaves the engine's
// locks, list entries and blocks as they were.
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_world.h"

namespace mamori::fuzz {
namespace {

struct Route {
  char key;
  std::string_view method;
  std::string_view target;
  std::string_view token;
};

constexpr Route kRoutes[] = {
    {'a', "POST", "/v1/login/attempt", kAppToken},
    {'b', "POST", "/v1/login/result", kAppToken},
    {'c', "POST", "/v1/events", kAppToken},
    {'d', "POST", "/v1/accounts/alice/lock", kAdminToken},
    {'e', "POST", "/v1/accounts/alice/unlock", kAdminToken},
    {'f', "PUT", "/v1/accounts/alice/contact", kAppToken},
    {'g', "POST", "/v1/lists", kAdminToken},
    {'h', "POST", "/v1/accounts/alice/totp", kAppToken},
    {'i', "POST", "/v1/accounts/alice/totp/confirm", kAppToken},
    {'j', "POST", "/v1/accounts/alice/totp/verify", kAppToken},
    {'k', "DELETE", "/v1/accounts/alice/totp", kAppToken},
    {'l', "DELETE", "/v1/accounts/alice/totp", kAdminToken},
    {'m', "POST", "/v1/passwords/check", kAppToken},
    {'n', "POST", "/dovecot/policy?command=allow", kAppToken},
    {'o', "POST", "/dovecot/policy?command=report", kAppToken},
};
constexpr std::size_t kRouteCount = sizeof kRoutes / sizeof kRoutes[0];

const Route& pick(std::uint8_t b) {
  for (const Route& r : kRoutes)
    if (r.key == char(b)) return r;
  return kRoutes[b % kRouteCount];
}

// What a refused request must leave as it was. A change of the lists
// replaces their index.
struct Snapshot {
  std::size_t locks;
  const void* lists;
  std::size_t blocks;
  bool operator==(const Snapshot&) const = default;
};
Snapshot snapshot(World& w) {
  engine::Engine& e = w.engine();
  return {e.locks().size(), e.lists().index().get(), e.blocks().size()};
}

}  // namespace
}  // namespace mamori::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mamori::fuzz;
  using namespace mamori;
  if (size == 0) return 0;
  World& w = world_for_input();
  const Route& route = pick(data[0]);
  // A copy: the password check wipes the body it was given.
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string auth = "Bearer " + std::string(route.token);
  const http::Header headers[] = {
      {"Host", "fuzz"}, {"Content-Type", "application/json"}, {"Authorization", auth}};
  http::Request request{route.method, route.target, body, headers, IpAddress()};
  http::Response response;
  const Snapshot before = snapshot(w);
  w.handler().handle(request, response);
  const std::string where = std::string(route.method) + " " + std::string(route.target);
  if (response.status == 500) fail(where + " answered 500: " + response.body);
  if (response.content_type == "application/json") {
    boost::system::error_code ec;
    boost::json::parse(response.body, ec);
    if (ec) fail(where + " answered invalid JSON: " + response.body);
  }
  if (response.status == 400 && !(snapshot(w) == before))
    fail(where + " refused the body with 400 but changed the engine's locks, lists or blocks: " +
         response.body);
  return 0;
}
