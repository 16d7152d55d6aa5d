#include "protocols/http/console_assets.h"

#include <string>

namespace mamori::http {

namespace {

constexpr std::string_view kPrefix = "/console";
constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

void secure_headers(Response& resp) {
  resp.headers.emplace_back("Content-Security-Policy", std::string(kPolicy));
  resp.headers.emplace_back("X-Frame-Options", "DENY");
  resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
  resp.headers.emplace_back("Referrer-Policy", "no-referrer");
}

void plain(Response& resp, int status, std::string_view text) {
  resp.status = status;
  resp.content_type = "text/plain; charset=utf-8";
  resp.body = std::string(text) + "\n";
  resp.headers.emplace_back("Cache-Control", "no-store");
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// If-None-Match's weak comparison (RFC 9110 13.1.2): "*", or any listed tag
// whose opaque part equals the asset's.
bool none_match(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view tag = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

// ASCII case-insensitive equality.
bool same_token(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Whether one Accept-Encoding element's parameters refuse its coding: a q
// of zero ("q=0", "q=0.0", "q=0.000"); any other q, or none, accepts.
bool refused(std::string_view params) {
  while (!params.empty()) {
    const std::size_t semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') continue;
    p.remove_prefix(2);
    if (p.empty() || p.front() != '0') return false;
    p.remove_prefix(1);
    if (!p.empty() && p.front() == '.') p.remove_prefix(1);
    return p.find_first_not_of('0') == std::string_view::npos;
  }
  return false;
}

}  // namespace

bool accepts_gzip(std::string_view header) {
  bool by_name = false, named = false, by_star = false;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    const std::string_view element = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const std::size_t semi = element.find(';');
    const std::string_view coding = trim(element.substr(0, semi));
    const std::string_view params =
        semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1);
    if (same_token(coding, "gzip") || same_token(coding, "x-gzip")) {
      named = true;
      by_name = by_name || !refused(params);
    } else if (coding == "*") {
      by_star = !refused(params);
    }
  }
  return named ? by_name : by_star;
}

bool ConsoleAssets::serves(std::string_view target) {
  if (!target.starts_with(kPrefix)) return false;
  const std::string_view rest = target.substr(kPrefix.size());
  return rest.empty() || rest.front() == '/' || rest.front() == '?';
}

void ConsoleAssets::handle(const Request& req, Response& resp) {
  secure_headers(resp);
  std::string_view path = req.target.substr(0, req.target.find('?'));
  if (req.method != "GET" && req.method != "HEAD") {
    plain(resp, 405, "The console's pages answer GET and HEAD only.");
    resp.headers.emplace_back("Allow", "GET, HEAD");
    return;
  }
  if (path == kPrefix) {
    plain(resp, 303, "See /console/");
    resp.headers.emplace_back("Location", "/console/");
    return;
  }
  for (const EmbeddedAsset& asset : console_assets()) {
    if (asset.path != path) continue;
    const bool gzip = !asset.gzip_body.empty() && accepts_gzip(req.header("Accept-Encoding"));
    const std::string_view etag = gzip ? asset.gzip_etag : asset.etag;
    resp.headers.emplace_back("ETag", std::string(etag));
    resp.headers.emplace_back("Cache-Control",
                              asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
    if (!asset.gzip_body.empty()) resp.headers.emplace_back("Vary", "Accept-Encoding");
    if (none_match(req.header("If-None-Match"), etag)) {
      resp.status = 304;
      resp.content_type.clear();
      resp.body.clear();
      return;
    }
    resp.status = 200;
    resp.content_type = std::string(asset.content_type);
    if (gzip) resp.headers.emplace_back("Content-Encoding", "gzip");
    resp.body = std::string(gzip ? asset.gzip_body : asset.body);
    return;
  }
  plain(resp, 404, "No such page in the console.");
}

}  // namespace mamori::http
