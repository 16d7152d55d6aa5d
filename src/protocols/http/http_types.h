#ifndef MAMORI_PROTOCOLS_HTTP_HTTP_TYPES_H_
#define MAMORI_PROTOCOLS_HTTP_HTTP_TYPES_H_

#include <cstdint>
#include <functional>
#include <memory>
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

struct Response;

// The transport's end of one deferred answer (see Response::defer()).
class DeferredTarget {
 public:
  virtual ~DeferredTarget() = default;
  // Called once, from any thread, with the finished answer.
  virtual void finish(Response&& response) = 0;
};

// What the transport lends a Response so that its handler can defer it.
class Deferrer {
 public:
  virtual ~Deferrer() = default;
  // A target for the answer being handled; null (with `response` set to the
  // error to answer) when no more answers can be deferred.
  virtual std::shared_ptr<DeferredTarget> defer(Response& response) = 0;
};

// The handle of an answer that a handler deferred: whoever holds it finishes
// the answer, from any thread, and the transport writes it in the
// connection's order. Movable, not copyable; finish() acts once. A handle
// destroyed unfinished answers 500 `internal_error`, so that no client waits
// for an answer nobody will give. Finishing after the connection closed or
// the server stopped drops the answer. Thread-compatible (one holder).
class DeferredAnswer {
 public:
  DeferredAnswer() = default;
  explicit DeferredAnswer(std::shared_ptr<DeferredTarget> target) : target_(std::move(target)) {}
  DeferredAnswer(DeferredAnswer&&) = default;
  DeferredAnswer& operator=(DeferredAnswer&& other);
  DeferredAnswer(const DeferredAnswer&) = delete;
  DeferredAnswer& operator=(const DeferredAnswer&) = delete;
  ~DeferredAnswer();

  // False: no answer to finish (refused by defer(), or finished).
  explicit operator bool() const { return target_ != nullptr; }
  // Hands the answer to the transport. Its wait_for holds it for a commit
  // as a handler's answer would be; a Response without it is written as is.
  void finish(Response response);

 private:
  std::shared_ptr<DeferredTarget> target_;
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

  // Defers the answer: the handler returns without one, and the returned
  // handle finishes it later (on another thread; the worker meanwhile
  // serves other connections). Whatever this Response holds then is not
  // written. An empty handle when the answer cannot be deferred: this
  // Response is then set to the answer to give at once (503
  // `server_busy` with Retry-After when the worker holds its limit of
  // deferred answers, 500 `internal_error` where the transport defers
  // nothing) and the handler returns it. REQUIRES: called once, from
  // Handler::handle() on this Response.
  DeferredAnswer defer();
  // Whether defer() succeeded for the request being handled.
  bool deferred = false;
  // Set by the transport for defer(); null: answers cannot be deferred.
  Deferrer* deferrer = nullptr;
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
