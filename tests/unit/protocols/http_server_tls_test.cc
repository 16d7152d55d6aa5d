// The HTTP server over TLS, against a Beast/Asio TLS client and a CA made at
// run time (testing/test_pki.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "protocols/http/server.h"
#include "protocols/http/tls_context.h"
#include "testing/temp_dir.h"
#include "testing/test_pki.h"

namespace mamori::http {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using HttpResponse = bhttp::response<bhttp::string_body>;

// Answers "/big" with 200 KiB (written from its own buffer), "/wait" after
// commit ticket 3, anything else with the target.
class TargetHandler final : public Handler {
 public:
  void handle(const Request& request, Response& response) override {
    if (request.target == "/big") {
      response.content_type = "text/plain";
      response.body.assign(200 * 1024, 'x');
      return;
    }
    if (request.target == "/wait") response.wait_for = 3;
    response.body = "{\"target\":\"" + std::string(request.target) + "\"}";
  }
};

// A blocking TLS client: trusts `ca` (when given), presents `cert`/`key`
// (when given), verifies the name 127.0.0.1. Every wait is bounded by a
// 10 s socket timeout.
class TlsClient {
 public:
  struct Options {
    std::string ca, cert, key;
    int max_version = 0;  // e.g. TLS1_1_VERSION; 0: OpenSSL's
  };

  TlsClient(std::uint16_t port, const Options& o) : ctx_(ssl::context::tls_client) {
    if (!o.ca.empty()) ctx_.load_verify_file(o.ca);
    ctx_.set_verify_mode(ssl::verify_peer);
    if (!o.cert.empty()) {
      ctx_.use_certificate_chain_file(o.cert);
      ctx_.use_private_key_file(o.key, ssl::context::pem);
    }
    if (o.max_version != 0) {
      SSL_CTX_set_security_level(ctx_.native_handle(), 0);
      SSL_CTX_set_min_proto_version(ctx_.native_handle(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_.native_handle(), o.max_version);
    }
    stream_.emplace(ioc_, ctx_);
    stream_->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    tcp::socket& s = stream_->next_layer();
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{10, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }

  error_code handshake() {
    error_code ec;
    stream_->handshake(ssl::stream_base::client, ec);
    return ec;
  }

  error_code send(const std::string& bytes) {
    error_code ec;
    asio::write(*stream_, asio::buffer(bytes), ec);
    return ec;
  }

  // The next response; nullopt on an error (kept in `error`).
  std::optional<HttpResponse> read() {
    HttpResponse r;
    bhttp::read(*stream_, buffer_, r, error);
    if (error) return std::nullopt;
    return r;
  }

  std::optional<HttpResponse> get(const std::string& target) {
    if (send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")) return std::nullopt;
    return read();
  }

  error_code error;

 private:
  asio::io_context ioc_;
  ssl::context ctx_;
  std::optional<ssl::stream<tcp::socket>> stream_;
  beast::flat_buffer buffer_;
};

// A plain TCP socket with 10 s timeouts.
int connect_plain(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

// Everything the peer sends until it closes.
std::string read_to_close(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string metric(const Server& s, const std::string& series) {
  std::string text;
  s.render_metrics(text);
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return "(absent)";
  const std::size_t from = at + series.size() + 2;
  return text.substr(from, text.find('\n', from) - from);
}

// The count of failed handshakes for `reason` once it reaches `want`, or
// what it is after 10 s: the server counts a failure after the client may
// have seen it.
std::string failures(const Server& s, const std::string& reason, const std::string& want = "1") {
  const std::string series = "mamori_http_tls_handshakes_failed_total{reason=\"" + reason + "\"}";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string value = metric(s, series);
  while (value != want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    value = metric(s, series);
  }
  return value;
}

class TlsServerTest : public ::testing::Test {
 protected:
  TlsServerTest() : pki_(dir_.path()) {}

  ServerOptions options(bool mutual = false) {
    ServerOptions o;
    o.port = 0;
    o.threads = 1;
    o.tls.cert_file = pki_.path("server.pem");
    o.tls.key_file = pki_.path("server.key");
    if (mutual) o.tls.client_ca_file = pki_.path("ca.pem");
    return o;
  }

  Server& start(ServerOptions o, CommitWaiter waiter = {}) {
    server_ = std::make_unique<Server>(std::move(o), handler_, std::move(waiter));
    Status s = server_->start();
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return *server_;
  }

  TlsClient::Options trusting() const { return {pki_.path("ca.pem"), "", "", 0}; }

  mamori::testing::TempDir dir_;
  mamori::testing::TestPki pki_;
  TargetHandler handler_;
  std::unique_ptr<Server> server_;
};

TEST_F(TlsServerTest, ServesKeepAliveAndPipelinedRequests) {
  Server& s = start(options());
  TlsClient c(s.port(), trusting());
  ASSERT_FALSE(c.handshake());
  auto r = c.get("/one");
  ASSERT_TRUE(r) << c.error.message();
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), "{\"target\":\"/one\"}");
  ASSERT_FALSE(
      c.send("GET /two HTTP/1.1\r\nHost: x\r\n\r\nGET /three HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto two = c.read();
  auto three = c.read();
  ASSERT_TRUE(two && three) << c.error.message();
  EXPECT_EQ(two->body(), "{\"target\":\"/two\"}");
  EXPECT_EQ(three->body(), "{\"target\":\"/three\"}");
  EXPECT_EQ(metric(s, "mamori_http_tls_handshakes_total"), "1");
  EXPECT_EQ(s.tls_certificate().substr(0, 12), "CN=localhost");
}

TEST_F(TlsServerTest, LargeAnswerIsWrittenWhole) {
  Server& s = start(options());
  TlsClient c(s.port(), trusting());
  ASSERT_FALSE(c.handshake());
  for (int i = 0; i < 3; ++i) {
    auto r = c.get("/big");
    ASSERT_TRUE(r) << c.error.message();
    EXPECT_EQ(r->body().size(), 200u * 1024);
  }
}

TEST_F(TlsServerTest, AnswerWaitsForItsCommit) {
  std::function<void(std::uint64_t)> ready;
  std::atomic<bool> asked{false};
  CommitWaiter waiter{[&](std::uint64_t, std::function<void(std::uint64_t)> r) {
                        ready = std::move(r);
                        asked = true;
                      },
                      {}};
  Server& s = start(options(), waiter);
  TlsClient c(s.port(), trusting());
  ASSERT_FALSE(c.handshake());
  ASSERT_FALSE(c.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!asked && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(asked);
  ready(3);
  auto r = c.read();
  ASSERT_TRUE(r) << c.error.message();
  EXPECT_EQ(r->body(), "{\"target\":\"/wait\"}");
}

TEST_F(TlsServerTest, ClientThatDoesNotTrustTheCertificateFailsAndIsCounted) {
  Server& s = start(options());
  TlsClient c(s.port(), {pki_.path("other_ca.pem"), "", "", 0});
  EXPECT_TRUE(c.handshake());
  EXPECT_EQ(failures(s, "client_alert"), "1");
  EXPECT_EQ(metric(s, "mamori_http_tls_handshakes_total"), "0");
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortGetsAPlainRefusal) {
  Server& s = start(options());
  const int fd = connect_plain(s.port());
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), ssize_t(request.size()));
  const std::string answer = read_to_close(fd);
  ::close(fd);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 Bad Request\r\n")) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"code\":\"tls_required\""), std::string::npos) << answer;
  EXPECT_EQ(failures(s, "plain_http"), "1");
}

TEST_F(TlsServerTest, SilentClientIsCutAtTheHandshakeTimeout) {
  ServerOptions o = options();
  o.tls.handshake_timeout = std::chrono::milliseconds(300);
  o.idle_timeout = std::chrono::seconds(60);
  Server& s = start(o);
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = connect_plain(s.port());
  EXPECT_EQ(read_to_close(fd), "");  // closed without a byte, well before the 10 s timeout
  ::close(fd);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(failures(s, "timeout"), "1");
}

TEST_F(TlsServerTest, TlsBelowOnePointTwoIsRefused) {
  Server& s = start(options());
  TlsClient c(s.port(), {pki_.path("ca.pem"), "", "", TLS1_1_VERSION});
  EXPECT_TRUE(c.handshake());
  EXPECT_EQ(failures(s, "protocol_version"), "1");
}

TEST_F(TlsServerTest, MutualTlsRefusesAClientWithoutACertificate) {
  Server& s = start(options(/*mutual=*/true));
  TlsClient c(s.port(), trusting());
  // TLS 1.3: the client's side of the handshake may finish before the
  // server checks; the refusal then arrives on the first read.
  const bool refused = c.handshake() || !c.get("/x");
  EXPECT_TRUE(refused);
  EXPECT_EQ(failures(s, "no_client_certificate"), "1");
}

TEST_F(TlsServerTest, MutualTlsRefusesACertificateFromAnotherCa) {
  Server& s = start(options(/*mutual=*/true));
  TlsClient c(s.port(), {pki_.path("ca.pem"), pki_.path("other_client.pem"),
                         pki_.path("other_client.key"), 0});
  const bool refused = c.handshake() || !c.get("/x");
  EXPECT_TRUE(refused);
  EXPECT_EQ(failures(s, "bad_client_certificate"), "1");
}

TEST_F(TlsServerTest, MutualTlsAcceptsAClientCertificateFromItsCa) {
  Server& s = start(options(/*mutual=*/true));
  TlsClient c(s.port(), {pki_.path("ca.pem"), pki_.path("client.pem"), pki_.path("client.key"), 0});
  ASSERT_FALSE(c.handshake());
  auto r = c.get("/x");
  ASSERT_TRUE(r) << c.error.message();
  EXPECT_EQ(r->result_int(), 200);
}

TEST_F(TlsServerTest, ReloadServesTheNewCertificateToNewConnections) {
  Server& s = start(options());
  TlsClient before(s.port(), trusting());
  ASSERT_FALSE(before.handshake());
  pki_.issue_server("server", "renewed.localhost");  // overwrites server.pem and server.key
  auto reloaded = s.reload_tls();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_EQ(reloaded->substr(0, 20), "CN=renewed.localhost");
  EXPECT_EQ(s.tls_certificate().substr(0, 20), "CN=renewed.localhost");
  TlsClient after(s.port(), trusting());
  ASSERT_FALSE(after.handshake());
  EXPECT_TRUE(after.get("/new"));
  EXPECT_TRUE(before.get("/old"));  // an open connection keeps its session
}

TEST_F(TlsServerTest, BadFilesOnReloadKeepTheCertificateInUse) {
  Server& s = start(options());
  ::chmod(pki_.path("server.key").c_str(), 0644);
  auto reloaded = s.reload_tls();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_EQ(reloaded.error().code, "tls_config");
  TlsClient c(s.port(), trusting());
  ASSERT_FALSE(c.handshake());
  EXPECT_TRUE(c.get("/still"));
}

TEST_F(TlsServerTest, StartFailsOnUnusableFiles) {
  struct Case {
    std::function<void(ServerOptions&)> change;
    std::string message;  // what the error must contain
  };
  const std::string key = pki_.path("server.key");
  for (const Case& k : {
           Case{[&](ServerOptions&) { ::chmod(key.c_str(), 0644); }, "may be read by every user"},
           Case{[&](ServerOptions& o) { o.tls.key_file = pki_.path("client.key"); },
                "does not match server.tls.cert"},
           Case{[&](ServerOptions& o) { o.tls.cert_file = pki_.path("nope.pem"); },
                "nope.pem: No such file or directory"},
           Case{[&](ServerOptions& o) { o.tls.cert_file = key; }, "no PEM certificate"},
           Case{[&](ServerOptions& o) { o.tls.client_ca_file = key; }, "no PEM certificate"},
       }) {
    ::chmod(key.c_str(), 0600);
    ServerOptions o = options();
    k.change(o);
    Server server(o, handler_, {});
    Status st = server.start();
    ASSERT_FALSE(st.ok()) << k.message;
    EXPECT_EQ(st.error().code, "tls_config");
    EXPECT_NE(st.error().message.find(k.message), std::string::npos) << st.error().message;
  }
}

TEST_F(TlsServerTest, PlainListenerHasNoTlsMetrics) {
  ServerOptions o;
  o.port = 0;
  o.threads = 1;
  Server& s = start(o);
  EXPECT_EQ(metric(s, "mamori_http_tls_handshakes_total"), "(absent)");
  EXPECT_EQ(s.tls_certificate(), "");
}

}  // namespace
}  // namespace mamori::http
