#include "notify/dispatcher.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "store/embedded/embedded_store.h"
#include "testing/temp_dir.h"

namespace mamori::notify {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using store::OutboxChannel;
using store::OutboxItem;

const TimePoint kT0 = from_unix_ms(1'795'435'200'000);  // 2026-11-23T12:00:00Z

// A channel that answers from a script (OK, or an error with a code) and
// records what it was asked to deliver. Stands for the SMTP relay or the
// webhook receiver, whose real behaviour the integration tests drive.
class ScriptedChannel final : public Channel {
 public:
  std::deque<Status> script;  // empty: OK
  std::vector<std::string> attempts;
  std::vector<TimePoint> times;
  ManualClock* slow_clock = nullptr;  // when set, each delivery takes 10 ms of it

  Status deliver(const OutboxItem& item, TimePoint now) override {
    if (slow_clock != nullptr) slow_clock->advance(std::chrono::milliseconds(10));
    attempts.push_back(item.id);
    times.push_back(now);
    if (script.empty()) return {};
    Status s = script.front();
    script.pop_front();
    return s;
  }
};

Status transient() { return make_error("smtp_failed", "smtp://127.0.0.1:2525: Couldn't connect"); }

struct Fixture {
  mamori::testing::TempDir tmp;
  std::unique_ptr<store::EmbeddedStore> store = std::move(*store::EmbeddedStore::open(tmp.path()));
  ManualClock clock{kT0};
  ScriptedChannel email, webhook;
  DispatcherOptions options;

  Fixture() {
    options.retry_initial = seconds(5);
    options.retry_max = minutes(15);
    options.give_up_after = hours(1);
  }

  void enqueue(std::string id, OutboxChannel ch = OutboxChannel::kEmail) {
    OutboxItem i;
    i.id = std::move(id);
    i.channel = ch;
    i.destination = ch == OutboxChannel::kEmail ? "alice@example.jp" : "http://127.0.0.1:9/hook";
    i.payload = "{}";
    i.created = clock.now();
    i.next_attempt = clock.now();
    ASSERT_TRUE(store->wait(store->enqueue_outbox(std::move(i))).ok());
  }
  std::vector<OutboxItem> pending() { return *store->due_outbox(kT0 + hours(10000), 100); }
};

TEST(RetryDelay, DoublesFromInitialUpToMaxWithinJitter) {
  DispatcherOptions o;
  o.retry_initial = seconds(5);
  o.retry_max = minutes(15);
  // Without jitter (1.0) the full doubling; with 0.0 half of it.
  const std::vector<std::int64_t> full_s = {5, 10, 20, 40, 80, 160, 320, 640, 900, 900};
  for (std::size_t n = 1; n <= full_s.size(); ++n) {
    EXPECT_EQ(retry_delay(o, std::int64_t(n), 1.0), seconds(full_s[n - 1])) << n;
    EXPECT_EQ(retry_delay(o, std::int64_t(n), 0.0), Duration(seconds(full_s[n - 1])) / 2) << n;
    const Duration mid = retry_delay(o, std::int64_t(n), 0.5);
    EXPECT_GT(mid, Duration(seconds(full_s[n - 1])) / 2);
    EXPECT_LT(mid, seconds(full_s[n - 1]));
  }
  EXPECT_EQ(retry_delay(o, 1000, 1.0), minutes(15));  // no overflow after many failures
}

TEST(Dispatcher, DeliversDueItemsAndMarksThemDelivered) {
  Fixture f;
  f.enqueue("m1");
  f.enqueue("w1", OutboxChannel::kWebhook);
  Dispatcher d(*f.store, *f.store, f.clock, f.options, &f.email, &f.webhook);
  const Dispatcher::Pass p = d.run_once();
  EXPECT_EQ(p.delivered, 2u);
  EXPECT_FALSE(p.next_due.has_value());
  EXPECT_EQ(f.email.attempts, std::vector<std::string>{"m1"});
  EXPECT_EQ(f.webhook.attempts, std::vector<std::string>{"w1"});
  EXPECT_TRUE(f.pending().empty());
  EXPECT_EQ(d.sent(OutboxChannel::kEmail), 1u);
  EXPECT_EQ(d.sent(OutboxChannel::kWebhook), 1u);
  // Nothing is sent twice.
  EXPECT_EQ(d.run_once().delivered, 0u);
  EXPECT_EQ(f.email.attempts.size(), 1u);
}

TEST(Dispatcher, FailedItemsRetryWithBackoffUntilTheyGoThrough) {
  Fixture f;
  f.enqueue("m1");
  f.email.script = {transient(), transient(), transient()};
  Dispatcher d(*f.store, *f.store, f.clock, f.options, &f.email, &f.webhook);
  std::vector<Duration> waits;
  for (int i = 0; i < 3; ++i) {
    const Dispatcher::Pass p = d.run_once();
    EXPECT_EQ(p.retried, 1u);
    ASSERT_TRUE(p.next_due.has_value());
    waits.push_back(*p.next_due - f.clock.now());
    // Not due before its time.
    f.clock.set(*p.next_due - std::chrono::milliseconds(1));
    EXPECT_EQ(d.run_once().delivered + d.run_once().retried, 0u);
    f.clock.set(*p.next_due);
  }
  // 5 s, 10 s, 20 s, each jittered into [half, full].
  ASSERT_EQ(waits.size(), 3u);
  EXPECT_GE(waits[0], Duration(seconds(5)) / 2);
  EXPECT_LE(waits[0], seconds(5));
  EXPECT_GE(waits[1], seconds(5));
  EXPECT_LE(waits[1], seconds(10));
  EXPECT_GE(waits[2], seconds(10));
  EXPECT_LE(waits[2], seconds(20));
  auto item = f.pending();
  ASSERT_EQ(item.size(), 1u);
  EXPECT_EQ(item[0].attempts, 3);
  EXPECT_EQ(item[0].last_error, "smtp://127.0.0.1:2525: Couldn't connect");

  const Dispatcher::Pass p = d.run_once();
  EXPECT_EQ(p.delivered, 1u);
  EXPECT_TRUE(f.pending().empty());
  EXPECT_EQ(f.email.attempts.size(), 4u);
  EXPECT_EQ(d.failures(OutboxChannel::kEmail), 3u);
  EXPECT_EQ(d.sent(OutboxChannel::kEmail), 1u);
}

TEST(Dispatcher, APassTriesEachDueItemOnceEvenWithTinyRetries) {
  Fixture f;
  f.options.retry_initial = std::chrono::milliseconds(1);
  f.options.batch = 8;
  for (int i = 0; i < 30; ++i) f.enqueue("m" + std::to_string(100 + i));
  for (int i = 0; i < 1000; ++i) f.email.script.push_back(transient());
  f.email.slow_clock = &f.clock;  // the clock moves on while the pass runs
  Dispatcher d(*f.store, *f.store, f.clock, f.options, &f.email, &f.webhook);
  EXPECT_EQ(d.run_once().retried, 30u);
  EXPECT_EQ(f.email.attempts.size(), 30u);
}

TEST(Dispatcher, GivesUpAfterMaxAgeAndKeepsTheItemAsFailed) {
  Fixture f;
  f.enqueue("m1");
  for (int i = 0; i < 100; ++i) f.email.script.push_back(transient());
  Dispatcher d(*f.store, *f.store, f.clock, f.options, &f.email, &f.webhook);
  std::size_t given_up = 0;
  for (int i = 0; i < 100 && given_up == 0; ++i) {
    const Dispatcher::Pass p = d.run_once();
    given_up += p.given_up;
    if (p.next_due) f.clock.set(*p.next_due);
  }
  EXPECT_EQ(given_up, 1u);
  EXPECT_GE(f.clock.now() - kT0, hours(1));
  EXPECT_TRUE(f.pending().empty());
  auto counts = f.store->outbox_counts();
  EXPECT_EQ(counts->failed[0], 1);
  EXPECT_EQ(d.given_up(OutboxChannel::kEmail), 1u);
}

TEST(Dispatcher, PermanentErrorGivesUpAtOnce) {
  Fixture f;
  f.enqueue("m1");
  f.email.script = {Status(make_error("invalid_address", "malformed address 'x'"))};
  Dispatcher d(*f.store, *f.store, f.clock, f.options, &f.email, &f.webhook);
  EXPECT_EQ(d.run_once().given_up, 1u);
  EXPECT_TRUE(f.pending().empty());
  EXPECT_EQ(f.store->outbox_counts()->failed[0], 1);
}

TEST(Dispatcher, DisabledChannelKeepsItsItemsForLater) {
  Fixture f;
  f.enqueue("m1");
  Dispatcher d(*f.store, *f.store, f.clock, f.options, nullptr, &f.webhook);
  EXPECT_EQ(d.run_once().retried, 1u);
  ASSERT_EQ(f.pending().size(), 1u);
  EXPECT_NE(f.pending()[0].last_error.find("not configured"), std::string::npos);
}

TEST(Dispatcher, UndeliveredItemsAreSentAgainByANewDispatcher) {
  // At least once: an item whose delivery never completed (the process died)
  // is still pending and goes out from the next dispatcher.
  Fixture f;
  f.enqueue("m1");
  f.enqueue("m2");
  {
    f.email.script = {transient()};
    Dispatcher first(*f.store, *f.store, f.clock, f.options, &f.email, &f.webhook);
    first.run_once();  // m1 failed, m2 delivered
  }
  f.clock.advance(minutes(1));
  Dispatcher second(*f.store, *f.store, f.clock, f.options, &f.email, &f.webhook);
  EXPECT_EQ(second.run_once().delivered, 1u);
  EXPECT_EQ(f.email.attempts, (std::vector<std::string>{"m1", "m2", "m1"}));
}

TEST(Dispatcher, ThreadWakesWhenToldAndStopsCleanly) {
  Fixture f;
  // A far-future clock start would make items never due; the thread uses the
  // same ManualClock, so due items are those at or before kT0.
  Dispatcher d(*f.store, *f.store, f.clock, f.options, &f.email, &f.webhook);
  d.start();
  f.enqueue("m1");
  d.wake();
  for (int i = 0; i < 500 && d.sent(OutboxChannel::kEmail) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(d.sent(OutboxChannel::kEmail), 1u);
  d.stop();
  d.stop();  // twice is fine
  EXPECT_TRUE(f.pending().empty());
}

TEST(Dispatcher, MetricsShowPendingSentAndFailures) {
  Fixture f;
  f.enqueue("m1");
  f.enqueue("w1", OutboxChannel::kWebhook);
  f.webhook.script = {transient()};
  Dispatcher d(*f.store, *f.store, f.clock, f.options, &f.email, &f.webhook);
  d.run_once();
  std::string text;
  d.render_metrics(text);
  EXPECT_NE(text.find("mamori_outbox_pending{channel=\"email\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mamori_outbox_pending{channel=\"webhook\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("mamori_notices_sent_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("mamori_webhooks_sent_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("mamori_outbox_failures_total{channel=\"webhook\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE mamori_outbox_pending gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace mamori::notify
