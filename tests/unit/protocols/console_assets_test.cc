#include "protocols/http/console_assets.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mamori::http {
namespace {

std::string header_of(const Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

Response get(std::string_view target, std::string_view method = "GET",
             std::vector<Header> headers = {}) {
  ConsoleAssets console;
  Request req;
  req.method = method;
  req.target = target;
  req.headers = headers;
  Response resp;
  console.handle(req, resp);
  return resp;
}

const EmbeddedAsset* asset(std::string_view path) {
  for (const EmbeddedAsset& a : console_assets())
    if (a.path == path) return &a;
  return nullptr;
}

const EmbeddedAsset& script() {
  for (const EmbeddedAsset& a : console_assets())
    if (a.path.starts_with("/console/assets/app-") && a.path.ends_with(".js")) return a;
  ADD_FAILURE() << "no script in the console's assets";
  return console_assets().front();
}

TEST(ConsoleAssets, ServesOnlyItsOwnPaths) {
  for (std::string_view t : {"/console", "/console/", "/console?x=1", "/console/assets/a.js"})
    EXPECT_TRUE(ConsoleAssets::serves(t)) << t;
  for (std::string_view t : {"/consoles", "/consol", "/owner/activity", "/v1/console", "/"})
    EXPECT_FALSE(ConsoleAssets::serves(t)) << t;
}

TEST(ConsoleAssets, EmbedsTheBuiltIndexScriptAndStyle) {
  const EmbeddedAsset* index = asset("/console/");
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(index->immutable);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  const std::string html(index->body);
  const EmbeddedAsset& js = script();
  EXPECT_NE(html.find(std::string(js.path.substr(std::string_view("/console/").size()))),
            std::string::npos);
  for (const EmbeddedAsset& a : console_assets()) {
    EXPECT_EQ(a.immutable, a.path.starts_with("/console/assets/")) << a.path;
    EXPECT_EQ(a.etag.size(), 34u) << a.path;  // '"' + 32 hex + '"'
    EXPECT_FALSE(a.body.empty()) << a.path;
  }
}

TEST(ConsoleAssets, AnswersWithTheSecurityAndCacheHeaders) {
  Response r = get("/console/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header_of(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(header_of(r, "X-Frame-Options"), "DENY");
  EXPECT_NE(header_of(r, "Content-Security-Policy").find("script-src 'self';"), std::string::npos);
  EXPECT_NE(header_of(r, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
  Response js = get(script().path);
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, script().body);
  EXPECT_EQ(header_of(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header_of(js, "ETag"), script().etag);
}

TEST(ConsoleAssets, MatchingIfNoneMatchAnswers304) {
  const std::string etag(script().etag);
  for (const std::string& sent : {etag, "W/" + etag, "\"x\", " + etag, std::string("*")}) {
    Response r = get(script().path, "GET", {{"If-None-Match", sent}});
    EXPECT_EQ(r.status, 304) << sent;
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(header_of(r, "ETag"), etag);
  }
  EXPECT_EQ(get(script().path, "GET", {{"If-None-Match", "\"0123\""}}).status, 200);
  EXPECT_EQ(get(script().path, "GET", {{"If-None-Match", etag.substr(0, 20)}}).status, 200);
}

TEST(AcceptsGzip, ReadsTheCodingsAndTheirWeights) {
  for (std::string_view h : {"gzip", "GZip", "x-gzip", "deflate, gzip", "gzip;q=0.5",
                             "br;q=1.0, gzip ; q=0.001", "*", "*;q=0.1", "identity, *"})
    EXPECT_TRUE(accepts_gzip(h)) << h;
  for (std::string_view h : {"", "identity", "br, deflate", "gzip;q=0", "gzip; q=0.000", "*;q=0",
                             "gzip;q=0, *", "gzipx", "x-gzip;Q=0"})
    EXPECT_FALSE(accepts_gzip(h)) << h;
}

TEST(ConsoleAssets, SendsTextGzippedToClientsThatTakeIt) {
  const EmbeddedAsset& js = script();
  ASSERT_FALSE(js.gzip_body.empty());
  EXPECT_LT(js.gzip_body.size(), js.body.size());
  EXPECT_EQ(js.gzip_body.substr(0, 2), std::string_view("\x1f\x8b"));  // gzip's magic
  EXPECT_NE(js.gzip_etag, js.etag);
  Response r = get(js.path, "GET", {{"Accept-Encoding", "gzip, deflate"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, js.gzip_body);
  EXPECT_EQ(header_of(r, "Content-Encoding"), "gzip");
  EXPECT_EQ(header_of(r, "ETag"), js.gzip_etag);
  EXPECT_EQ(header_of(r, "Vary"), "Accept-Encoding");
  Response plain = get(js.path, "GET", {{"Accept-Encoding", "gzip;q=0"}});
  EXPECT_EQ(plain.body, js.body);
  EXPECT_EQ(header_of(plain, "Content-Encoding"), "");
  EXPECT_EQ(header_of(plain, "Vary"), "Accept-Encoding");
  // Each form is revalidated by its own tag.
  const std::string gz_etag(js.gzip_etag), id_etag(js.etag);
  EXPECT_EQ(get(js.path, "GET", {{"Accept-Encoding", "gzip"}, {"If-None-Match", gz_etag}}).status,
            304);
  EXPECT_EQ(get(js.path, "GET", {{"Accept-Encoding", "gzip"}, {"If-None-Match", id_etag}}).status,
            200);
  EXPECT_EQ(get(js.path, "GET", {{"If-None-Match", gz_etag}}).status, 200);
}

TEST(ConsoleAssets, RedirectsRefusesOtherMethodsAndUnknownPaths) {
  Response r = get("/console");
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(header_of(r, "Location"), "/console/");
  r = get("/console/", "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header_of(r, "Allow"), "GET, HEAD");
  for (std::string_view t : {"/console/nope", "/console/assets/", "/console/assets/app-0.js"}) {
    r = get(t);
    EXPECT_EQ(r.status, 404) << t;
    EXPECT_EQ(header_of(r, "X-Content-Type-Options"), "nosniff") << t;
  }
  EXPECT_EQ(get("/console/?lang=ja").body, get("/console/").body);
}

class Counting final : public Handler {
 public:
  void handle(const Request&, Response& r) override {
    ++calls;
    r.status = 299;
  }
  int calls = 0;
};

TEST(ConsoleRouter, SendsTheConsolesRequestsToItAndTheRestOn) {
  Counting console, next;
  ConsoleRouter router(console, next);
  Response r;
  for (std::string_view target : {"/console/", "/v1/status", "/consoles"}) {
    Request req;
    req.method = "GET";
    req.target = target;
    router.handle(req, r);
  }
  EXPECT_EQ(console.calls, 1);
  EXPECT_EQ(next.calls, 2);
}

}  // namespace
}  // namespace mamori::http
