#ifndef MAMORI_CLI_HTTP_CLIENT_H_
#define MAMORI_CLI_HTTP_CLIENT_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori::cli {

// Where mamorid listens, split out of a `http://host[:port][/prefix]` URL.
// `prefix` is "" or a path starting with '/' and not ending with one; it is
// put in front of every request target (for a server behind a path-routing
// proxy).
struct ServerUrl {
  std::string host;  // a name or an IP literal, without IPv6 brackets
  std::string port;  // "80" when the URL has none
  std::string prefix;

  // The URL again in canonical form, for messages ("http://127.0.0.1:8425").
  std::string to_string() const;
};

// Parses `url`. Fails with code `invalid_server` for anything but a plain
// http:// URL; an https:// URL fails with a message saying TLS is not
// supported yet.
Result<ServerUrl> parse_server_url(std::string_view url);

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
// connection, sends `Authorization: Bearer TOKEN` when a token was given, and
// waits at most `timeout` for the whole exchange (resolve, connect, write,
// read). Not thread-safe; cheap to create.
//
// Errors are values: a failure to resolve, connect, send or read (including a
// timeout or a malformed response) is an Error with code `unreachable` and the
// reason in `message`. Any HTTP status, 4xx/5xx included, is a response.
class HttpClient {
 public:
  HttpClient(ServerUrl server, std::string token,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // REQUIRES: `target` starts with '/' and is already percent-encoded.
  // `json_body`, when set, is sent with Content-Type: application/json.
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::optional<std::string> json_body = std::nullopt);

  const ServerUrl& server() const { return server_; }

 private:
  ServerUrl server_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};

}  // namespace mamori::cli

#endif  // MAMORI_CLI_HTTP_CLIENT_H_
