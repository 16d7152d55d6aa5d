#include "protocols/postfix/postfix_server.h"

#include <boost/asio.hpp>
#include <cstdio>

#include "core/log.h"

namespace mamori::postfix {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// Action words counted in the metrics.
constexpr std::array<std::string_view, 4> kActions = {"DUNNO", "DEFER_IF_PERMIT", "REJECT", "other"};
std::size_t action_index(std::string_view a) {
  for (std::size_t i = 0; i + 1 < kActions.size(); ++i)
    if (a.substr(0, a.find(' ')) == kActions[i]) return i;
  return kActions.size() - 1;
}
}  // namespace

struct PostfixServer::Impl {
  PostfixServerOptions options;
  PostfixPolicy& policy;
  CommitWaiter waiter;
  // Declared before the io_context: sessions it still holds count on them.
  std::array<std::atomic<std::uint64_t>, kActions.size()> requests{};
  std::atomic<std::uint64_t> connections_total{0}, connections_open{0}, bad_requests{0};
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::mutex mu;
  bool started = false, stopped = false;

  Impl(PostfixServerOptions o, PostfixPolicy& p, CommitWaiter w)
      : options(std::move(o)), policy(p), waiter(std::move(w)) {}
  void accept();
};

// One Postfix connection. Lives while an operation on it is pending.
struct Session : std::enable_shared_from_this<Session> {
  PostfixServer::Impl& server;
  tcp::socket socket;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer idle;
  asio::streambuf in;
  std::string out;
  ConnectionState state;

  Session(PostfixServer::Impl& s, tcp::socket sock)
      : server(s),
        socket(std::move(sock)),
        strand(asio::make_strand(s.io)),
        idle(s.io),
        in(s.options.max_request_bytes) {}
  ~Session() { server.connections_open.fetch_sub(1, std::memory_order_relaxed); }

  void read() {
    idle.expires_after(server.options.idle_timeout);
    idle.async_wait(asio::bind_executor(strand, [self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->close();
    }));
    asio::async_read_until(socket, in, "\n\n",
                           asio::bind_executor(strand, [self = shared_from_this()](
                                                           boost::system::error_code ec, std::size_t n) {
                             self->on_request(ec, n);
                           }));
  }

  std::string peer() const {
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    return ec ? std::string("an unknown address") : ep.address().to_string();
  }

  void close() {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    idle.cancel();
  }

  void on_request(boost::system::error_code ec, std::size_t n) {
    idle.cancel();
    if (ec) {
      if (ec == asio::error::not_found) {  // over max_request_bytes
        server.bad_requests.fetch_add(1, std::memory_order_relaxed);
        log_warn_limited("postfix policy: request too long",
                         "postfix policy: a request over " +
                             std::to_string(server.options.max_request_bytes) + " bytes from " +
                             peer() + "; closing the connection");
      }
      return close();
    }
    const std::string text(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + n);
    in.consume(n);
    auto attrs = Attributes::parse(text);
    if (!attrs) {
      server.bad_requests.fetch_add(1, std::memory_order_relaxed);
      log_warn_limited("postfix policy: malformed request",
                       "postfix policy: " + attrs.error().message + " (from " + peer() +
                           "); closing the connection");
      return close();
    }
    auto self = shared_from_this();
    server.policy.decide(*attrs, state, [self](std::string action, store::WriteSpan writes) {
      auto write = [self, action = std::move(action)](bool stored) mutable {
        if (!stored) action = PostfixPolicy::kNotStored;
        asio::post(self->strand, [self, action = std::move(action)] { self->answer(action); });
      };
      if (!writes.empty() && self->server.waiter)
        self->server.waiter(writes, std::move(write));
      else
        write(true);
    });
  }

  void answer(const std::string& action) {
    server.requests[action_index(action)].fetch_add(1, std::memory_order_relaxed);
    out = "action=" + action + "\n\n";
    asio::async_write(socket, asio::buffer(out),
                      asio::bind_executor(strand, [self = shared_from_this()](
                                                      boost::system::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->read();
                      }));
  }
};

void PostfixServer::Impl::accept() {
  acceptor.async_accept(io, [this](boost::system::error_code ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      sock.set_option(tcp::no_delay(true), ec);
      connections_total.fetch_add(1, std::memory_order_relaxed);
      connections_open.fetch_add(1, std::memory_order_relaxed);
      std::make_shared<Session>(*this, std::move(sock))->read();
    }
    accept();
  });
}

PostfixServer::PostfixServer(PostfixServerOptions options, PostfixPolicy& policy,
                             CommitWaiter waiter)
    : impl_(std::make_unique<Impl>(std::move(options), policy, std::move(waiter))) {}

PostfixServer::~PostfixServer() { stop(); }

Status PostfixServer::start() {
  std::lock_guard lock(impl_->mu);
  Impl& s = *impl_;
  const std::string where = s.options.host + ":" + std::to_string(s.options.port);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(s.options.host, ec);
  if (ec) return make_error("listen_failed", where + ": not an IP address");
  tcp::endpoint ep(addr, s.options.port);
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("listen_failed", where + ": " + ec.message());
  port_ = s.acceptor.local_endpoint().port();
  s.accept();
  for (int i = 0; i < std::max(1, s.options.threads); ++i)
    s.threads.emplace_back([&s] { s.io.run(); });
  s.started = true;
  return {};
}

void PostfixServer::stop() {
  std::lock_guard lock(impl_->mu);
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  asio::post(s.io, [&s] {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
  });
  s.io.stop();
  for (std::thread& t : s.threads) t.join();
}

void PostfixServer::render_metrics(std::string& out) const {
  const Impl& s = *impl_;
  out += "# HELP mamori_postfix_requests_total Postfix policy requests answered, by action.\n"
         "# TYPE mamori_postfix_requests_total counter\n";
  char line[640];
  for (std::size_t i = 0; i < kActions.size(); ++i) {
    std::snprintf(line, sizeof line, "mamori_postfix_requests_total{action=\"%s\"} %llu\n",
                  kActions[i].data(), (unsigned long long)s.requests[i].load());
    out += line;
  }
  std::snprintf(line, sizeof line,
                "# HELP mamori_postfix_connections Open Postfix policy connections.\n"
                "# TYPE mamori_postfix_connections gauge\nmamori_postfix_connections %llu\n"
                "# HELP mamori_postfix_bad_requests_total Malformed or oversized policy requests.\n"
                "# TYPE mamori_postfix_bad_requests_total counter\nmamori_postfix_bad_requests_total %llu\n",
                (unsigned long long)s.connections_open.load(),
                (unsigned long long)s.bad_requests.load());
  out += line;
}

}  // namespace mamori::postfix
