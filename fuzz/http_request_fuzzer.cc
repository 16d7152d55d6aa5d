// The HTTP request path as a client drives it: the input is the bytes of one
// connection. They are sent over loopback to mamorid's HTTP server
// (protocols/http/server.cc: Beast's parser, the size limits, pipelining,
// commit waits) and from there reach the ApiHandler with a real engine on a
// temporary SQLite store (fuzz_world.h). Seeds carry the fuzz tokens, so the
// routes behind authentication are reached.
//
// Checks besides the sanitizers: once the input is sent and the write side
// shut, the server closes the connection within 10 s; what it sends parses as
// a sequence of complete HTTP/1.1 responses (not checked when the input holds
// "HEAD", whose answers have no body); no answer is a 500 (a handler
// exception or a store error); every JSON answer is valid JSON.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_world.h"
#include "protocols/http/server.h"

namespace mamori::fuzz {
namespace {

namespace bhttp = boost::beast::http;
using std::chrono::steady_clock;

constexpr auto kCloseDeadline = std::chrono::seconds(10);

struct Harness {
  World* world = nullptr;
  std::unique_ptr<http::Server> server;
};

Harness& harness() {
  static Harness h;
  World& w = world_for_input([&] { h.server.reset(); });
  if (h.world == nullptr) {
    // At exit, the server stops before the World it serves is destroyed.
    std::atexit([] { h.server.reset(); });
  }
  if (h.world != &w || !h.server) {
    h.world = &w;
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    store::EmbeddedStore& st = w.store();
    h.server = std::make_unique<http::Server>(
        options, w.handler(),
        http::CommitWaiter{
            [&st](std::uint64_t ticket, std::function<void(std::uint64_t)> ready) {
              st.on_committed(ticket, [&st, ready = std::move(ready)](const Status&) {
                ready(st.committed());
              });
            },
            [&st](std::uint64_t first, std::uint64_t last) {
              return st.status(store::WriteSpan{first, last}).ok();
            }});
    if (Status s = h.server->start(); !s) fail("http server: " + s.error().message);
  }
  return h;
}

// Sends `input` on one connection, half-closes, and returns everything the
// server sent until it closed. `reset` is set when the connection was reset.
std::string exchange(std::uint16_t port, std::string_view input, bool& reset) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  // Non-blocking from the start: libFuzzer's timers interrupt blocking calls.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS && errno != EINTR)
      fail("connect: " + std::string(std::strerror(errno)));
    pollfd p{fd, POLLOUT, 0};
    while (::poll(&p, 1, 10'000) < 0 && errno == EINTR) {
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (!(p.revents & POLLOUT) || err != 0)
      fail("connect: " + std::string(err != 0 ? std::strerror(err) : "timed out"));
  }

  std::string received;
  std::size_t sent = 0;
  bool shut = false;
  reset = false;
  const auto deadline = steady_clock::now() + kCloseDeadline;
  for (;;) {
    if (sent == input.size() && !shut) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0)
      fail("the server did not close the connection within 10 s of the input's end (" +
           std::to_string(received.size()) + " bytes received)");
    pollfd p{fd, short(POLLIN | (shut ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, int(left.count())) < 0 && errno != EINTR) fail("poll failed");
    if (!shut && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += std::size_t(n);
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        sent = input.size();  // the server closed early (e.g. after a protocol error)
      }
    }
    if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
      char buf[16384];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        received.append(buf, std::size_t(n));
      } else if (n == 0) {
        break;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        reset = true;
        break;
      }
    }
  }
  ::close(fd);
  return received;
}

// Checks that `out` is complete HTTP/1.1 responses, none a 500, JSON ones valid.
void check_responses(std::string_view out) {
  boost::beast::flat_buffer buf;
  buf.commit(boost::asio::buffer_copy(buf.prepare(out.size()),
                                      boost::asio::buffer(out.data(), out.size())));
  int n = 0;
  while (buf.size() > 0) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(64 * 1024 * 1024);
    boost::beast::error_code ec;
    while (buf.size() > 0 && !parser.is_done()) {
      const std::size_t used = parser.put(buf.data(), ec);
      buf.consume(used);
      if (ec && ec != bhttp::error::need_more) break;
      if (ec == bhttp::error::need_more && used == 0) break;
    }
    if (!parser.is_done())
      fail("answer " + std::to_string(n) + " is not a complete HTTP response (" +
           (ec ? ec.message() : std::string("truncated")) +
           "): " + std::string(out.substr(0, 2000)));
    const auto& res = parser.get();
    if (res.result_int() == 500) fail("answer " + std::to_string(n) + " is a 500: " + res.body());
    if (res[bhttp::field::content_type] == "application/json" && !res.body().empty()) {
      boost::system::error_code jec;
      boost::json::parse(res.body(), jec);
      if (jec) fail("answer " + std::to_string(n) + " is not valid JSON: " + res.body());
    }
    ++n;
  }
}

}  // namespace
}  // namespace mamori::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::signal(SIGPIPE, SIG_IGN);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mamori::fuzz;
  Harness& h = harness();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  bool reset = false;
  const std::string out = exchange(h.server->port(), input, reset);
  if (!reset && input.find("HEAD") == std::string_view::npos) check_responses(out);
  return 0;
}
