#ifndef MAMORI_PROTOCOLS_HTTP_CONSOLE_ASSETS_H_
#define MAMORI_PROTOCOLS_HTTP_CONSOLE_ASSETS_H_

#include <span>
#include <string_view>

#include "protocols/http/http_types.h"

namespace mamori::http {

// One file of the operator console as built into mamorid (console/, bundled
// by esbuild and embedded by cmake/embed_assets.py at build time).
struct EmbeddedAsset {
  std::string_view path;          // "/console/" (index.html), "/console/assets/app-HASH.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // strong: "\"<128 bits of SHA-256 in hex>\""
  bool immutable;                 // its name carries its content's hash
  std::string_view body;
  // Its gzip form and that form's own strong ETag; both empty when the file
  // is not text or gzip would not save a tenth of it.
  std::string_view gzip_etag;
  std::string_view gzip_body;
};

// Every asset of the console, index.html first among equals; generated.
std::span<const EmbeddedAsset> console_assets();

// Whether an Accept-Encoding header's value accepts gzip (RFC 9110 12.5.3):
// "gzip" or "x-gzip" listed with a q above 0, or "*" with a q above 0 and
// gzip not refused by name. Codings are case-insensitive; an absent header
// accepts no coding here (identity is always sent then).
bool accepts_gzip(std::string_view accept_encoding);

// Serves the operator console, a single-page app that talks to the API with
// the console's session cookie:
//   GET /console              303 to /console/
//   GET /console/             index.html, `Cache-Control: no-cache`
//   GET /console/assets/NAME  scripts and styles under content-hashed names,
//                             `Cache-Control: public, max-age=31536000, immutable`
//   anything else under /console/: 404; a method other than GET or HEAD: 405.
// Every answer carries a strict Content-Security-Policy (scripts and styles
// from the console's own files only, no inline ones, framing refused),
// X-Frame-Options DENY, nosniff and no referrer. Assets answer a matching
// If-None-Match with 304. A text asset is sent gzipped to a client whose
// Accept-Encoding takes it (`Content-Encoding: gzip`, with the gzip form's
// ETag), and every asset that has a gzip form answers `Vary:
// Accept-Encoding` either way. No state, no store: the pages fetch their data from
// the API. Thread-safe: the assets are constant.
class ConsoleAssets final : public Handler {
 public:
  void handle(const Request& request, Response& response) override;

  // Whether `target` is the console's ("/console" or under "/console/").
  static bool serves(std::string_view target);
};

// Sends the console's requests to `console` and every other one to `next`.
class ConsoleRouter final : public Handler {
 public:
  ConsoleRouter(Handler& console, Handler& next) : console_(console), next_(next) {}
  void handle(const Request& request, Response& response) override {
    (ConsoleAssets::serves(request.target) ? console_ : next_).handle(request, response);
  }

 private:
  Handler& console_;
  Handler& next_;
};

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_CONSOLE_ASSETS_H_
