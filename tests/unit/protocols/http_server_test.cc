#include "protocols/http/server.h"

// GCC 12 with -fsanitize reports a false -Wmaybe-uninitialized inside
// Beast's response parser (a boost::optional in basic_parser::do_field).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <atomic>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/json_writer.h"
#include "gtest/gtest.h"
#include "testing/http_client.h"

namespace mamori::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using std::chrono::steady_clock;
using testing::HttpResponse;

// Echoes the request as JSON. "/throw" throws; "/wait..." asks for commit
// ticket 7 before its answer is written; "/wait-big" answers 20 KiB more.
class EchoHandler final : public Handler {
 public:
  void handle(const Request& request, Response& response) override {
    calls.fetch_add(1);
    if (request.target == "/throw") throw std::runtime_error("handler failure");
    JsonWriter w(response.body);
    w.begin_object()
        .field("method", request.method)
        .field("target", request.target)
        .field("body", request.body)
        .field("x_test", request.header("X-Test"))
        .field("header_count", static_cast<std::uint64_t>(request.headers.size()));
    if (request.target == "/wait-big") w.field("pad", std::string(20 * 1024, 'p'));
    w.end_object();
    response.headers.emplace_back("X-Echo", "yes");
    response.headers.emplace_back("X-Injected", "a\r\nSet-Cookie: evil");
    if (request.target.starts_with("/wait")) response.wait_for = 7;
  }

  std::atomic<int> calls{0};
};

using TestWaiter = testing::TestCommitWaiter;

using Client = testing::HttpClient;

std::string post(std::string_view target, std::string_view body, std::string_view extra = "") {
  return std::string("POST ") + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" +
         std::string(extra) +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

std::string get(std::string_view target, std::string_view extra = "") {
  return std::string("GET ") + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" +
         std::string(extra) + "\r\n";
}

boost::json::object json_of(const HttpResponse& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body(), ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << r.body();
    return {};
  }
  return v.as_object();
}

std::string str(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

// The error code and message of an API error body.
std::pair<std::string, std::string> error_of(const HttpResponse& r) {
  auto o = json_of(r);
  auto it = o.find("error");
  if (it == o.end() || !it->value().is_object()) return {};
  return {str(it->value().as_object(), "code"), str(it->value().as_object(), "message")};
}

ServerOptions test_options() { return testing::loopback_options(); }

// A started server on a free loopback port with an EchoHandler.
using Fixture = testing::HttpServerFixture<EchoHandler>;

TEST(HttpServer, StartOnPortZeroReportsTheBoundPort) {
  Fixture f;
  EXPECT_NE(f.port(), 0);
  Client c(f.port());
  EXPECT_TRUE(c.connected());
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  Fixture f;
  Client c(f.port());
  for (int i = 0; i < 5; ++i) {
    std::string body = "{\"n\":" + std::to_string(i) + "}";
    ASSERT_TRUE(c.send(post("/v1/login/attempt", body, "X-Test: hello\r\n")));
    auto r = c.read();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->result_int(), 200);
    EXPECT_EQ((*r)[bhttp::field::server], "mamori");
    EXPECT_EQ((*r)[bhttp::field::content_type], "application/json");
    EXPECT_EQ((*r)["X-Echo"], "yes");
    EXPECT_EQ(r->count("X-Injected"), 0u) << "a header value with CRLF must be dropped";
    EXPECT_EQ(r->count("Set-Cookie"), 0u);
    EXPECT_TRUE(r->keep_alive());
    auto o = json_of(*r);
    EXPECT_EQ(str(o, "method"), "POST");
    EXPECT_EQ(str(o, "target"), "/v1/login/attempt");
    EXPECT_EQ(str(o, "body"), body);
    EXPECT_EQ(str(o, "x_test"), "hello");
  }
  EXPECT_EQ(f.handler.calls.load(), 5);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send(post("/first", "one") + get("/second") + post("/third", "three")));
  auto r1 = c.read();
  auto r2 = c.read();
  auto r3 = c.read();
  ASSERT_TRUE(r1 && r2 && r3);
  EXPECT_EQ(str(json_of(*r1), "target"), "/first");
  EXPECT_EQ(str(json_of(*r1), "body"), "one");
  EXPECT_EQ(str(json_of(*r2), "target"), "/second");
  EXPECT_EQ(str(json_of(*r3), "body"), "three");
}

TEST(HttpServer, BodyOverTheLimitGets413WithoutCallingTheHandler) {
  Fixture f;
  Client c(f.port());
  std::string body(1024 * 1024, 'x');
  // The server may answer and close before the whole body is taken.
  (void)c.send(post("/v1/login/attempt", body));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 413);
  auto [code, message] = error_of(*r);
  EXPECT_EQ(code, "body_too_large");
  EXPECT_NE(message.find("64 KiB"), std::string::npos) << message;
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(f.handler.calls.load(), 0);
}

// After an error answer the server drops what the client still sends, but
// only a bounded amount: a client that keeps sending is cut off, not read
// for the whole linger time.
TEST(HttpServer, DrainAfterAnErrorAnswerStopsAfterAMegabyte) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(
      c.send("POST /v1/login/attempt HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n"));
  ASSERT_TRUE(c.send(std::string(128 * 1024, 'x')));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 413);
  // 64 MiB more: far past the drain limit and the socket buffers, sent in
  // well under the linger time; the connection is closed before it all goes.
  const std::string chunk(1024 * 1024, 'x');
  bool all_sent = true;
  for (int i = 0; i < 64 && all_sent; ++i) all_sent = c.send(chunk);
  EXPECT_FALSE(all_sent) << "the server read 64 MiB after its error answer";
}

TEST(HttpServer, ChunkedBodyOverTheLimitGets413) {
  Fixture f;
  Client c(f.port());
  std::string chunk(40 * 1024, 'y');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  std::string req = "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  req += size_line + chunk + "\r\n" + size_line + chunk + "\r\n0\r\n\r\n";
  (void)c.send(req);
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 413);
  EXPECT_EQ(error_of(*r).first, "body_too_large");
  EXPECT_EQ(f.handler.calls.load(), 0);
}

TEST(HttpServer, ManyLargePipelinedAnswersArriveCompleteAndInOrder) {
  Fixture f;
  Client c(f.port());
  constexpr int kRequests = 40;  // ~2.4 MB each way: more than the socket buffers hold
  std::atomic<bool> sent{false};
  std::thread writer([&] {
    std::string all;
    for (int i = 0; i < kRequests; ++i)
      all +=
          post("/p" + std::to_string(i), std::string(60 * 1024, static_cast<char>('a' + i % 26)));
    sent = c.send(all);
  });
  int good = 0;
  for (int i = 0; i < kRequests; ++i) {
    auto r = c.read();
    if (!r) break;
    auto o = json_of(*r);
    if (str(o, "target") == "/p" + std::to_string(i) &&
        str(o, "body") == std::string(60 * 1024, static_cast<char>('a' + i % 26)))
      ++good;
  }
  writer.join();
  EXPECT_TRUE(sent.load());
  EXPECT_EQ(good, kRequests);
}

TEST(HttpServer, BodyAtTheLimitIsAccepted) {
  Fixture f;
  Client c(f.port());
  std::string body(64 * 1024, 'z');
  ASSERT_TRUE(c.send(post("/big", body)));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(str(json_of(*r), "body"), body);
}

TEST(HttpServer, GarbageGets400AndClose) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send("\x01\x02 not http at all\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 400);
  EXPECT_EQ(error_of(*r).first, "bad_request");
  EXPECT_EQ((*r)[bhttp::field::content_type], "application/json");
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(f.handler.calls.load(), 0);
}

TEST(HttpServer, GarbageAfterAGoodRequestStillAnswersTheGoodOneFirst) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/ok") + "BAD REQUEST LINE\r\n\r\n"));
  auto r1 = c.read();
  auto r2 = c.read();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->result_int(), 200);
  EXPECT_EQ(r2->result_int(), 400);
  EXPECT_TRUE(c.closed_by_server());
}

TEST(HttpServer, HeaderOverTheLimitGets431) {
  Fixture f;
  Client c(f.port());
  (void)c.send(get("/", "X-Big: " + std::string(20 * 1024, 'h') + "\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 431);
  EXPECT_EQ(error_of(*r).first, "headers_too_large");
  EXPECT_EQ(f.handler.calls.load(), 0);
}

TEST(HttpServer, ManySmallHeaderFieldsOverTheLimitGet431) {
  ServerOptions o = test_options();
  o.max_header_bytes = 1024;
  Fixture f(o);
  Client c(f.port());
  std::string fields;
  for (int i = 0; i < 60; ++i) fields += "X-F" + std::to_string(i) + ": 0123456789\r\n";
  (void)c.send(get("/", fields));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 431);
  EXPECT_EQ(f.handler.calls.load(), 0);
}

TEST(HttpServer, MoreThan64HeaderFieldsGet431) {
  Fixture f;
  Client c(f.port());
  std::string fields;
  for (int i = 0; i < 65; ++i) fields += "X-F" + std::to_string(i) + ": v\r\n";
  (void)c.send(get("/", fields));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 431);
  EXPECT_EQ(error_of(*r).first, "headers_too_large");
}

TEST(HttpServer, SixtyFourHeaderFieldsReachTheHandler) {
  Fixture f;
  Client c(f.port());
  std::string fields = "X-Test: last-is-fine\r\n";
  for (int i = 0; i < 62; ++i) fields += "X-F" + std::to_string(i) + ": v\r\n";
  // With Host from get(): 64 fields in all.
  ASSERT_TRUE(c.send(get("/", fields)));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  auto o = json_of(*r);
  EXPECT_EQ(o["header_count"].to_number<std::int64_t>(), 64);
  EXPECT_EQ(str(o, "x_test"), "last-is-fine");
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/bye", "Connection: close\r\n")));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(c.closed_by_server());
}

TEST(HttpServer, Http10ClosesUnlessKeepAliveIsAsked) {
  Fixture f;
  {
    Client c(f.port());
    ASSERT_TRUE(c.send("GET /a HTTP/1.0\r\n\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 200);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(f.port());
    ASSERT_TRUE(c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)[bhttp::field::connection], "keep-alive");
    ASSERT_TRUE(c.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r2 = c.read();
    ASSERT_TRUE(r2);
    EXPECT_EQ(str(json_of(*r2), "target"), "/b");
  }
}

TEST(HttpServer, HeadGetsHeadersWithoutBody) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" + get("/after")));
  auto r1 = c.read(/*head=*/true);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->result_int(), 200);
  EXPECT_NE((*r1)[bhttp::field::content_length], "0");
  auto r2 = c.read();
  ASSERT_TRUE(r2) << "a body after the HEAD answer would corrupt this one";
  EXPECT_EQ(str(json_of(*r2), "target"), "/after");
  EXPECT_EQ(f.handler.calls.load(), 2);
}

TEST(HttpServer, ChunkedBodyIsReassembled) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(
      c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(str(json_of(*r), "body"), "hello world");
}

TEST(HttpServer, ExpectContinueGetsAnInterimAnswer) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(
      c.send("POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto interim = c.read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result_int(), 100);
  ASSERT_TRUE(c.send("data"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(str(json_of(*r), "body"), "data");
}

TEST(HttpServer, HandlerExceptionGives500AndKeepsTheConnection) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/throw")));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 500);
  EXPECT_EQ(error_of(*r).first, "internal_error");
  ASSERT_TRUE(c.send(get("/fine")));
  auto r2 = c.read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->result_int(), 200);
}

TEST(HttpServer, ResponseWaitsForTheCommitAndKeepsOrder) {
  TestWaiter waiter;
  Fixture f(test_options(), waiter.fn());
  Client c(f.port());
  ASSERT_TRUE(c.send(post("/wait", "w") + get("/after")));
  auto call = waiter.wait_call(0);
  ASSERT_TRUE(call);
  EXPECT_EQ(call->first, 7u);
  // Held back: nothing written, and the pipelined request not yet handled.
  EXPECT_FALSE(c.readable_within(200));
  EXPECT_EQ(f.handler.calls.load(), 1);

  std::atomic<bool> released{false};
  std::function<void(std::uint64_t)> ready = call->second;
  std::thread committer([&] {
    released = true;
    ready(7);
    ready(7);  // a second call is ignored
  });
  auto r1 = c.read();
  EXPECT_TRUE(released.load());
  auto r2 = c.read();
  committer.join();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(str(json_of(*r1), "target"), "/wait");
  EXPECT_EQ(str(json_of(*r2), "target"), "/after");
  EXPECT_EQ(f.handler.calls.load(), 2);

  // The connection goes on as usual.
  ASSERT_TRUE(c.send(get("/again")));
  auto r3 = c.read();
  ASSERT_TRUE(r3);
  EXPECT_EQ(str(json_of(*r3), "target"), "/again");
}

TEST(HttpServer, AnswerWhoseWriteFailedToCommitBecomes503AndTheConnectionGoesOn) {
  TestWaiter waiter;
  Fixture f(test_options(), waiter.fn());
  Client c(f.port());
  ASSERT_TRUE(c.send(post("/wait", "w") + get("/after")));
  auto call = waiter.wait_call(0);
  ASSERT_TRUE(call);
  waiter.fail(7);
  call->second(7);
  auto r1 = c.read();
  auto r2 = c.read();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->result_int(), 503);
  EXPECT_EQ(error_of(*r1).first, "store_unavailable");
  EXPECT_EQ((*r1)["Retry-After"], "1");
  EXPECT_EQ(str(json_of(*r2), "target"), "/after");
  EXPECT_EQ(r2->result_int(), 200);
}

// A held answer large enough to be written from its own buffer comes out
// whole before the answer to the request pipelined behind it (which was
// written between its header and its body).
TEST(HttpServer, ALargeAnswerHeldForACommitIsWrittenWholeBeforeTheNext) {
  TestWaiter waiter;
  Fixture f(test_options(), waiter.fn());
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/wait-big") + get("/after")));
  auto call = waiter.wait_call(0);
  ASSERT_TRUE(call);
  call->second(7);
  auto r1 = c.read();
  auto r2 = c.read();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(str(json_of(*r1), "target"), "/wait-big");
  EXPECT_EQ(str(json_of(*r1), "pad"), std::string(20 * 1024, 'p'));
  EXPECT_EQ(str(json_of(*r2), "target"), "/after");
}

TEST(HttpServer, OneCommitReleasesEveryAnswerWaitingUpToIt) {
  TestWaiter waiter;
  ServerOptions o = test_options();
  o.threads = 1;  // the clients share one worker
  Fixture f(o, waiter.fn());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(f.port()));
    ASSERT_TRUE(clients.back()->send(post("/wait", "w")));
  }
  auto call = waiter.wait_call(0);
  ASSERT_TRUE(call);
  while (f.handler.calls.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The worker watches the oldest held answer only.
  EXPECT_FALSE(waiter.wait_call(1, std::chrono::milliseconds(200)));
  for (auto& c : clients) EXPECT_FALSE(c->readable_within(50));
  call->second(7);  // one commit carried all three requests' writes
  for (auto& c : clients) {
    auto r = c->read();
    ASSERT_TRUE(r);
    EXPECT_EQ(str(json_of(*r), "target"), "/wait");
  }
  EXPECT_FALSE(waiter.wait_call(1, std::chrono::milliseconds(50)));
}

TEST(HttpServer, CommitReadyCalledInsideTheWaiterWorks) {
  Fixture f(test_options(),
            CommitWaiter{
                [](std::uint64_t t, std::function<void(std::uint64_t)> ready) { ready(t); }, {}});
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/wait-inline") + get("/next")));
  auto r1 = c.read();
  auto r2 = c.read();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(str(json_of(*r1), "target"), "/wait-inline");
  EXPECT_EQ(str(json_of(*r2), "target"), "/next");
}

TEST(HttpServer, WithoutAWaiterWaitForIsWrittenAtOnce) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/wait")));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
}

TEST(HttpServer, ConcurrentClientsFromSeveralThreads) {
  ServerOptions o = test_options();
  o.threads = 4;
  Fixture f(o);
  constexpr int kClients = 8;
  constexpr int kRequests = 100;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Client c(f.port());
      for (int i = 0; i < kRequests; ++i) {
        std::string body = "client" + std::to_string(t) + "-" + std::to_string(i);
        if (!c.send(post("/v1/login/attempt", body))) return;
        auto r = c.read();
        if (!r || r->result_int() != 200 || str(json_of(*r), "body") != body) return;
        ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kClients * kRequests);
  EXPECT_EQ(f.handler.calls.load(), kClients * kRequests);
}

TEST(HttpServer, StopWithOpenConnectionsReturnsPromptly) {
  TestWaiter waiter;
  Fixture f(test_options(), waiter.fn());
  Client idle(f.port());
  Client partial(f.port());
  Client waiting(f.port());
  Client served(f.port());
  ASSERT_TRUE(partial.send("POST /p HTTP/1.1\r\nHost: t\r\nContent-Le"));
  ASSERT_TRUE(waiting.send(get("/wait")));
  ASSERT_TRUE(served.send(get("/ok")));
  ASSERT_TRUE(served.read());
  auto call = waiter.wait_call(0);
  ASSERT_TRUE(call);

  auto t0 = steady_clock::now();
  f.server->stop();
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(2));
  f.server->stop();  // idempotent

  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_TRUE(partial.closed_by_server());
  EXPECT_TRUE(waiting.closed_by_server());
  EXPECT_TRUE(served.closed_by_server());

  // A commit that completes after stop() and after destruction is ignored.
  call->second(7);
  f.server.reset();
  call->second(7);
}

TEST(HttpServer, IdleConnectionIsClosedAfterTheTimeout) {
  ServerOptions o = test_options();
  o.idle_timeout = std::chrono::seconds(1);
  Fixture f(o);
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/first")));
  ASSERT_TRUE(c.read());
  auto t0 = steady_clock::now();
  EXPECT_TRUE(c.closed_by_server());
  auto waited = steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(700));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

// ---- limits on every buffered byte ------------------------------------------

std::string chunked_head(std::string_view target = "/c", std::string_view extra = "") {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) +
         "Transfer-Encoding: chunked\r\n\r\n";
}

// The value of one metric line ("name{labels} value") in `text`; -1 if absent.
long long metric(const std::string& text, const std::string& name) {
  const std::size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + name.size() + 2));
}

long long server_metric(const Server& s, const std::string& name) {
  std::string text = "\n";
  s.render_metrics(text);
  return metric(text, name);
}

TEST(HttpServer, EndlessChunkSizeLineGets400AndClose) {
  ServerOptions o = test_options();
  o.max_chunk_line_bytes = 1024;
  Fixture f(o);
  Client c(f.port());
  // A chunk-size line that never ends: hex digits, then extension bytes.
  (void)c.send(chunked_head() + "1" + std::string(2048, '0'));
  (void)c.send(";" + std::string(64 * 1024, 'e'));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 400);
  auto [code, message] = error_of(*r);
  EXPECT_EQ(code, "bad_request");
  EXPECT_NE(message.find("chunk-size line is longer than the 1 KiB limit"), std::string::npos)
      << message;
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(f.handler.calls.load(), 0);
  EXPECT_EQ(server_metric(*f.server, "mamori_http_rejected_total{reason=\"chunk_line_too_long\"}"),
            1);
}

TEST(HttpServer, ChunkSizeLineAtTheLimitIsAccepted) {
  ServerOptions o = test_options();
  o.max_chunk_line_bytes = 64;
  Fixture f(o);
  for (std::size_t line : {64, 65}) {
    Client c(f.port());
    // "5;eee...": the size, then one extension, `line` bytes before CRLF.
    const std::string size_line = "5;" + std::string(line - 2, 'e');
    // Whether the server reads the line with its CRLF or without, the limit is the same.
    ASSERT_TRUE(c.send(chunked_head() + size_line));
    (void)c.send("\r\nhello\r\n0\r\n\r\n");
    auto r = c.read();
    ASSERT_TRUE(r) << line;
    if (line == 64) {
      EXPECT_EQ(r->result_int(), 200);
      EXPECT_EQ(str(json_of(*r), "body"), "hello");
    } else {
      EXPECT_EQ(r->result_int(), 400);
      EXPECT_EQ(error_of(*r).first, "bad_request");
    }
  }
  // A complete line over the limit in one piece, and a last chunk's line.
  for (const std::string& line : {"5;" + std::string(63, 'e') + "\r\nhello\r\n0\r\n\r\n",
                                  "0;" + std::string(63, 'e') + "\r\n\r\n"}) {
    Client c(f.port());
    (void)c.send(chunked_head() + line);
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 400);
    EXPECT_NE(error_of(*r).second.find("chunk-size line"), std::string::npos);
  }
  EXPECT_EQ(f.handler.calls.load(), 1);
}

TEST(HttpServer, EndlessTrailerLineGets431AndClose) {
  ServerOptions o = test_options();
  o.max_header_bytes = 2048;
  Fixture f(o);
  Client c(f.port());
  (void)c.send(chunked_head() + "5\r\nhello\r\n0\r\nX-Trailer: " + std::string(8 * 1024, 't'));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 431);
  auto [code, message] = error_of(*r);
  EXPECT_EQ(code, "headers_too_large");
  EXPECT_NE(message.find("trailer"), std::string::npos) << message;
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(f.handler.calls.load(), 0);
}

TEST(HttpServer, EndlessTrailerOfShortLinesGets431) {
  ServerOptions o = test_options();
  o.max_header_bytes = 2048;
  Fixture f(o);
  Client c(f.port());
  std::string trailer;
  while (trailer.size() < 8 * 1024) trailer += "X-T: 1\r\n";  // never the empty line
  (void)c.send(chunked_head() + "0\r\n" + trailer);
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 431);
  EXPECT_EQ(error_of(*r).first, "headers_too_large");
  EXPECT_EQ(f.handler.calls.load(), 0);
}

TEST(HttpServer, TrailerFieldsDoNotReachTheHandler) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send(chunked_head() + "2\r\nok\r\n0\r\nX-Test: from-the-trailer\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  auto o = json_of(*r);
  EXPECT_EQ(str(o, "body"), "ok");
  EXPECT_EQ(str(o, "x_test"), "");
  EXPECT_EQ(o["header_count"].to_number<std::int64_t>(), 2);  // Host, Transfer-Encoding
  // The connection goes on.
  ASSERT_TRUE(c.send(get("/next")));
  auto r2 = c.read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(str(json_of(*r2), "target"), "/next");
}

TEST(HttpServer, RequestOverTheTotalLimitGets413) {
  // Chunk framing is not body: 200 one-byte chunks with 50-byte extensions
  // are 200 bytes of body in about 11 KiB.
  ServerOptions o = test_options();
  o.max_header_bytes = 1024;
  o.max_body_bytes = 4 * 1024;
  o.max_request_bytes = 8 * 1024;
  Fixture f(o);
  Client c(f.port());
  std::string req = chunked_head();
  for (int i = 0; i < 200; ++i) req += "1;" + std::string(50, 'e') + "\r\nx\r\n";
  req += "0\r\n\r\n";
  (void)c.send(req);
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 413);
  auto [code, message] = error_of(*r);
  EXPECT_EQ(code, "request_too_large");
  EXPECT_NE(message.find("8 KiB"), std::string::npos) << message;
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(f.handler.calls.load(), 0);
}

TEST(HttpServer, RequestAtTheTotalLimitIsAccepted) {
  ServerOptions o = test_options();
  o.max_body_bytes = 8 * 1024;
  o.max_request_bytes = 8 * 1024;
  Fixture f(o);
  for (std::size_t total : {o.max_request_bytes, o.max_request_bytes + 1}) {
    // The body that makes the whole request `total` bytes.
    std::size_t body = total - post("/t", "").size();
    while (post("/t", std::string(body, 'b')).size() > total) --body;
    ASSERT_EQ(post("/t", std::string(body, 'b')).size(), total);
    Client c(f.port());
    (void)c.send(post("/t", std::string(body, 'b')));
    auto r = c.read();
    ASSERT_TRUE(r) << total;
    if (total == o.max_request_bytes) {
      EXPECT_EQ(r->result_int(), 200);
    } else {
      EXPECT_EQ(r->result_int(), 413);
      EXPECT_EQ(error_of(*r).first, "request_too_large");
    }
  }
  EXPECT_EQ(f.handler.calls.load(), 1);
}

TEST(HttpServer, TransferCodingsOtherThanChunkedGet501AndTheBodyIsNotARequest) {
  for (const char* coding : {"gzip", "chunked, gzip", "gzip, chunked", "deflate", "x-unknown",
                             "identity", "chunked;ext=1"}) {
    Fixture f;
    Client c(f.port());
    // The "body" is a complete second request: it must not be served.
    const std::string hidden = get("/smuggled");
    (void)c.send("POST /outer HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + std::string(coding) +
                 "\r\n\r\n" + hidden);
    auto r = c.read();
    ASSERT_TRUE(r) << coding;
    EXPECT_EQ(r->result_int(), 501) << coding;
    auto [code, message] = error_of(*r);
    EXPECT_EQ(code, "not_implemented") << coding;
    EXPECT_NE(message.find("is not supported: only chunked is"), std::string::npos) << message;
    EXPECT_FALSE(r->keep_alive());
    EXPECT_TRUE(c.closed_by_server()) << coding;
    EXPECT_EQ(f.handler.calls.load(), 0) << coding;
    EXPECT_EQ(
        server_metric(*f.server,
                      "mamori_http_rejected_total{reason=\"transfer_coding_not_implemented\"}"),
        1);
  }
}

TEST(HttpServer, UnsupportedCodingIsNamedInTheAnswer) {
  Fixture f;
  Client c(f.port());
  (void)c.send("POST /o HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: br, chunked\r\n\r\n");
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(error_of(*r).second, "transfer coding \"br\" is not supported: only chunked is");
}

TEST(HttpServer, MalformedTransferEncodingGets400AndClose) {
  for (const char* extra : {"Transfer-Encoding: chunked, chunked\r\n", "Transfer-Encoding: \r\n",
                            "Transfer-Encoding: , ,\r\n",
                            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                            "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"}) {
    Fixture f;
    Client c(f.port());
    (void)c.send("POST /o HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n" +
                 get("/smuggled"));
    auto r = c.read();
    ASSERT_TRUE(r) << extra;
    EXPECT_EQ(r->result_int(), 400) << extra;
    EXPECT_EQ(error_of(*r).first, "bad_request") << extra;
    EXPECT_TRUE(c.closed_by_server()) << extra;
    EXPECT_EQ(f.handler.calls.load(), 0) << extra;
  }
}

TEST(HttpServer, ChunkedIsMatchedCaseInsensitivelyWithSpaces) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(
      c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:  CHUNKED \r\n\r\n"
             "2\r\nok\r\n0\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(str(json_of(*r), "body"), "ok");
}

// ---- the connection limit ---------------------------------------------------

// A request answered on `c`: the server has accepted and counted it.
bool served(Client& c) {
  if (!c.send(get("/served"))) return false;
  auto r = c.read();
  return r && r->result_int() == 200;
}

TEST(HttpServer, ConnectionsOverTheLimitAreClosedUnread) {
  ServerOptions o = test_options();
  o.max_connections = 2;
  Fixture f(o);
  auto first = std::make_unique<Client>(f.port());
  Client second(f.port());
  ASSERT_TRUE(served(*first));
  ASSERT_TRUE(served(second));
  EXPECT_EQ(server_metric(*f.server, "mamori_http_connections"), 2);

  for (int i = 0; i < 3; ++i) {
    Client extra(f.port());
    ASSERT_TRUE(extra.connected());  // the kernel accepts; the server closes it
    (void)extra.send(get("/extra"));
    EXPECT_TRUE(extra.closed_by_server()) << i;
  }
  EXPECT_EQ(server_metric(*f.server, "mamori_http_connections_refused_total"), 3);
  EXPECT_EQ(f.handler.calls.load(), 2);
  // The connections within the limit go on.
  EXPECT_TRUE(served(second));

  // Once one closes, a new connection is served (the server notices the
  // close asynchronously: retry until a deadline).
  first.reset();
  bool again = false;
  for (auto deadline = steady_clock::now() + std::chrono::seconds(5);
       !again && steady_clock::now() < deadline;) {
    Client next(f.port());
    again = served(next);
  }
  EXPECT_TRUE(again);
}

// ---- the request timeout ----------------------------------------------------

// Sends `piece` every 50 ms until the server closes the connection or 5 s
// pass; returns how long the server took.
std::optional<std::chrono::milliseconds> trickle_until_closed(Client& c, const std::string& piece) {
  const auto t0 = steady_clock::now();
  while (steady_clock::now() - t0 < std::chrono::seconds(5)) {
    if (c.readable_within(50)) {
      if (!c.closed_by_server()) return std::nullopt;  // an answer instead
      return std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - t0);
    }
    if (!c.send(piece))
      return std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - t0);
  }
  return std::nullopt;
}

ServerOptions short_request_timeout() {
  ServerOptions o = test_options();
  o.request_timeout = std::chrono::milliseconds(400);
  o.idle_timeout = std::chrono::seconds(30);
  return o;
}

TEST(HttpServer, TrickledHeaderIsCutAtTheRequestTimeout) {
  Fixture f(short_request_timeout());
  Client c(f.port());
  ASSERT_TRUE(c.send("GET /slow HTTP/1.1\r\n"));
  auto took = trickle_until_closed(c, "X-A: b\r\n");
  ASSERT_TRUE(took);
  EXPECT_GE(*took, std::chrono::milliseconds(250));
  EXPECT_LT(*took, std::chrono::seconds(3));
  EXPECT_EQ(f.handler.calls.load(), 0);
  EXPECT_EQ(server_metric(*f.server, "mamori_http_rejected_total{reason=\"request_timeout\"}"), 1);
}

TEST(HttpServer, TrickledBodyIsCutAtTheRequestTimeout) {
  Fixture f(short_request_timeout());
  Client c(f.port());
  ASSERT_TRUE(c.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\n"));
  auto took = trickle_until_closed(c, "x");
  ASSERT_TRUE(took);
  EXPECT_LT(*took, std::chrono::seconds(3));
  EXPECT_EQ(f.handler.calls.load(), 0);
}

TEST(HttpServer, TrickledChunksAreCutAtTheRequestTimeout) {
  Fixture f(short_request_timeout());
  Client c(f.port());
  ASSERT_TRUE(c.send(chunked_head()));
  auto took = trickle_until_closed(c, "1\r\nx\r\n");
  ASSERT_TRUE(took);
  EXPECT_LT(*took, std::chrono::seconds(3));
  EXPECT_EQ(f.handler.calls.load(), 0);
}

TEST(HttpServer, AnIdleConnectionWaitsForTheIdleTimeoutNotTheRequestTimeout) {
  Fixture f(short_request_timeout());
  Client c(f.port());
  ASSERT_TRUE(served(c));
  EXPECT_FALSE(c.readable_within(1200));  // three request timeouts: still open
  EXPECT_TRUE(served(c));
  EXPECT_EQ(server_metric(*f.server, "mamori_http_rejected_total{reason=\"request_timeout\"}"), 0);
}

TEST(HttpServer, SecondServerOnTheSamePortFailsWithListenFailed) {
  Fixture first;
  ServerOptions o = test_options();
  o.port = first.port();
  EchoHandler handler;
  Server second(o, handler, {});
  Status s = second.start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "listen_failed");
  EXPECT_NE(s.error().message.find("127.0.0.1:" + std::to_string(first.port())), std::string::npos)
      << s.error().message;
  // The first one still serves.
  Client c(first.port());
  ASSERT_TRUE(c.send(get("/still")));
  EXPECT_TRUE(c.read());
}

TEST(HttpServer, UnassignableAddressFailsWithListenFailed) {
  ServerOptions o = test_options();
  o.host = "192.0.2.1";  // TEST-NET-1: not a local address
  EchoHandler handler;
  Server server(o, handler, {});
  Status s = server.start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "listen_failed");
  EXPECT_NE(s.error().message.find("192.0.2.1:0"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace mamori::http
