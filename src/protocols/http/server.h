#ifndef MAMORI_PROTOCOLS_HTTP_SERVER_H_
#define MAMORI_PROTOCOLS_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "protocols/http/http_types.h"

namespace mamori::http {

namespace detail {
class ServerWorker;
}  // namespace detail

struct ServerOptions {
  std::string host = "127.0.0.1";  // an IP literal ("::" for all IPv6) or a resolvable name
  std::uint16_t port = 8425;       // 0 picks a free port; see Server::port()
  int threads = 2;                 // worker threads, each with its own acceptor; at least 1
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;  // request line plus all header fields
  // A connection is closed when a request has not fully arrived this long after
  // the connection became idle, or a response is not taken by the peer in this
  // time. Zero disables the timeout. Not applied while a response waits for a
  // commit (Response::wait_for).
  std::chrono::seconds idle_timeout{60};
};

// The HTTP/1.1 transport in front of a Handler: keep-alive, pipelining (answers
// in request order), request size limits and idle timeouts. Routing, auth and
// metrics are the Handler's job; the server calls it for every well-formed
// request, whatever the method or target.
//
// Threads: `threads` workers, each running its own event loop and its own
// listening socket on the same address (SO_REUSEPORT: the kernel spreads
// connections, a connection stays on one thread). Handler::handle() runs on
// the worker that owns the connection, so it is called concurrently from all
// workers and must not block for long.
//
// Responses: written with `Server: mamori`, `Content-Type` (when not empty),
// `Content-Length` and the extra headers. Extra headers named Content-Length,
// Transfer-Encoding or Connection are dropped (framing is the server's), as are
// headers with CR or LF in the name or value (they would inject headers). A
// HEAD request gets the headers of the handler's response without its body.
// A Handler that throws gets a 500 `internal_error` answer.
//
// Commit waits: when the handler sets Response::wait_for and a CommitWaiter is
// given, the server calls `waiter.wait(wait_for, ready)` and writes the
// response only once `ready` has been called (from any thread; extra calls and
// calls after stop() are ignored). The connection reads no further request
// until then. When `waiter.stored` says a write from wait_from to wait_for
// was not stored, the response is replaced by 503 `store_unavailable` with
// `Retry-After: 1`: no answer claims a write that a failed commit lost.
//
// Protocol errors answer with the API's JSON error body and close the
// connection: malformed HTTP 400 `bad_request`; a body over max_body_bytes
// 413 `body_too_large` (the handler is not called); a header over
// max_header_bytes or with more than 64 fields 431 `headers_too_large`.
//
// Not copyable or movable. start() and stop() may be called from any thread
// but not from a Handler or a CommitWaiter running on a worker thread.
class Server {
 public:
  // `handler` must outlive the Server. `waiter` may be empty: responses are
  // then written at once whatever their wait_for.
  Server(ServerOptions options, Handler& handler, CommitWaiter waiter);
  ~Server();  // stop()

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the worker threads; connections are accepted
  // from when it returns. Fails with code `listen_failed` and a message
  // "host:port: reason" (address in use, also by another process sharing it
  // with SO_REUSEPORT; cannot assign address; name not resolved; ...).
  // REQUIRES: start() has not succeeded before on this Server.
  Status start();

  // The bound port: the one chosen by the kernel when options.port is 0.
  // REQUIRES: start() succeeded.
  std::uint16_t port() const { return port_; }

  // Stops accepting, closes every connection (requests not yet answered get
  // no answer) and joins the worker threads. Idempotent. A Server does not
  // start again after stop().
  void stop();

 private:
  void shutdown_workers();

  const ServerOptions options_;
  Handler& handler_;
  const CommitWaiter waiter_;

  std::mutex lifecycle_mu_;  // serializes start() and stop()
  bool started_ = false;
  bool stopped_ = false;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<detail::ServerWorker>> workers_;
};

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_SERVER_H_
