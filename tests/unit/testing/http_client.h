#ifndef MAMORI_TESTS_UNIT_TESTING_HTTP_CLIENT_H_
#define MAMORI_TESTS_UNIT_TESTING_HTTP_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/http/server.h"

namespace mamori::testing {

using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A blocking HTTP/1.1 client on a loopback port, for the server's tests:
// sends raw bytes (pipelined, malformed...) and reads the answers one at a
// time. Sends and receives time out after 10 s.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends all of `data`; false if the connection fails first.
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response (the answer to a HEAD when `head`); nullopt on EOF,
  // error or timeout.
  std::optional<HttpResponse> read(bool head = false) {
    namespace bhttp = boost::beast::http;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(16 * 1024 * 1024);
    if (head) parser.skip(true);
    for (;;) {
      if (buffer_.size() > 0) {
        boost::beast::error_code ec;
        std::size_t used = parser.put(buffer_.data(), ec);
        buffer_.consume(used);
        if (parser.is_done()) return parser.release();
        if (ec && ec != bhttp::error::need_more) return std::nullopt;
        if (!ec && buffer_.size() > 0) continue;
      }
      auto space = buffer_.prepare(64 * 1024);
      ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
      if (n <= 0) return std::nullopt;
      buffer_.commit(static_cast<std::size_t>(n));
    }
  }

  // True when the server closes the connection (EOF or reset) without sending
  // anything more.
  bool closed_by_server() {
    if (buffer_.size() > 0) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
  }

  // Whether bytes arrive within `ms` milliseconds.
  bool readable_within(int ms) {
    if (buffer_.size() > 0) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  boost::beast::flat_buffer buffer_;
};

// Options for a server on a free loopback port (port 0), with `threads`
// workers (0: the server's default).
inline http::ServerOptions loopback_options(int threads = 0) {
  http::ServerOptions o;
  o.port = 0;
  if (threads > 0) o.threads = threads;
  return o;
}

// A started http::Server (loopback_options() unless told otherwise),
// answering with a `Handler` of its own.
template <typename Handler>
struct HttpServerFixture {
  explicit HttpServerFixture(http::ServerOptions options = loopback_options(),
                             http::CommitWaiter waiter = {})
      : server(std::make_unique<http::Server>(std::move(options), handler, std::move(waiter))) {
    Status s = server->start();
    EXPECT_TRUE(s.ok()) << s.error().code << ": " << s.error().message;
  }
  std::uint16_t port() const { return server->port(); }

  Handler handler;
  std::unique_ptr<http::Server> server;
};

// A server's CommitWaiter for tests: records every wait (the ticket and its
// `ready`); the test decides when to call `ready`, and which commit failed.
class TestCommitWaiter {
 public:
  http::CommitWaiter fn() {
    return http::CommitWaiter{
        [this](std::uint64_t ticket, std::function<void(std::uint64_t)> ready) {
          std::lock_guard<std::mutex> lock(mu_);
          calls_.emplace_back(ticket, std::move(ready));
          cv_.notify_all();
        },
        [this](std::uint64_t first, std::uint64_t last) {
          std::lock_guard<std::mutex> lock(mu_);
          return failed_ < first || failed_ > last;
        }};
  }

  // The commit of ticket `t` failed.
  void fail(std::uint64_t t) {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = t;
  }

  // Blocks until the `i`-th wait (0-based) is registered; nullopt after
  // `within` (10 s).
  std::optional<std::pair<std::uint64_t, std::function<void(std::uint64_t)>>> wait_call(
      std::size_t i, std::chrono::milliseconds within = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, within, [&] { return calls_.size() > i; })) return std::nullopt;
    return calls_[i];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::uint64_t, std::function<void(std::uint64_t)>>> calls_;
  std::uint64_t failed_ = 0;
};

}  // namespace mamori::testing

#endif  // MAMORI_TESTS_UNIT_TESTING_HTTP_CLIENT_H_
