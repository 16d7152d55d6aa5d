// Deferred answers (Response::defer()): finished off the worker thread,
// written in the connection's order, dropped safely when the connection or
// the server is gone, bounded per worker.

// GCC 12 with -fsanitize reports a false -Wmaybe-uninitialized inside
// Beast's response parser (a boost::optional in basic_parser::do_field),
// which testing::HttpClient uses.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/http/server.h"
#include "testing/http_client.h"

namespace mamori::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// "/defer..." defers its answer and hands the handle to the test; every
// other target is answered at once with its target as the body.
class DeferringHandler final : public Handler {
 public:
  void handle(const Request& request, Response& response) override {
    calls.fetch_add(1);
    response.content_type = "text/plain";
    if (!request.target.starts_with("/defer")) {
      response.body = std::string(request.target);
      return;
    }
    DeferredAnswer d = response.defer();
    if (!d) return;  // `response` holds the refusal
    std::lock_guard<std::mutex> lock(mu_);
    pending_.emplace_back(std::string(request.target), std::move(d));
    cv_.notify_all();
  }

  // The oldest deferred answer not taken yet; nullopt after `within`.
  std::optional<std::pair<std::string, DeferredAnswer>> take(milliseconds within = seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, within, [&] { return !pending_.empty(); })) return std::nullopt;
    auto p = std::move(pending_.front());
    pending_.pop_front();
    return p;
  }

  std::atomic<int> calls{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, DeferredAnswer>> pending_;
};

Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

using Client = testing::HttpClient;

std::string get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

using TestWaiter = testing::TestCommitWaiter;

// Every client on one worker: a deferred answer must not block it.
ServerOptions one_worker() { return testing::loopback_options(1); }

struct Fixture : testing::HttpServerFixture<DeferringHandler> {
  explicit Fixture(ServerOptions options = one_worker(), CommitWaiter waiter = {})
      : HttpServerFixture(std::move(options), std::move(waiter)) {}
};

TEST(DeferredAnswer, IsWrittenWhenFinishedFromAnotherThreadWhileTheWorkerServesOthers) {
  Fixture f;
  Client slow(f.port());
  ASSERT_TRUE(slow.send(get("/defer")));
  auto d = f.handler.take();
  ASSERT_TRUE(d);
  // The only worker is free: another connection is answered meanwhile.
  Client other(f.port());
  ASSERT_TRUE(other.send(get("/quick")));
  auto quick = other.read();
  ASSERT_TRUE(quick);
  EXPECT_EQ(quick->body(), "/quick");
  EXPECT_FALSE(slow.readable_within(100));

  std::thread finisher([&] { d->second.finish(text(201, "late")); });
  finisher.join();
  EXPECT_FALSE(d->second);  // finished: the handle is empty
  auto late = slow.read();
  ASSERT_TRUE(late);
  EXPECT_EQ(late->result_int(), 201);
  EXPECT_EQ(late->body(), "late");
  // The connection goes on.
  ASSERT_TRUE(slow.send(get("/after")));
  auto after = slow.read();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body(), "/after");
}

TEST(DeferredAnswer, PipelinedRequestsBehindItWaitAndKeepTheirOrder) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/defer-1") + get("/second") + get("/defer-3") + get("/fourth")));
  auto d1 = f.handler.take();
  ASSERT_TRUE(d1);
  EXPECT_EQ(d1->first, "/defer-1");
  // Nothing behind it is read before it is answered.
  EXPECT_FALSE(f.handler.take(milliseconds(100)));
  EXPECT_EQ(f.handler.calls.load(), 1);
  d1->second.finish(text(200, "first"));
  auto d3 = f.handler.take();
  ASSERT_TRUE(d3);
  EXPECT_EQ(d3->first, "/defer-3");
  d3->second.finish(text(200, "third"));
  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) {
    auto a = c.read();
    ASSERT_TRUE(a);
    bodies.push_back(a->body());
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"first", "/second", "third", "/fourth"}));
}

TEST(DeferredAnswer, ItsWriteTicketHoldsItForTheCommit) {
  TestWaiter waiter;
  Fixture f(one_worker(), waiter.fn());
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/defer")));
  auto d = f.handler.take();
  ASSERT_TRUE(d);
  Response r = text(200, "durable");
  r.wait_for = 9;
  d->second.finish(std::move(r));
  auto call = waiter.wait_call(0);
  ASSERT_TRUE(call);
  EXPECT_EQ(call->first, 9u);
  EXPECT_FALSE(c.readable_within(100));
  call->second(9);
  auto a = c.read();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body(), "durable");
}

TEST(DeferredAnswer, AHandleDroppedUnfinishedAnswers500) {
  Fixture f;
  Client c(f.port());
  ASSERT_TRUE(c.send(get("/defer")));
  {
    auto d = f.handler.take();
    ASSERT_TRUE(d);
  }  // dropped
  auto a = c.read();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->result_int(), 500);
  EXPECT_NE(a->body().find("internal_error"), std::string::npos);
}

TEST(DeferredAnswer, FinishedAfterItsConnectionClosedIsDropped) {
  Fixture f;
  auto c = std::make_unique<Client>(f.port());
  ASSERT_TRUE(c->send(get("/defer")));
  auto d = f.handler.take();
  ASSERT_TRUE(d);
  c->close();
  // Finished while the peer is gone: the write fails or goes nowhere, and
  // the connection is closed; the worker goes on.
  d->second.finish(text(200, std::string(256 * 1024, 'x')));
  Client next(f.port());
  ASSERT_TRUE(next.send(get("/next")));
  auto a = next.read();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body(), "/next");
}

TEST(DeferredAnswer, OverTheBoundThe503ServerBusyIsAnsweredAtOnce) {
  ServerOptions o = one_worker();
  o.max_deferred_answers = 2;
  Fixture f(o);
  Client a(f.port()), b(f.port()), c(f.port());
  ASSERT_TRUE(a.send(get("/defer-a")));
  auto da = f.handler.take();
  ASSERT_TRUE(b.send(get("/defer-b")));
  auto db = f.handler.take();
  ASSERT_TRUE(da && db);
  ASSERT_TRUE(c.send(get("/defer-c")));
  auto refused = c.read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->result_int(), 503);
  EXPECT_NE(refused->body().find("server_busy"), std::string::npos);
  EXPECT_EQ((*refused)["Retry-After"], "1");
  EXPECT_FALSE(f.handler.take(milliseconds(50)));

  da->second.finish(text(200, "a"));
  auto ra = a.read();
  ASSERT_TRUE(ra);
  EXPECT_EQ(ra->body(), "a");
  // A place is free again.
  ASSERT_TRUE(c.send(get("/defer-c")));
  auto dc = f.handler.take();
  ASSERT_TRUE(dc);
  dc->second.finish(text(200, "c"));
  db->second.finish(text(200, "b"));
  auto rc = c.read();
  auto rb = b.read();
  ASSERT_TRUE(rc && rb);
  EXPECT_EQ(rc->body(), "c");
  EXPECT_EQ(rb->body(), "b");

  std::string metrics;
  f.server->render_metrics(metrics);
  EXPECT_NE(metrics.find("mamori_http_deferred_answers_total 3\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("mamori_http_deferred_refused_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("mamori_http_deferred_answers_pending 0\n"), std::string::npos);
}

TEST(DeferredAnswer, StopWithAnswersPendingReturnsAndLaterFinishesAreIgnored) {
  ServerOptions o = one_worker();
  o.threads = 2;
  Fixture f(o);
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<DeferredAnswer> pending;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<Client>(f.port()));
    ASSERT_TRUE(clients.back()->send(get("/defer")));
    auto d = f.handler.take();
    ASSERT_TRUE(d);
    pending.push_back(std::move(d->second));
  }
  // Finishers racing the stop.
  std::atomic<bool> go{false};
  std::vector<std::thread> finishers;
  for (int i = 0; i < 3; ++i)
    finishers.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      pending[static_cast<std::size_t>(i)].finish(text(200, "raced"));
    });
  go = true;
  const auto t0 = steady_clock::now();
  f.server->stop();
  EXPECT_LT(steady_clock::now() - t0, seconds(2));
  for (auto& t : finishers) t.join();
  for (auto& c : clients) {
    // Either the raced answer arrived before the stop, or the connection
    // was closed; nothing hangs.
    auto a = c->read();
    if (a) {
      EXPECT_EQ(a->body(), "raced");
    }
  }
  pending[3].finish(text(200, "after stop"));
  f.server.reset();
  pending[4].finish(text(200, "after destruction"));
  // pending[5] is dropped unfinished after the server is gone.
}

}  // namespace
}  // namespace mamori::http
