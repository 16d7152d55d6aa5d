#ifndef MAMORI_PROTOCOLS_HTTP_HTTP_TYPES_H_
#define MAMORI_PROTOCOLS_HTTP_HTTP_TYPES_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ip_address.h"

namespace mamori::http {

struct Header {
  std::string_view name;
  std::string_view value;
};

// One HTTP request as the transport hands it to a Handler. Every view points
// into the transport's buffers and is valid only during Handler::handle().
struct Request {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // raw request target: "/v1/accounts/alice?since=..."
  std::string_view body;
  std::span<const Header> headers;
  // The connection's peer (the client or the proxy in front of it); the
  // default address when the transport could not read it.
  IpAddress peer;

  // Case-insensitive header lookup; empty when absent.
  std::string_view header(std::string_view name) const;
};

// The answer a Handler fills in.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // When non-zero, the transport holds the response back until the durable
  // store has committed this write ticket (see CommitWaiter); if any write
  // from `wait_from` (0: wait_for itself) to `wait_for` failed to commit,
  // the response is replaced by 503 `store_unavailable`.
  std::uint64_t wait_for = 0;
  std::uint64_t wait_from = 0;
};

// Sets `r` to the API's error shape:
// {"error": {"code": "snake_case_code", "message": "human text"}}.
void set_error(Response& r, int status, std::string_view code, std::string_view message);

// Application side of the HTTP server. Thread-safe: called concurrently from
// every worker thread.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(const Request& request, Response& response) = 0;
};

// How the transport learns that a response's writes are durable.
struct CommitWaiter {
  // Arranges for `ready(committed)` to be called once write ticket `ticket`'s
  // commit has finished; `committed` is the highest finished ticket then
  // (>= ticket), so one call releases every answer waiting for a ticket up
  // to it. `ready` may run on any thread and must not block.
  std::function<void(std::uint64_t ticket, std::function<void(std::uint64_t committed)> ready)>
      wait;
  // Whether every write from `first` to `last` was stored (a finished commit
  // may have failed). Empty: every finished commit stored its writes.
  // REQUIRES: `last` at or below a `committed` that `wait` reported.
  std::function<bool(std::uint64_t first, std::uint64_t last)> stored;

  explicit operator bool() const { return static_cast<bool>(wait); }
};

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_HTTP_TYPES_H_
