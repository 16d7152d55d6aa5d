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
#include "protocols/http/tls_context.h"

namespace mamori::http {

namespace detail {
class ServerWorker;
struct ServerCounters;
class TlsState;
}  // namespace detail

struct ServerOptions {
  std::string host = "127.0.0.1";  // an IP literal ("::" for all IPv6) or a resolvable name
  std::uint16_t port = 8425;       // 0 picks a free port; see Server::port()
  int threads = 2;                 // worker threads, each with its own acceptor; at least 1
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;     // request line, header and trailer fields
  std::size_t max_chunk_line_bytes = 4 * 1024;  // one chunk-size line with its extensions
  // Every byte read for one request: request line, header, body, chunk
  // framing and trailer.
  std::size_t max_request_bytes = 128 * 1024;
  // Open connections over all workers; a connection accepted beyond it is
  // closed at once, unread. At least 1.
  std::size_t max_connections = 1024;
  // Deferred answers (Response::defer()) one worker holds unfinished; a
  // handler's defer() beyond it answers 503 `server_busy` with
  // `Retry-After: 1`. At least 1.
  std::size_t max_deferred_answers = 4096;
  // A connection is closed when no request starts this long after it became
  // idle, or a response is not taken by the peer in this time. Zero: never.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // A request must arrive in full this long after its first byte: a slow
  // trickle of head, body or chunks does not extend it. Zero: never. Neither
  // timeout runs while a response waits for a commit (Response::wait_for).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  // TLS on the listener when tls.enabled(): every connection then starts
  // with a handshake (bounded by tls.handshake_timeout) and speaks HTTP over
  // it; the connection logic above is the same for both.
  TlsOptions tls;
};

// The HTTP/1.1 transport in front of a Handler: keep-alive, pipelining (answers
// in request order), limits on every byte it buffers, timeouts and a
// connection limit. Routing, auth and request metrics are the Handler's job;
// the server calls it for every well-formed request within the limits,
// whatever the method or target.
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
// Deferred answers: a handler that would block (a password hash, a store
// read) calls Response::defer() and returns; the DeferredAnswer it got is
// finished later from any thread, and the server posts that answer back to
// the connection's worker, which writes it (after its commit, when it
// carries wait_for) exactly as if the handler had given it. Meanwhile the
// worker serves its other connections; the connection itself reads no
// further request until the answer is written, so keep-alive and
// pipelined answers keep their order. An answer finished after its
// connection closed or after stop() is dropped. At most
// max_deferred_answers are unfinished per worker.
//
// Limits: every byte the server holds for a connection is bounded. The
// request head by max_header_bytes and 64 fields; the body by
// max_body_bytes; a chunk-size line (with extensions) by
// max_chunk_line_bytes; trailer fields count against max_header_bytes
// together with the head and are dropped (the handler sees the header
// fields only); and all of it with the chunk framing by max_request_bytes.
// Reads are 4 KiB, so the unparsed input of a connection never exceeds its
// limit by more than that.
//
// Protocol errors answer with the API's JSON error body and close the
// connection; the handler is not called: malformed HTTP 400 `bad_request`
// (also a chunk-size line over max_chunk_line_bytes, and a Transfer-Encoding
// that names chunked twice or no coding); a body over max_body_bytes 413
// `body_too_large`; a request over max_request_bytes 413
// `request_too_large`; a head or trailer over max_header_bytes, or a head
// with more than 64 fields, 431 `headers_too_large`; a Transfer-Encoding
// other than `chunked` alone (gzip, "chunked, gzip", an unknown coding) 501
// `not_implemented`, since the body's length could not be known. A request
// that does not arrive within request_timeout, or a connection idle past
// idle_timeout, is closed without an answer.
//
// Connections: at most max_connections are open; one accepted beyond it is
// closed before anything is read from it, counted, and logged at most once
// per 10 s with the number refused since the last line.
//
// TLS: with options.tls enabled, each connection's first bytes must be a TLS
// handshake. One that starts with anything else but a TLS record (plain
// HTTP sent to the port) is answered in plain HTTP with 400 `tls_required`
// and closed; a handshake that fails (no shared version or cipher, a client
// certificate missing or not signed by the client CA, a client that refuses
// the server's certificate) or that is not done within
// tls.handshake_timeout closes the connection. Both are counted by reason.
// After a final answer the server sends TLS close_notify and waits for the
// client's (at most 2 s) before closing.
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
  // from when it returns. With TLS, first reads the certificate and key:
  // fails with make_tls_context's `tls_config` error. Fails with code
  // `listen_failed` and a message
  // "host:port: reason" (address in use, also by another process sharing it
  // with SO_REUSEPORT; cannot assign address; name not resolved; threads or
  // max_connections below 1; ...).
  // REQUIRES: start() has not succeeded before on this Server.
  Status start();

  // The bound port: the one chosen by the kernel when options.port is 0.
  // REQUIRES: start() succeeded.
  std::uint16_t port() const { return port_; }

  // Prometheus text: open connections, connections refused at the limit,
  // requests refused by the transport by reason, deferred answers (in all,
  // pending, refused at the limit); with TLS, handshakes done
  // and failed by reason and the certificate's expiry. Thread-safe.
  void render_metrics(std::string& out) const;

  // Reads options.tls's files again and uses them for the connections
  // accepted from now on (those open keep theirs). On failure (the codes
  // and messages of make_tls_context) the certificate in use stays.
  // Returns the new certificate's subject and expiry, for the log.
  // Thread-safe. REQUIRES: start() succeeded with options.tls enabled.
  Result<std::string> reload_tls();

  // The certificate in use, "SUBJECT, valid until TIME"; "" without TLS.
  // Thread-safe.
  std::string tls_certificate() const;

  // Stops accepting, closes every connection (requests not yet answered get
  // no answer) and joins the worker threads. Idempotent. A Server does not
  // start again after stop().
  void stop();

 private:
  void shutdown_workers();

  const ServerOptions options_;
  Handler& handler_;
  const CommitWaiter waiter_;
  // Shared by the workers; declared before workers_ so that they outlive them.
  const std::unique_ptr<detail::ServerCounters> counters_;
  std::unique_ptr<detail::TlsState> tls_;  // set by start() with TLS; null without

  std::mutex lifecycle_mu_;  // serializes start() and stop()
  bool started_ = false;
  bool stopped_ = false;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<detail::ServerWorker>> workers_;
};

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_SERVER_H_
