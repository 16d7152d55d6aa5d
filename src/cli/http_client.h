#ifndef MAMORI_CLI_HTTP_CLIENT_H_
#define MAMORI_CLI_HTTP_CLIENT_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori::cli {

// Where mamorid listens, split out of a `http[s]://host[:port][/prefix]` URL.
// `prefix` is "" or a path starting with '/' and not ending with one; it is
// put in front of every request target (for a server behind a path-routing
// proxy).
struct ServerUrl {
  bool tls = false;  // https://
  std::string host;  // a name or an IP literal, without IPv6 brackets
  std::string port;  // "80" (http) or "443" (https) when the URL has none
  std::string prefix;

  // The URL again in canonical form, for messages ("http://127.0.0.1:8425").
  std::string to_string() const;
};

// Parses `url`. Fails with code `invalid_server` for anything but an
// http:// or https:// URL.
Result<ServerUrl> parse_server_url(std::string_view url);

// How the client checks an https server and proves itself to one. Files are
// PEM; empty means not given.
struct TlsClientOptions {
  // The CAs that may sign the server's certificate; empty: the system's
  // (/etc/ssl/certs). The certificate must name the URL's host (DNS name or
  // IP address) either way.
  std::string ca_file;
  // A client certificate and its key, for a server that asks for one
  // (mutual TLS). Both or neither.
  std::string cert_file;
  std::string key_file;
};

// Percent-encodes every byte but RFC 3986's unreserved characters
// (A-Z a-z 0-9 - . _ ~), so the result is safe as one path segment or one
// query value ("a/b c" -> "a%2Fb%20c", "+09:00" -> "%2B09%3A00").
std::string percent_encode(std::string_view s);

// One HTTP response as received. `body` is not interpreted.
struct HttpResponse {
  int status = 0;
  std::string reason;  // the status line's reason phrase, possibly ""
  std::string body;
};

// A blocking HTTP/1.1 client for one mamorid. Each request opens its own
// connection (over TLS for an https:// server, TLS 1.2 at least, the
// server's certificate verified against `tls.ca_file`), sends
// `Authorization: Bearer TOKEN` when a token was given, and waits at most
// `timeout` for the whole exchange (resolve, connect, handshake, write,
// read). Not thread-safe; cheap to create.
//
// Errors are values: a failure to resolve, connect, complete the TLS
// handshake (a certificate that does not verify, a refused client
// certificate), send or read (including a timeout or a malformed response)
// is an Error with code `unreachable` and the reason in `message`; a TLS
// file that cannot be read is an Error with code `tls_config` naming it. Any
// HTTP status, 4xx/5xx included, is a response.
class HttpClient {
 public:
  HttpClient(ServerUrl server, std::string token,
             std::chrono::milliseconds timeout = std::chrono::seconds(30),
             TlsClientOptions tls = {});

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // REQUIRES: `target` starts with '/' and is already percent-encoded.
  // `json_body`, when set, is sent with Content-Type: application/json, or
  // `content_type` when given (a CSV import).
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::optional<std::string> json_body = std::nullopt,
                               std::string_view content_type = "application/json");

  const ServerUrl& server() const { return server_; }

 private:
  ServerUrl server_;
  std::string token_;
  std::chrono::milliseconds timeout_;
  TlsClientOptions tls_;
};

}  // namespace mamori::cli

#endif  // MAMORI_CLI_HTTP_CLIENT_H_
