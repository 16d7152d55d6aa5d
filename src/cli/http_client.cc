#include "cli/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <exception>
#include <utility>

namespace mamori::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

constexpr std::string_view kUserAgent = "mamori-cli";
// Large enough for any list or activity page the server sends.
constexpr std::uint64_t kMaxResponseBody = 256ull << 20;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

Error unreachable(std::string reason) { return make_error("unreachable", std::move(reason)); }

Error invalid_server(std::string message) {
  return make_error("invalid_server", std::move(message));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The Host header value: the host (bracketed when IPv6), with the port unless
// the scheme's default.
std::string host_header(const ServerUrl& s) {
  std::string h = s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host;
  if (s.port != (s.tls ? "443" : "80")) h += ":" + s.port;
  return h;
}

// Resolves the server and connects `stream` to it; false with `out` set on
// failure.
asio::awaitable<bool> connect(const ServerUrl& server, beast::tcp_stream& stream,
                              std::optional<Result<HttpResponse>>& out) {
  tcp::resolver resolver(stream.get_executor());
  auto [resolve_ec, endpoints] =
      co_await resolver.async_resolve(server.host, server.port, kAsTuple);
  if (resolve_ec) {
    out = unreachable("cannot resolve " + server.host + ": " + resolve_ec.message());
    co_return false;
  }
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kAsTuple);
  (void)endpoint;
  if (connect_ec) {
    out = unreachable(connect_ec.message());
    co_return false;
  }
  co_return true;
}

// Writes the request on a connected stream and reads the response into `out`.
template <typename Stream>
asio::awaitable<void> send_and_read(Stream& stream, http::request<http::string_body>& req,
                                    std::optional<Result<HttpResponse>>& out) {
  auto [write_ec, written] = co_await http::async_write(stream, req, kAsTuple);
  (void)written;
  if (write_ec) {
    out = unreachable("sending the request failed: " + write_ec.message());
    co_return;
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kAsTuple);
  (void)read;
  if (read_ec) {
    out = unreachable(read_ec == http::error::end_of_stream
                          ? std::string("the server closed the connection without answering")
                          : "reading the response failed: " + read_ec.message());
    co_return;
  }

  auto& res = parser.get();
  HttpResponse response;
  response.status = static_cast<int>(res.result_int());
  response.reason = std::string(res.reason());
  response.body = std::move(res.body());
  out = std::move(response);
}

// Runs one request/response exchange on its own connection (over TLS with
// `tls`) and stores the outcome in `out`. Every failure becomes an
// `unreachable` Error.
asio::awaitable<void> exchange(const ServerUrl& server, ssl::context* tls,
                               http::request<http::string_body>& req,
                               std::optional<Result<HttpResponse>>& out) {
  auto executor = co_await asio::this_coro::executor;
  if (tls == nullptr) {
    beast::tcp_stream stream(executor);
    if (!co_await connect(server, stream, out)) co_return;
    co_await send_and_read(stream, req, out);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return;
  }

  beast::ssl_stream<beast::tcp_stream> stream(executor, *tls);
  boost::system::error_code ec;
  asio::ip::make_address(server.host, ec);
  // SNI for a name (not for an IP literal, as RFC 6066 says).
  if (ec && SSL_set_tlsext_host_name(stream.native_handle(), server.host.c_str()) != 1) {
    out = unreachable("cannot set the TLS server name " + server.host);
    co_return;
  }
  stream.set_verify_callback(ssl::host_name_verification(server.host));
  if (!co_await connect(server, beast::get_lowest_layer(stream), out)) co_return;
  auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::client, kAsTuple);
  if (handshake_ec) {
    std::string why = handshake_ec.message();
    const long verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK)
      why = std::string("the server's certificate is not trusted: ") +
            X509_verify_cert_error_string(verify) + " (check --ca / MAMORI_CA)";
    out = unreachable("TLS handshake failed: " + why);
    co_return;
  }
  co_await send_and_read(stream, req, out);
  // No close_notify exchange: the answer is complete (Content-Length), and
  // the server closes after a `Connection: close` answer.
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// The client context of `options`; an Error with code `tls_config` naming a
// file that cannot be used.
Result<std::unique_ptr<ssl::context>> make_client_context(const TlsClientOptions& options) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  auto fail = [&](const char* what, const std::string& file) {
    return make_error("tls_config", std::string(what) + " " + file + ": " + ec.message());
  };
  if (options.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) return make_error("tls_config", "the system's CA certificates: " + ec.message());
  } else if (ctx->load_verify_file(options.ca_file, ec); ec) {
    return fail("CA file", options.ca_file);
  }
  if (!options.cert_file.empty()) {
    if (ctx->use_certificate_chain_file(options.cert_file, ec); ec)
      return fail("client certificate", options.cert_file);
    if (ctx->use_private_key_file(options.key_file, ssl::context::pem, ec); ec)
      return fail("client key", options.key_file);
  }
  return ctx;
}

}  // namespace

std::string ServerUrl::to_string() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return (tls ? "https://" : "http://") + h + ":" + port + prefix;
}

Result<ServerUrl> parse_server_url(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return invalid_server("server URL '" + std::string(url) +
                          "' must start with http:// or https:// (e.g. http://127.0.0.1:8425)");
  }
  const std::string scheme = lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    return invalid_server("unsupported URL scheme '" + scheme + "://'; use http:// or https://");
  }

  std::string_view rest = url.substr(scheme_end + 3);
  const std::size_t path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return invalid_server("server URL must not contain user information; use --token");
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    return invalid_server("server URL must not contain a query or fragment");
  }

  ServerUrl out;
  out.tls = scheme == "https";
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid_server("unterminated '[' in server URL");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid_server("unexpected text after ']' in server URL");
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      return invalid_server("an IPv6 address in a URL needs brackets: http://[::1]:8425");
    }
  }
  if (out.host.empty()) return invalid_server("server URL '" + std::string(url) + "' has no host");

  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return invalid_server("bad port '" + std::string(port) + "' in server URL");
    }
    out.port = std::to_string(value);
  }

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.prefix = std::string(path);
  return out;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

HttpClient::HttpClient(ServerUrl server, std::string token, std::chrono::milliseconds timeout,
                       TlsClientOptions tls)
    : server_(std::move(server)),
      token_(std::move(token)),
      timeout_(timeout),
      tls_(std::move(tls)) {}

Result<HttpResponse> HttpClient::request(std::string_view method, std::string_view target,
                                         std::optional<std::string> json_body,
                                         std::string_view content_type) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(server_.prefix + std::string(target));
  req.version(11);
  req.set(http::field::host, host_header(server_));
  req.set(http::field::user_agent, kUserAgent);
  req.set(http::field::accept, "application/json");
  if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
  req.keep_alive(false);
  if (json_body) {
    req.set(http::field::content_type, content_type);
    req.body() = std::move(*json_body);
  }
  req.prepare_payload();

  // Declared before the io_context so that they outlive the coroutine frame,
  // which the io_context destroys if the deadline passes first.
  std::unique_ptr<ssl::context> tls;
  if (server_.tls) {
    auto ctx = make_client_context(tls_);
    if (!ctx) return ctx.error();
    tls = std::move(*ctx);
  }
  std::optional<Result<HttpResponse>> outcome;
  asio::io_context ioc;
  asio::co_spawn(ioc, exchange(server_, tls.get(), req, outcome), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);  // a programming error, not a network one
  });
  ioc.run_for(timeout_);
  if (!outcome) {
    return unreachable(
        "no answer within " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()) + " s");
  }
  return std::move(*outcome);
}

}  // namespace mamori::cli
