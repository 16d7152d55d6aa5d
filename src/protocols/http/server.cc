#include "protocols/http/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <deque>
#include <exception>
#include <limits>
#include <optional>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include "core/deferred_wakes.h"
#include "core/log.h"

namespace mamori::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using TlsStream = boost::asio::ssl::stream<tcp::socket>;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxHeaders = 64;            // Header views handed to the handler
constexpr std::size_t kReadSize = 4096;            // bytes asked of each read
constexpr std::size_t kFlushBytes = 64 * 1024;     // pipelined answers batched up to this
constexpr std::size_t kTailBytes = 16 * 1024;      // bigger bodies are written, not copied
constexpr std::size_t kKeepCapacity = 256 * 1024;  // per-connection strings shrink above this
constexpr std::chrono::seconds kLinger{2};         // drain time before closing after an error
constexpr std::size_t kMaxDrainBytes = 1 << 20;    // and at most this much read while draining
constexpr std::chrono::seconds kRefusalLogEvery{10};  // at most one "refused" line this often
constexpr std::size_t kMaxCodingText = 64;            // of an unsupported coding, in its answer

// Why the transport refused a request (the handler was not called), for the
// metrics. The order is the label order of render_metrics().
enum class Rejection : std::uint8_t {
  kBadRequest,
  kHeadersTooLarge,
  kBodyTooLarge,
  kRequestTooLarge,
  kChunkLineTooLong,
  kTransferCoding,
  kRequestTimeout,
};
constexpr std::array<std::string_view, 7> kRejectionLabels = {
    "bad_request",       "headers_too_large",   "body_too_large",
    "request_too_large", "chunk_line_too_long", "transfer_coding_not_implemented",
    "request_timeout"};

// Why a TLS handshake failed, for the metrics. The order is the label order.
enum class HandshakeFailure : std::uint8_t {
  kTimeout,
  kPlainHttp,
  kClosed,
  kNoClientCertificate,
  kBadClientCertificate,
  kProtocolVersion,
  kNoSharedCipher,
  kClientAlert,
  kProtocolError,
};
constexpr std::array<std::string_view, 9> kHandshakeFailureLabels = {"timeout",
                                                                     "plain_http",
                                                                     "closed",
                                                                     "no_client_certificate",
                                                                     "bad_client_certificate",
                                                                     "protocol_version",
                                                                     "no_shared_cipher",
                                                                     "client_alert",
                                                                     "protocol_error"};

// The reason a handshake ended with `ec` (not a timeout: the caller knows).
HandshakeFailure classify_handshake_error(const error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    switch (reason) {
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST:
        return HandshakeFailure::kPlainHttp;
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return HandshakeFailure::kNoClientCertificate;
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return HandshakeFailure::kBadClientCertificate;
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return HandshakeFailure::kProtocolVersion;
      case SSL_R_NO_SHARED_CIPHER:
        return HandshakeFailure::kNoSharedCipher;
      case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return HandshakeFailure::kClosed;
      default:
        // An alert the client sent: most often it refused the server's
        // certificate (unknown CA, wrong name, expired).
        if (reason >= SSL_AD_REASON_OFFSET) return HandshakeFailure::kClientAlert;
        return HandshakeFailure::kProtocolError;
    }
  }
  if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
    return HandshakeFailure::kClosed;
  return HandshakeFailure::kProtocolError;
}

std::string size_text(std::size_t n) {
  if (n >= 1024 * 1024 && n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n / 1024) + " KiB";
  return std::to_string(n) + " bytes";
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

bool has_crlf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What a Transfer-Encoding field value asks of the body. Only `chunked`
// alone is understood: with any other coding (gzip, "chunked, gzip",
// "gzip, chunked", an unknown name) the body's length or content could not
// be known, so the request is refused rather than read as something else.
enum class TransferCoding : std::uint8_t { kChunked, kUnsupported, kMalformed };

// Classifies `value`; for kUnsupported, `unsupported` is the first coding
// other than chunked.
TransferCoding classify_transfer_encoding(std::string_view value, std::string_view& unsupported) {
  std::size_t chunked = 0;
  bool other = false;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view item = trim_ows(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (item.empty()) continue;  // "a, , b": empty list elements are allowed
    if (iequals(item, "chunked")) {
      ++chunked;
    } else if (!other) {
      other = true;
      unsupported = item;
    }
  }
  if (other) return TransferCoding::kUnsupported;
  return chunked == 1 ? TransferCoding::kChunked : TransferCoding::kMalformed;
}

void reset(Response& r) {
  r.status = 200;
  r.content_type = "application/json";
  r.body.clear();
  r.headers.clear();
  r.wait_for = 0;
  r.wait_from = 0;
  r.deferred = false;
}

template <typename String>
void trim_capacity(String& s) {
  if (s.capacity() > kKeepCapacity) String().swap(s);
}

// Parses one request into connection-owned storage: the request line and the
// header fields are copied into `head` (the parser's views point into the read
// buffer, which moves as more arrives), the body is appended to `body`. Beast's
// header_limit only bounds the unparsed part of the header, so the total is
// bounded here. One parser per request (Beast parsers are single-use).
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  struct Slice {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
  };
  struct Field {
    Slice name;
    Slice value;
  };

  RequestParser(std::string& head, std::string& body, std::size_t max_header_bytes,
                std::size_t max_chunk_line_bytes)
      : head_(head),
        body_(body),
        max_header_bytes_(max_header_bytes),
        max_chunk_line_bytes_(max_chunk_line_bytes) {}

  std::string_view view(Slice s) const { return std::string_view(head_).substr(s.offset, s.size); }
  Slice method() const { return method_; }
  Slice target() const { return target_; }
  const Field* fields() const { return fields_.data(); }
  std::size_t field_count() const { return field_count_; }
  int version() const { return version_; }
  bool too_many_fields() const { return too_many_fields_; }
  bool expects_continue() const { return expect_continue_; }
  // kUnsupported or kMalformed when a Transfer-Encoding was refused.
  TransferCoding refused_coding() const { return refused_coding_; }
  // The coding named in a kUnsupported Transfer-Encoding, cut to 64 bytes.
  std::string_view unsupported_coding() const { return {coding_.data(), coding_size_}; }
  bool chunk_line_too_long() const { return chunk_line_too_long_; }
  bool continue_sent = false;

 private:
  bool fits(std::size_t more) const { return head_.size() + more <= max_header_bytes_; }

  Slice store(std::string_view s) {
    Slice slice{static_cast<std::uint32_t>(head_.size()), static_cast<std::uint32_t>(s.size())};
    head_.append(s);
    return slice;
  }

  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target,
                       int version, error_code& ec) override {
    if (!fits(method.size() + target.size() + 12)) {  // "M T HTTP/1.1\r\n"
      ec = bhttp::error::header_limit;
      return;
    }
    method_ = store({method.data(), method.size()});
    target_ = store({target.data(), target.size()});
    version_ = version;
  }

  void on_response_impl(int, beast::string_view, int, error_code& ec) override {
    ec = bhttp::error::bad_version;  // unreachable for a request parser
  }

  void on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                     error_code& ec) override {
    // Trailer fields (after a chunked body) are dropped: the connection
    // bounds their size, and the handler sees the header fields only.
    if (is_header_done()) return;
    if (field_count_ == kMaxHeaders) {
      too_many_fields_ = true;
      ec = bhttp::error::header_limit;
      return;
    }
    if (name == bhttp::field::transfer_encoding) {
      std::string_view coding;
      refused_coding_ = classify_transfer_encoding({value.data(), value.size()}, coding);
      if (refused_coding_ != TransferCoding::kChunked) {
        coding_size_ = std::min(coding.size(), coding_.size());
        std::copy_n(coding.data(), coding_size_, coding_.data());
        ec = bhttp::error::bad_transfer_encoding;
        return;
      }
    }
    if (!fits(name_string.size() + value.size() + 4)) {  // "N: V\r\n"
      ec = bhttp::error::header_limit;
      return;
    }
    if (name == bhttp::field::expect && iequals({value.data(), value.size()}, "100-continue"))
      expect_continue_ = true;
    Field& f = fields_[field_count_++];
    f.name = store({name_string.data(), name_string.size()});
    f.value = store({value.data(), value.size()});
  }

  void on_header_impl(error_code&) override {}

  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code&) override {
    // The parser has checked the length against body_limit already.
    if (content_length) body_.reserve(static_cast<std::size_t>(*content_length));
  }

  std::size_t on_body_impl(beast::string_view data, error_code&) override {
    body_.append(data.data(), data.size());
    return data.size();
  }

  // A whole chunk-size line arrived: its size digits and extensions. (One
  // still arriving is bounded by the connection, which holds it.)
  void on_chunk_header_impl(std::uint64_t size, beast::string_view extensions,
                            error_code& ec) override {
    std::size_t digits = 1;
    while (size >>= 4) ++digits;
    if (digits + extensions.size() > max_chunk_line_bytes_) {
      chunk_line_too_long_ = true;
      ec = bhttp::error::bad_chunk_extension;
    }
  }

  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view data, error_code&) override {
    body_.append(data.data(), data.size());
    return data.size();
  }

  void on_finish_impl(error_code&) override {}

  std::string& head_;
  std::string& body_;
  const std::size_t max_header_bytes_;
  const std::size_t max_chunk_line_bytes_;
  Slice method_;
  Slice target_;
  int version_ = 11;
  std::array<Field, kMaxHeaders> fields_;
  std::size_t field_count_ = 0;
  bool too_many_fields_ = false;
  bool expect_continue_ = false;
  TransferCoding refused_coding_ = TransferCoding::kChunked;  // kChunked: none refused
  std::array<char, kMaxCodingText> coding_;
  std::size_t coding_size_ = 0;
  bool chunk_line_too_long_ = false;
};

// Lets `ready` callbacks post to a worker's event loop for as long as it
// exists; stop() detaches it under the lock.
struct Gate {
  std::mutex mu;
  asio::io_context* ioc = nullptr;
};

// What a worker needs of a connection, whatever its stream: the sweep and
// the commit waits call these (once per connection or per held answer; the
// request path itself is not virtual).
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Closes the socket if a handshake, read, write or linger has run past its
  // deadline; the pending operation then fails and the connection closes.
  virtual void expire(SteadyClock::time_point now) = 0;
  virtual void on_commit_ready(std::uint64_t seq) = 0;
  virtual void on_commit_failed(std::uint64_t seq) = 0;
  virtual void on_commit_refused(std::uint64_t seq) = 0;
  // The deferred answer `seq` (Response::defer()) was finished.
  virtual void on_deferred(std::uint64_t seq, Response&& response) = 0;

  std::size_t slot = 0;  // index in Worker::connections
};

}  // namespace

namespace detail {

// The TLS context new connections use, replaced by a reload, and the
// handshake counts. Thread-safe.
class TlsState {
 public:
  explicit TlsState(TlsContext context)
      : current_(std::make_shared<const TlsContext>(std::move(context))) {}

  std::shared_ptr<const TlsContext> current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void replace(TlsContext context) {
    auto next = std::make_shared<const TlsContext>(std::move(context));
    std::lock_guard<std::mutex> lock(mu_);
    current_.swap(next);
  }

  void failed(HandshakeFailure why) {
    failures[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  }

  std::atomic<std::uint64_t> done{0};
  std::array<std::atomic<std::uint64_t>, kHandshakeFailureLabels.size()> failures{};

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TlsContext> current_;
};

// The counts the workers share: the connection limit and the metrics.
// Relaxed atomics, touched once per connection or per refused request.
struct ServerCounters {
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> refused_logged{0};    // `refused` when the last line was written
  std::atomic<std::int64_t> refusal_logged_at{0};  // steady clock, ns; 0: never
  std::array<std::atomic<std::uint64_t>, kRejectionLabels.size()> rejected{};
  std::atomic<std::uint64_t> deferred{0};          // answers deferred by handlers
  std::atomic<std::int64_t> deferred_pending{0};   // of them, not finished yet
  std::atomic<std::uint64_t> deferred_refused{0};  // 503 at max_deferred_answers

  void reject(Rejection r) {
    rejected[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }

  // Counts a connection refused at the limit; logs the number refused since
  // the last line at most once per kRefusalLogEvery.
  void refuse(std::size_t limit) {
    const std::uint64_t total = refused.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::int64_t now = SteadyClock::now().time_since_epoch().count();
    std::int64_t last = refusal_logged_at.load(std::memory_order_relaxed);
    if (last != 0 && now - last < std::chrono::nanoseconds(kRefusalLogEvery).count()) return;
    if (!refusal_logged_at.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
    const std::uint64_t since = total - refused_logged.exchange(total, std::memory_order_relaxed);
    log_warn("http: new connections refused: " + std::to_string(limit) +
             " are open, the server.max_connections limit (" + std::to_string(since) +
             " refused since the last line, " + std::to_string(total) +
             " in all; at most one line per " + std::to_string(kRefusalLogEvery.count()) + " s)");
  }
};

// One event loop, its listening socket and the connections it owns. All
// members but `gate` are used only on the worker thread (or after it joined).
class ServerWorker {
 public:
  ServerWorker(const ServerOptions& options, Handler& handler, const CommitWaiter& waiter,
               ServerCounters& counters, TlsState* tls)
      : options(options),
        handler(handler),
        waiter(waiter),
        counters(counters),
        tls(tls),
        ioc(1),
        acceptor(ioc),
        sweep(ioc),
        accept_retry(ioc),
        gate(std::make_shared<Gate>()) {
    gate->ioc = &ioc;
  }

  void start();
  void run();
  void remove(ConnectionBase& c);
  SteadyClock::time_point idle_deadline() const;
  SteadyClock::time_point request_deadline() const;

  // Holds `c`'s answer `seq` until ticket `ticket` is committed. One waiter
  // call is out at a time, for the oldest held answer; when it reports, every
  // held answer up to the committed ticket is released at once (a commit
  // carries many requests' writes), and the next oldest is watched.
  // A failed commit among tickets `first` to `ticket` makes the answer a 503.
  void hold(std::uint64_t first, std::uint64_t ticket, std::weak_ptr<ConnectionBase> c,
            std::uint64_t seq);

  // A target for `c`'s deferred answer `seq`; null (`r` set to 503
  // `server_busy`) when options.max_deferred_answers are pending on this
  // worker. Finishing it posts the answer to this worker's loop.
  std::shared_ptr<DeferredTarget> defer(Response& r, std::weak_ptr<ConnectionBase> c,
                                        std::uint64_t seq);

  const ServerOptions& options;
  Handler& handler;
  const CommitWaiter& waiter;
  ServerCounters& counters;  // the Server's: outlives the worker and every Connection
  TlsState* const tls;       // the Server's; null without TLS

  asio::io_context ioc;  // declared first: destroyed last, after every socket
  tcp::acceptor acceptor;
  asio::steady_timer sweep;
  asio::steady_timer accept_retry;
  std::shared_ptr<Gate> gate;
  std::vector<std::shared_ptr<ConnectionBase>> connections;  // owners; ConnectionBase::slot indexes
  std::thread thread;

 private:
  void accept();
  void on_accept(const error_code& ec, tcp::socket socket);
  template <typename C, typename... Args>
  void adopt(tcp::socket socket, Args&&... args);
  void schedule_sweep();
  SteadyClock::duration sweep_interval() const;
  void watch_commits();
  void release(std::uint64_t committed, std::uint64_t watch);

  struct HeldAnswer {
    std::uint64_t first;
    std::uint64_t ticket;
    std::weak_ptr<ConnectionBase> connection;
    std::uint64_t seq;
  };
  std::deque<HeldAnswer> held_;  // in the order the requests were answered
  std::uint64_t watch_ = 0;      // the waiter call out for held_.front(); 0: none
  std::uint64_t watches_ = 0;
  std::size_t deferred_ = 0;  // deferred answers not finished (or their finish not run yet)

  class DeferredSlot;

  bool accept_error_logged_ = false;
};

}  // namespace detail

namespace {

using Worker = detail::ServerWorker;

// One client connection over `Stream`: a tcp::socket, or a TlsStream over
// one. Lives on one worker thread; owned by the worker's `connections` list
// from accept to close(), and by its pending operations.
//
// Half-duplex: read and parse, answer every complete request already
// buffered (pipelining) into `out_`, write, then read again. A response that
// waits for a commit stops parsing until it is written. Over TLS the same,
// after a handshake; the differences (writes always asynchronous, since a
// TLS record once encrypted cannot be half-written and retried; close_notify
// on linger) are the `if constexpr (kTls)` branches.
template <typename Stream>
class Connection final : public ConnectionBase,
                         public Deferrer,
                         public std::enable_shared_from_this<Connection<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

 public:
  // Takes over one of the worker's counted connection slots.
  Connection(Worker& worker, tcp::socket socket) requires(!kTls)
      : w_(worker), counters_(worker.counters), stream_(std::move(socket)) {}
  Connection(Worker& worker, tcp::socket socket,
             std::shared_ptr<const TlsContext> tls) requires(kTls)
      : w_(worker),
        counters_(worker.counters),
        tls_(std::move(tls)),
        stream_(std::move(socket), *tls_->ssl) {}
  ~Connection() override { counters_.open.fetch_sub(1, std::memory_order_relaxed); }

  void start() {
    if constexpr (kTls) {
      handshake();
    } else {
      new_parser();
      guarded([&] { process(); });
    }
  }

  void expire(SteadyClock::time_point now) override {
    SteadyClock::time_point deadline;
    switch (state_) {
      case State::kReading:
        deadline = request_deadline_;
        break;
      case State::kHandshaking:
      case State::kWriting:
      case State::kLingering:
        deadline = deadline_;
        break;
      default:
        return;  // idle before start, waiting for a commit, or closed
    }
    if (now < deadline || !lowest().is_open()) return;
    if (state_ == State::kReading && request_started_) counters_.reject(Rejection::kRequestTimeout);
    if (state_ == State::kHandshaking) handshake_timed_out_ = true;
    error_code ec;
    lowest().close(ec);
  }

  void on_commit_ready(std::uint64_t seq) override {
    if (closed_ || !waiting_ || seq != wait_seq_) return;
    if (writing_) {  // earlier answers are still going out: on_written continues
      commit_ready_ = true;
      return;
    }
    guarded([&] {
      finish_commit();
      process();
    });
  }

  // The commit could not be waited for: the held answer becomes a 500.
  void on_commit_failed(std::uint64_t seq) override {
    if (closed_ || !waiting_ || seq != wait_seq_) return;
    reset(pending_);
    set_error(pending_, 500, "internal_error", "internal error while committing the request");
    on_commit_ready(seq);
  }

  // The commit finished but did not store the answer's writes: the held
  // answer becomes a 503 that the client may retry.
  void on_commit_refused(std::uint64_t seq) override {
    if (closed_ || !waiting_ || seq != wait_seq_) return;
    reset(pending_);
    set_error(pending_, 503, "store_unavailable",
              "the request's writes could not be stored; nothing of it took effect, try again");
    pending_.headers.emplace_back("Retry-After", "1");
    on_commit_ready(seq);
  }

  // A deferred answer arrived: written as a handler's answer would be,
  // after its commit when it carries a write ticket.
  void on_deferred(std::uint64_t seq, Response&& response) override {
    if (closed_ || !waiting_ || seq != wait_seq_) return;
    pending_ = std::move(response);
    pending_.deferred = false;
    if (pending_.wait_for != 0 && w_.waiter) {
      w_.hold(pending_.wait_from != 0 ? pending_.wait_from : pending_.wait_for, pending_.wait_for,
              this->weak_from_this(), ++wait_seq_);
      return;
    }
    on_commit_ready(seq);
  }

  std::shared_ptr<DeferredTarget> defer(Response& r) override {
    return w_.defer(r, this->weak_from_this(), ++wait_seq_);
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    state_ = State::kClosed;
    error_code ec;
    lowest().close(ec);
    w_.remove(*this);  // may drop the last owner but the caller's
  }

 private:
  enum class State { kIdle, kHandshaking, kReading, kWriting, kWaiting, kLingering, kClosed };
  // What to do once the answers in out_ are written.
  enum class Next { kRead, kMore, kHeld, kClose };
  enum class WriteResult { kDone, kPending, kFailed };

  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      log_error_limited("http: connection closed after an exception",
                        std::string("http: connection closed after an exception: ") + e.what());
      close();
    }
  }

  void new_parser() {
    request_deadline_ = w_.idle_deadline();
    request_started_ = false;
    request_bytes_ = 0;
    head_.clear();
    body_.clear();
    trim_capacity(body_);
    parser_.emplace(head_, body_, w_.options.max_header_bytes, w_.options.max_chunk_line_bytes);
    parser_->eager(true);
    parser_->body_limit(static_cast<std::uint64_t>(w_.options.max_body_bytes));
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        w_.options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  }

  // Drives the connection until it waits for I/O or a commit.
  void process() {
    for (;;) {
      Next next = parse_and_answer();
      if (out_off_ < out_.size() || tail_off_ < tail_.size()) {
        WriteResult r = write_now();
        if (r == WriteResult::kFailed) return close();
        if (r == WriteResult::kPending) {
          after_write_ = next;
          return;
        }
      }
      if (!proceed(next)) return;
    }
  }

  // Acts on `next` once out_ is empty; true when process() should go on.
  bool proceed(Next next) {
    switch (next) {
      case Next::kMore:
        return true;
      case Next::kRead:
        read_more();
        return false;
      case Next::kHeld:
        state_ = State::kWaiting;
        return false;
      case Next::kClose:
        linger();
        return false;
    }
    return false;
  }

  // Parses buffered bytes and answers each complete request into out_.
  Next parse_and_answer() {
    if (closing_) return Next::kClose;
    if (waiting_) return Next::kHeld;
    if (tail_off_ < tail_.size()) return Next::kMore;  // a held answer's large body goes out first
    for (;;) {
      error_code ec;
      if (buffer_.size() == 0) {
        ec = bhttp::error::need_more;
      } else {
        std::size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        request_bytes_ += used;
        if (!ec && !parser_->is_done() && buffer_.size() == 0) ec = bhttp::error::need_more;
      }
      if (ec == bhttp::error::need_more) {
        // Part of a request is in: from now it must arrive within the request
        // timeout. (Set here, not at the first byte, so that a request read
        // whole costs no clock call.)
        if (!request_started_ && (request_bytes_ > 0 || buffer_.size() > 0)) {
          request_started_ = true;
          request_deadline_ = w_.request_deadline();
        }
        if (std::optional<Rejection> why = check_unparsed()) {
          reject(*why);
          return Next::kClose;
        }
        if (parser_->is_header_done() && parser_->expects_continue() && parser_->version() >= 11 &&
            !parser_->continue_sent) {
          out_ += "HTTP/1.1 100 Continue\r\n\r\n";
          parser_->continue_sent = true;
        }
        return Next::kRead;
      }
      if (ec) {
        protocol_error(ec);
        return Next::kClose;
      }
      if (!parser_->is_done()) continue;
      if (request_bytes_ > w_.options.max_request_bytes) {
        reject(Rejection::kRequestTooLarge);
        return Next::kClose;
      }

      Next next = answer();
      if (next != Next::kMore) return next;
      new_parser();
      if (out_.size() - out_off_ >= kFlushBytes || !tail_.empty()) return Next::kMore;
    }
  }

  // Calls the handler for the complete request in parser_.
  Next answer() {
    const RequestParser& p = *parser_;
    std::array<Header, kMaxHeaders> headers;
    const std::size_t n = p.field_count();
    for (std::size_t i = 0; i < n; ++i)
      headers[i] = Header{p.view(p.fields()[i].name), p.view(p.fields()[i].value)};
    Request request{p.view(p.method()), p.view(p.target()), body_,
                    std::span<const Header>(headers.data(), n), peer_address()};
    Framing framing{request.method == "HEAD", p.keep_alive(), p.version() < 11};

    reset(response_);
    response_.deferrer = this;
    try {
      w_.handler.handle(request, response_);
    } catch (const std::exception& e) {
      reset(response_);
      set_error(response_, 500, "internal_error", "internal error while handling the request");
      log_error_limited("http: handler threw",
                        "http: handler threw on " + std::string(request.method) + " " +
                            std::string(request.target.substr(0, 200)) + ": " + e.what());
    }

    if (response_.deferred) {  // the answer comes through on_deferred(wait_seq_)
      pending_framing_ = framing;
      waiting_ = true;
      return Next::kHeld;
    }
    if (response_.wait_for != 0 && w_.waiter) {
      pending_ = std::move(response_);
      pending_framing_ = framing;
      waiting_ = true;
      w_.hold(pending_.wait_from != 0 ? pending_.wait_from : pending_.wait_for, pending_.wait_for,
              this->weak_from_this(), ++wait_seq_);
      return Next::kHeld;
    }
    append_response(response_, framing);
    return framing.keep_alive ? Next::kMore : Next::kClose;
  }

  // The connection's peer, read once.
  IpAddress peer_address() {
    if (!peer_read_) {
      peer_read_ = true;
      error_code ec;
      const auto ep = lowest().remote_endpoint(ec);
      if (!ec) {
        asio::ip::address a = ep.address();
        if (a.is_v6() && a.to_v6().is_v4_mapped())
          a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
        peer_ = a.is_v4() ? IpAddress::from_v4(a.to_v4().to_uint())
                          : IpAddress::from_bytes(a.to_v6().to_bytes());
      }
    }
    return peer_;
  }

  void finish_commit() {
    waiting_ = false;
    append_response(pending_, pending_framing_);
    if (!pending_framing_.keep_alive) closing_ = true;
    new_parser();
  }

  // Checks the bytes of the current request that the parser has not taken
  // yet (it takes them once a line is complete) against the limits.
  std::optional<Rejection> check_unparsed() const {
    const std::size_t pending = buffer_.size();
    if (request_bytes_ + pending > w_.options.max_request_bytes) return Rejection::kRequestTooLarge;
    if (pending == 0 || !parser_->is_header_done() || !parser_->chunked()) return std::nullopt;
    // In a chunked body the parser waits for a whole chunk-size line, and
    // after the last chunk's line for the whole trailer.
    std::string_view data(static_cast<const char*>(buffer_.data().data()), pending);
    if (data.starts_with("\r\n")) data.remove_prefix(2);  // ends the chunk before
    const std::size_t max_line = w_.options.max_chunk_line_bytes;
    const std::size_t eol = data.substr(0, max_line + 2).find("\r\n");
    if (eol == std::string_view::npos) {
      if (data.size() > max_line) return Rejection::kChunkLineTooLong;
      return std::nullopt;
    }
    const std::size_t trailer = data.size() - eol - 2;
    if (head_.size() + trailer > w_.options.max_header_bytes) return Rejection::kHeadersTooLarge;
    return std::nullopt;
  }

  void protocol_error(const error_code& ec) {
    if (ec == bhttp::error::body_limit) return reject(Rejection::kBodyTooLarge);
    if (ec == bhttp::error::header_limit) return reject(Rejection::kHeadersTooLarge);
    if (parser_->chunk_line_too_long()) return reject(Rejection::kChunkLineTooLong);
    if (ec == bhttp::error::bad_transfer_encoding &&
        parser_->refused_coding() == TransferCoding::kUnsupported)
      return reject(Rejection::kTransferCoding);
    reject(Rejection::kBadRequest, ec);
  }

  // Answers a request the transport refuses and closes after the answer.
  void reject(Rejection why, const error_code& ec = {}) {
    counters_.reject(why);
    const ServerOptions& o = w_.options;
    Response r;
    switch (why) {
      case Rejection::kBodyTooLarge:
        set_error(r, 413, "body_too_large",
                  "request body is larger than the " + size_text(o.max_body_bytes) + " limit");
        break;
      case Rejection::kRequestTooLarge:
        set_error(r, 413, "request_too_large",
                  "request (header, body and chunk framing) is larger than the " +
                      size_text(o.max_request_bytes) + " limit");
        break;
      case Rejection::kHeadersTooLarge:
        if (parser_->too_many_fields()) {
          set_error(r, 431, "headers_too_large",
                    "request has more than " + std::to_string(kMaxHeaders) + " header fields");
        } else {
          set_error(r, 431, "headers_too_large",
                    std::string(parser_->is_header_done() ? "request header and trailer are"
                                                          : "request header is") +
                        " larger than the " + size_text(o.max_header_bytes) + " limit");
        }
        break;
      case Rejection::kChunkLineTooLong:
        set_error(
            r, 400, "bad_request",
            "chunk-size line is longer than the " + size_text(o.max_chunk_line_bytes) + " limit");
        break;
      case Rejection::kTransferCoding:
        set_error(r, 501, "not_implemented",
                  "transfer coding \"" + std::string(parser_->unsupported_coding()) +
                      "\" is not supported: only chunked is");
        break;
      case Rejection::kBadRequest:
      case Rejection::kRequestTimeout:
        set_error(r, 400, "bad_request",
                  parser_->refused_coding() == TransferCoding::kMalformed
                      ? std::string("malformed HTTP request: Transfer-Encoding must name chunked "
                                    "once")
                      : "malformed HTTP request: " + ec.message());
        break;
    }
    append_response(r, Framing{false, false, false});
    closing_ = true;
  }

  struct Framing {
    bool head = false;       // HEAD: no body
    bool keep_alive = true;  // otherwise `Connection: close` and close after
    bool http10 = false;     // HTTP/1.0 keep-alive is announced explicitly
  };

  void append_response(Response& r, const Framing& f) {
    int status = r.status;
    if (status < 100 || status > 999) status = 500;
    const bool bodiless = status < 200 || status == 204 || status == 304;
    out_ += "HTTP/1.1 ";
    append_number(out_, static_cast<std::uint64_t>(status));
    out_ += ' ';
    beast::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    out_.append(reason.data(), reason.size());
    out_ += "\r\nServer: mamori\r\n";
    if (!r.content_type.empty() && !has_crlf(r.content_type)) {
      out_ += "Content-Type: ";
      out_ += r.content_type;
      out_ += "\r\n";
    }
    if (!bodiless) {
      out_ += "Content-Length: ";
      append_number(out_, r.body.size());
      out_ += "\r\n";
    }
    for (const auto& [name, value] : r.headers) {
      if (name.empty() || has_crlf(name) || has_crlf(value) || iequals(name, "Content-Length") ||
          iequals(name, "Transfer-Encoding") || iequals(name, "Connection"))
        continue;
      out_ += name;
      out_ += ": ";
      out_ += value;
      out_ += "\r\n";
    }
    if (!f.keep_alive)
      out_ += "Connection: close\r\n";
    else if (f.http10)
      out_ += "Connection: keep-alive\r\n";
    out_ += "\r\n";
    if (bodiless || f.head) return;
    if (r.body.size() >= kTailBytes && tail_.empty()) {
      tail_ = std::move(r.body);  // written from its own buffer, not copied
      tail_off_ = 0;
    } else {
      out_ += r.body;
    }
  }

  std::array<asio::const_buffer, 2> pending_output() const {
    return {asio::buffer(out_.data() + out_off_, out_.size() - out_off_),
            asio::buffer(tail_.data() + tail_off_, tail_.size() - tail_off_)};
  }

  void consumed_output(std::size_t n) {
    std::size_t from_out = std::min(n, out_.size() - out_off_);
    out_off_ += from_out;
    tail_off_ += n - from_out;
  }

  void clear_output() {
    out_.clear();
    out_off_ = 0;
    tail_.clear();
    tail_off_ = 0;
    trim_capacity(out_);
    trim_capacity(tail_);
  }

  // Writes out_ and tail_ without waiting if the socket takes it all (the
  // usual case), otherwise starts an asynchronous write of the rest. Over
  // TLS always the latter: a record the stream encrypted must go out whole.
  WriteResult write_now() {
    if constexpr (kTls) {
      if (asio::buffer_size(pending_output()) == 0) {
        clear_output();
        return WriteResult::kDone;
      }
    } else {
      for (;;) {
        auto bufs = pending_output();
        if (asio::buffer_size(bufs) == 0) {
          clear_output();
          return WriteResult::kDone;
        }
        error_code ec;
        std::size_t n = stream_.write_some(bufs, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) break;
        if (ec) return WriteResult::kFailed;
        consumed_output(n);
      }
    }
    writing_ = true;
    state_ = State::kWriting;
    deadline_ = w_.idle_deadline();
    asio::async_write(stream_, pending_output(),
                      [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                        self->on_written(ec);
                      });
    return WriteResult::kPending;
  }

  void on_written(const error_code& ec) {
    writing_ = false;
    if (ec || closed_) return close();
    guarded([&] {
      clear_output();
      if (after_write_ == Next::kHeld && commit_ready_) {
        commit_ready_ = false;
        finish_commit();
        process();
        return;
      }
      if (proceed(after_write_)) process();
    });
  }

  void read_more() {
    state_ = State::kReading;
    stream_.async_read_some(buffer_.prepare(kReadSize),
                            [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(const error_code& ec, std::size_t n) {
    if (ec || closed_) return close();  // EOF, reset, timeout: nothing left to answer
    buffer_.commit(n);
    guarded([&] { process(); });
  }

  // Closes gracefully after a final answer: no more sending, then read and
  // drop whatever the client still sends (e.g. the rest of a too-large body)
  // until it closes, kLinger passes or kMaxDrainBytes were dropped, so that
  // the answer is not destroyed by a TCP reset (and a client that keeps
  // sending cannot keep the worker reading for it). Over TLS: close_notify,
  // then the client's close_notify or close is awaited (OpenSSL drops the
  // application data that arrives meanwhile), for at most kLinger.
  void linger() {
    state_ = State::kLingering;
    deadline_ = SteadyClock::now() + kLinger;
    drained_ = 0;
    if constexpr (kTls) {
      if (handshake_done_) {
        stream_.async_shutdown(
            [self = this->shared_from_this()](const error_code&) { self->close(); });
        return;
      }
    }
    error_code ec;
    lowest().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    buffer_.clear();
    drain();
  }

  void drain() {
    lowest().async_read_some(buffer_.prepare(kReadSize), [self = this->shared_from_this()](
                                                             const error_code& ec, std::size_t n) {
      if (ec || self->closed_) return self->close();
      self->drained_ += n;
      if (self->drained_ > kMaxDrainBytes) return self->close();
      self->drain();
    });
  }
  std::size_t drained_ = 0;  // bytes dropped while lingering

  tcp::socket& lowest() { return beast::get_lowest_layer(stream_); }

  // TLS: waits for the client's first bytes, refuses plain HTTP in plain
  // HTTP, then runs the handshake; all within tls.handshake_timeout.
  void handshake() {
    state_ = State::kHandshaking;
    const auto timeout = w_.options.tls.handshake_timeout;
    deadline_ = timeout.count() > 0 ? SteadyClock::now() + timeout : SteadyClock::time_point::max();
    wait_first_bytes();
  }

  void wait_first_bytes() {
    lowest().async_wait(tcp::socket::wait_read,
                        [self = this->shared_from_this()](const error_code& ec) {
                          self->guarded([&] { self->on_first_bytes(ec); });
                        });
  }

  void on_first_bytes(const error_code& ec) {
    if (ec || closed_) return handshake_failed(ec);
    // A TLS connection starts with a handshake record (content type 22).
    // Letters are an HTTP request line: answer it in its own language.
    unsigned char first = 0;
    error_code peek_ec;
    const std::size_t n =
        lowest().receive(asio::buffer(&first, 1), tcp::socket::message_peek, peek_ec);
    if (peek_ec == asio::error::would_block || peek_ec == asio::error::try_again)
      return wait_first_bytes();  // woken without data
    if (peek_ec || n == 0) return handshake_failed(peek_ec ? peek_ec : asio::error::eof);
    if (first >= 'A' && first <= 'Z') return refuse_plain_http();
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = this->shared_from_this()](const error_code& hs_ec) {
                              self->guarded([&] { self->on_handshake(hs_ec); });
                            });
  }

  void on_handshake(const error_code& ec) {
    if (ec || closed_) return handshake_failed(ec);
    handshake_done_ = true;
    w_.tls->done.fetch_add(1, std::memory_order_relaxed);
    new_parser();
    process();
  }

  void handshake_failed(const error_code& ec) {
    if (!closed_)
      w_.tls->failed(handshake_timed_out_ ? HandshakeFailure::kTimeout
                                          : classify_handshake_error(ec));
    close();
  }

  // Plain HTTP sent to the TLS port: a 400 in plain HTTP, then close.
  void refuse_plain_http() {
    w_.tls->failed(HandshakeFailure::kPlainHttp);
    Response r;
    set_error(r, 400, "tls_required",
              "this port speaks HTTPS (TLS): use an https:// URL and the server's CA");
    append_response(r, Framing{false, false, false});
    error_code ec;
    lowest().write_some(asio::buffer(out_), ec);  // a fresh socket takes a few hundred bytes
    clear_output();
    if (ec) return close();
    linger();
  }

  Worker& w_;
  detail::ServerCounters& counters_;
  // Declared before stream_, which refers to its context.
  std::shared_ptr<const TlsContext> tls_;
  Stream stream_;
  bool handshake_done_ = false;
  bool handshake_timed_out_ = false;
  beast::flat_buffer buffer_;  // reused across requests
  std::optional<RequestParser> parser_;
  std::string head_;   // request line and fields of the request being parsed
  std::string body_;   // its body
  Response response_;  // reused across requests
  Response pending_;   // held for a commit or a deferred answer
  Framing pending_framing_;
  std::string out_;  // answers ready to write
  std::size_t out_off_ = 0;
  std::string tail_;  // one large body written after out_
  std::size_t tail_off_ = 0;
  State state_ = State::kIdle;
  Next after_write_ = Next::kRead;
  // Idle: the idle timeout from when the connection became idle. From a
  // request's first byte: the request timeout; partial reads do not extend
  // it (slow loris).
  SteadyClock::time_point request_deadline_ = SteadyClock::time_point::max();
  bool request_started_ = false;   // part of the current request has arrived
  std::size_t request_bytes_ = 0;  // taken by the parser for the current request
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();  // write or linger
  std::uint64_t wait_seq_ = 0;  // of the held answer: a commit wait or a deferred answer
  IpAddress peer_;
  bool peer_read_ = false;
  bool writing_ = false;
  bool waiting_ = false;
  bool commit_ready_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace

namespace detail {

SteadyClock::time_point ServerWorker::idle_deadline() const {
  if (options.idle_timeout.count() <= 0) return SteadyClock::time_point::max();
  return SteadyClock::now() + options.idle_timeout;
}

SteadyClock::time_point ServerWorker::request_deadline() const {
  if (options.request_timeout.count() <= 0) return SteadyClock::time_point::max();
  return SteadyClock::now() + options.request_timeout;
}

SteadyClock::duration ServerWorker::sweep_interval() const {
  using std::chrono::milliseconds;
  milliseconds interval{1000};
  for (milliseconds timeout : {options.idle_timeout, options.request_timeout})
    if (timeout.count() > 0)
      interval = std::min(
          interval, std::clamp<milliseconds>(timeout / 4, milliseconds{50}, milliseconds{1000}));
  return interval;
}

void ServerWorker::start() {
  accept();
  schedule_sweep();
}

void ServerWorker::run() {
  // The writes this thread's requests queue wake the store's writer once a
  // turn of the loop, after the handlers already ready (see
  // core/deferred_wakes.h).
  DeferredWakes::open([this] { asio::post(ioc, [] { DeferredWakes::flush(); }); });
  struct Close {
    ~Close() { DeferredWakes::close(); }
  } close;
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      log_error_limited("http: worker event loop caught an exception",
                        std::string("http: worker event loop caught an exception: ") + e.what());
    }
  }
}

void ServerWorker::accept() {
  acceptor.async_accept(
      [this](const error_code& ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void ServerWorker::on_accept(const error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    if (!accept_error_logged_) {
      log_warn_limited("http: accept failed", "http: accept failed: " + ec.message());
      accept_error_logged_ = true;
    }
    // Out of descriptors or memory: back off instead of spinning.
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([this](const error_code& e) {
      if (!e) accept();
    });
    return;
  }
  accept_error_logged_ = false;
  if (counters.open.fetch_add(1, std::memory_order_relaxed) >= options.max_connections) {
    counters.open.fetch_sub(1, std::memory_order_relaxed);
    counters.refuse(options.max_connections);  // counted before the peer can see the close
    error_code close_ec;
    socket.close(close_ec);  // unread
    return accept();
  }
  error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);
  socket.non_blocking(true, opt_ec);
  if (!opt_ec) {
    if (tls == nullptr)
      adopt<Connection<tcp::socket>>(std::move(socket));
    else
      adopt<Connection<TlsStream>>(std::move(socket), tls->current());
  } else {
    counters.open.fetch_sub(1, std::memory_order_relaxed);
  }
  accept();
}

template <typename C, typename... Args>
void ServerWorker::adopt(tcp::socket socket, Args&&... args) {
  auto c =
      std::make_shared<C>(*this, std::move(socket), std::forward<Args>(args)...);  // takes the slot
  c->slot = connections.size();
  connections.push_back(c);
  c->start();
}

void ServerWorker::remove(ConnectionBase& c) {
  std::size_t i = c.slot;
  if (i >= connections.size() || connections[i].get() != &c) return;
  if (i + 1 != connections.size()) {
    std::swap(connections[i], connections.back());
    connections[i]->slot = i;
  }
  connections.pop_back();
}

void ServerWorker::hold(std::uint64_t first, std::uint64_t ticket, std::weak_ptr<ConnectionBase> c,
                        std::uint64_t seq) {
  // Ordered by ticket: a deferred answer finished late may carry a ticket
  // older than answers held before it. One before the watched front gets
  // a watch of its own.
  auto at = held_.end();
  while (at != held_.begin() && std::prev(at)->ticket > ticket) --at;
  if (at == held_.begin() && !held_.empty()) watch_ = 0;
  held_.insert(at, HeldAnswer{first, ticket, std::move(c), seq});
  watch_commits();
}

// The transport's end of one deferred answer: posts it to the worker's loop
// while the server runs (the gate), where the connection, if still open,
// writes it.
class ServerWorker::DeferredSlot final : public DeferredTarget {
 public:
  DeferredSlot(ServerWorker& w, std::weak_ptr<ConnectionBase> c, std::uint64_t seq)
      : w_(w), gate_(w.gate), connection_(std::move(c)), seq_(seq) {}

  void finish(Response&& r) override {
    std::lock_guard<std::mutex> lock(gate_->mu);
    if (gate_->ioc == nullptr) return;  // server stopped: dropped
    asio::post(*gate_->ioc,
               [&w = w_, c = std::move(connection_), seq = seq_, r = std::move(r)]() mutable {
                 --w.deferred_;
                 w.counters.deferred_pending.fetch_sub(1, std::memory_order_relaxed);
                 if (auto conn = c.lock()) conn->on_deferred(seq, std::move(r));
               });
  }

 private:
  ServerWorker& w_;  // used on its loop only, which it outlives
  const std::shared_ptr<Gate> gate_;
  std::weak_ptr<ConnectionBase> connection_;
  const std::uint64_t seq_;
};

std::shared_ptr<DeferredTarget> ServerWorker::defer(Response& r, std::weak_ptr<ConnectionBase> c,
                                                    std::uint64_t seq) {
  if (deferred_ >= options.max_deferred_answers) {
    counters.deferred_refused.fetch_add(1, std::memory_order_relaxed);
    set_error(r, 503, "server_busy",
              "the server holds " + std::to_string(options.max_deferred_answers) +
                  " answers in progress on this thread; try again in a second");
    r.headers.emplace_back("Retry-After", "1");
    return nullptr;
  }
  ++deferred_;
  counters.deferred.fetch_add(1, std::memory_order_relaxed);
  counters.deferred_pending.fetch_add(1, std::memory_order_relaxed);
  return std::make_shared<DeferredSlot>(*this, std::move(c), seq);
}

void ServerWorker::watch_commits() {
  if (watch_ != 0 || held_.empty()) return;
  const std::uint64_t watch = watch_ = ++watches_;
  try {
    waiter.wait(held_.front().ticket, [gate = gate, this, watch](std::uint64_t committed) {
      std::lock_guard<std::mutex> lock(gate->mu);
      if (gate->ioc == nullptr) return;  // server stopped
      asio::post(*gate->ioc, [this, committed, watch] { release(committed, watch); });
    });
  } catch (const std::exception& e) {
    log_error_limited("http: commit waiter threw",
                      std::string("http: commit waiter threw: ") + e.what());
    watch_ = 0;
    std::deque<HeldAnswer> failed;
    failed.swap(held_);
    for (const HeldAnswer& h : failed)
      if (auto c = h.connection.lock()) c->on_commit_failed(h.seq);
  }
}

void ServerWorker::release(std::uint64_t committed, std::uint64_t watch) {
  if (watch == watch_) watch_ = 0;  // an extra call of an older watch changes nothing else
  // In order: an answer behind one whose ticket is not yet committed waits
  // for that one (each request's tickets are newer than the one before).
  while (!held_.empty() && held_.front().ticket <= committed) {
    const HeldAnswer h = std::move(held_.front());
    held_.pop_front();
    auto c = h.connection.lock();
    if (!c) continue;
    if (waiter.stored && !waiter.stored(h.first, h.ticket)) {
      c->on_commit_refused(h.seq);
    } else {
      c->on_commit_ready(h.seq);  // may hold another answer
    }
  }
  watch_commits();
}

void ServerWorker::schedule_sweep() {
  sweep.expires_after(sweep_interval());
  sweep.async_wait([this](const error_code& ec) {
    if (ec) return;
    const auto now = SteadyClock::now();
    for (const auto& c : connections) c->expire(now);
    schedule_sweep();
  });
}

}  // namespace detail

Server::Server(ServerOptions options, Handler& handler, CommitWaiter waiter)
    : options_(std::move(options)),
      handler_(handler),
      waiter_(std::move(waiter)),
      counters_(std::make_unique<detail::ServerCounters>()) {}

namespace {

// "CN=...; valid until 2026-01-31T00:00:00Z"
std::string describe(const TlsContext& c) {
  char until[32] = "?";
  const std::time_t t = static_cast<std::time_t>(c.not_after);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) != nullptr) std::strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return (c.subject.empty() ? std::string("certificate") : c.subject) + ", valid until " + until;
}

}  // namespace

std::string Server::tls_certificate() const { return tls_ ? describe(*tls_->current()) : ""; }

Result<std::string> Server::reload_tls() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (!tls_) return make_error("tls_config", "TLS is not enabled on the HTTP listener");
  auto context = make_tls_context(options_.tls);
  if (!context) return context.error();
  std::string description = describe(*context);
  tls_->replace(std::move(*context));
  return description;
}

Server::~Server() { stop(); }

Status Server::start() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  std::string host = options_.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                            std::to_string(options_.port);
  auto fail = [&](const std::string& why) -> Status {
    return make_error("listen_failed", where + ": " + why);
  };
  if (started_) return fail("server already started");
  if (options_.threads < 1) return fail("threads must be at least 1");
  if (options_.max_connections < 1) return fail("max_connections must be at least 1");
  if (options_.max_deferred_answers < 1) return fail("max_deferred_answers must be at least 1");
  if (options_.tls.enabled() && !tls_) {
    auto context = make_tls_context(options_.tls);
    if (!context) return context.error();
    tls_ = std::make_unique<detail::TlsState>(std::move(*context));
  }

  // Resolve.
  error_code ec;
  tcp::endpoint endpoint;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options_.port);
  } else {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(options_.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) return fail(ec ? ec.message() : "name resolves to no address");
    endpoint = results.begin()->endpoint();
  }

  // SO_REUSEPORT would let us join another process already listening on the
  // port with it. A socket without it cannot bind there: probe with one.
  {
    asio::io_context ioc;
    tcp::acceptor probe(ioc);
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (!ec && endpoint.port() == 0) endpoint.port(probe.local_endpoint(ec).port());
    if (ec) return fail(ec.message());
  }

  std::vector<std::unique_ptr<detail::ServerWorker>> workers;
  for (int i = 0; i < options_.threads; ++i) {
    auto w =
        std::make_unique<detail::ServerWorker>(options_, handler_, waiter_, *counters_, tls_.get());
    tcp::acceptor& a = w->acceptor;
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = error_code(errno, boost::system::system_category());
    }
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(ec.message());
    workers.push_back(std::move(w));
  }

  workers_ = std::move(workers);
  try {
    for (auto& w : workers_) {
      w->start();
      detail::ServerWorker* worker = w.get();
      w->thread = std::thread([worker] { worker->run(); });
    }
  } catch (const std::system_error& e) {
    shutdown_workers();
    return fail(std::string("cannot start worker threads: ") + e.what());
  }
  port_ = endpoint.port();
  started_ = true;
  return Status();
}

void Server::render_metrics(std::string& out) const {
  const detail::ServerCounters& c = *counters_;
  char line[256];
  std::snprintf(line, sizeof line,
                "# HELP mamori_http_connections Open HTTP connections.\n"
                "# TYPE mamori_http_connections gauge\nmamori_http_connections %llu\n",
                static_cast<unsigned long long>(c.open.load(std::memory_order_relaxed)));
  out += line;
  std::snprintf(line, sizeof line,
                "# HELP mamori_http_connections_refused_total HTTP connections closed unread "
                "at accept: server.max_connections were open.\n"
                "# TYPE mamori_http_connections_refused_total counter\n"
                "mamori_http_connections_refused_total %llu\n",
                static_cast<unsigned long long>(c.refused.load(std::memory_order_relaxed)));
  out += line;
  out +=
      "# HELP mamori_http_rejected_total HTTP requests refused by the transport before routing "
      "(malformed, over a limit, timed out), by reason.\n"
      "# TYPE mamori_http_rejected_total counter\n";
  for (std::size_t i = 0; i < kRejectionLabels.size(); ++i) {
    std::snprintf(line, sizeof line, "mamori_http_rejected_total{reason=\"%s\"} %llu\n",
                  kRejectionLabels[i].data(),
                  static_cast<unsigned long long>(c.rejected[i].load(std::memory_order_relaxed)));
    out += line;
  }
  out +=
      "# HELP mamori_http_deferred_answers_total Answers a handler deferred (finished off the "
      "worker thread: a password hash, a store read).\n"
      "# TYPE mamori_http_deferred_answers_total counter\nmamori_http_deferred_answers_total ";
  append_number(out, c.deferred.load(std::memory_order_relaxed));
  out +=
      "\n# HELP mamori_http_deferred_answers_pending Deferred answers not finished yet.\n"
      "# TYPE mamori_http_deferred_answers_pending gauge\nmamori_http_deferred_answers_pending ";
  append_number(out, static_cast<std::uint64_t>(std::max<std::int64_t>(
                         0, c.deferred_pending.load(std::memory_order_relaxed))));
  out +=
      "\n# HELP mamori_http_deferred_refused_total Requests answered 503 server_busy: their "
      "worker held server.max_deferred_answers deferred answers.\n"
      "# TYPE mamori_http_deferred_refused_total counter\nmamori_http_deferred_refused_total ";
  append_number(out, c.deferred_refused.load(std::memory_order_relaxed));
  out += '\n';
  if (!tls_) return;
  const detail::TlsState& t = *tls_;
  out +=
      "# HELP mamori_http_tls_handshakes_total TLS handshakes completed on the HTTP listener.\n"
      "# TYPE mamori_http_tls_handshakes_total counter\n"
      "mamori_http_tls_handshakes_total ";
  append_number(out, t.done.load(std::memory_order_relaxed));
  out +=
      "\n# HELP mamori_http_tls_handshakes_failed_total TLS handshakes on the HTTP listener that "
      "failed or timed out (the connection was closed), by reason.\n"
      "# TYPE mamori_http_tls_handshakes_failed_total counter\n";
  for (std::size_t i = 0; i < kHandshakeFailureLabels.size(); ++i) {
    out += "mamori_http_tls_handshakes_failed_total{reason=\"";
    out += kHandshakeFailureLabels[i];
    out += "\"} ";
    append_number(out, t.failures[i].load(std::memory_order_relaxed));
    out += '\n';
  }
  out +=
      "# HELP mamori_http_tls_certificate_expiry_timestamp_seconds When the HTTP listener's "
      "certificate expires (its notAfter), seconds since the Unix epoch.\n"
      "# TYPE mamori_http_tls_certificate_expiry_timestamp_seconds gauge\n"
      "mamori_http_tls_certificate_expiry_timestamp_seconds ";
  out += std::to_string(t.current()->not_after);
  out += '\n';
}

void Server::stop() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  shutdown_workers();
}

void Server::shutdown_workers() {
  for (auto& w : workers_) {
    std::lock_guard<std::mutex> gate_lock(w->gate->mu);
    w->gate->ioc = nullptr;
  }
  for (auto& w : workers_) w->ioc.stop();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  for (auto& w : workers_) {
    error_code ec;
    w->acceptor.close(ec);
    w->connections.clear();
  }
  // Destroying each io_context destroys the handlers still queued, and with
  // them the last references to their connections.
  workers_.clear();
}

}  // namespace mamori::http
