#include "store/commit_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/deferred_wakes.h"

namespace mamori::store {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 10s;

// A queued write of the tests: a value, and whether the batch carrying it
// fails.
struct TestOp {
  int value = 0;
  bool fails = false;
};

// The backend under a CommitQueue: applies batches in memory, fails those
// that carry a failing op, and can hold the writer inside a batch so that
// what is queued meanwhile forms the next one.
class Backend {
 public:
  // The next batch waits inside apply() until release().
  void hold() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  // Returns once the writer waits inside apply() (false: not within the deadline).
  bool wait_until_held() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return held_; });
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      holding_ = false;
    }
    cv_.notify_all();
  }

  Status apply(const std::vector<TestOp>& batch) {
    std::unique_lock lock(mu_);
    if (holding_) {
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !holding_; });
      held_ = false;
    }
    std::vector<int> values;
    for (const TestOp& op : batch) values.push_back(op.value);
    batches_.push_back(values);
    for (const TestOp& op : batch)
      if (op.fails)
        return make_error("store_write_failed", "write " + std::to_string(op.value) + " failed");
    applied_.insert(applied_.end(), values.begin(), values.end());
    return {};
  }

  // The values of the batches that were committed, in the order applied.
  std::vector<int> applied() {
    std::lock_guard lock(mu_);
    return applied_;
  }
  // Every batch applied (committed or failed), as their values.
  std::vector<std::vector<int>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool holding_ = false, held_ = false;
  std::vector<int> applied_;
  std::vector<std::vector<int>> batches_;
};

struct Fixture {
  explicit Fixture(std::size_t max_failed_runs = CommitQueue<TestOp>::kMaxFailedRuns)
      : queue("test", max_failed_runs) {
    queue.start([this](const std::vector<TestOp>& b) { return backend.apply(b); },
                [this] { between.push_back(queue.committed()); });
  }
  WriteTicket put(int value, bool fails = false) { return queue.enqueue(TestOp{value, fails}); }

  Backend backend;
  std::vector<WriteTicket> between;  // committed() at each between-batches call (writer only)
  CommitQueue<TestOp> queue;         // last: stopped first
};

void expect_ok(const Status& s) {
  EXPECT_TRUE(s.ok()) << s.error().code << ": " << s.error().message;
}

TEST(CommitQueue, TicketsStartAtOneAndIncrease) {
  Fixture f;
  EXPECT_EQ(f.put(1), 1u);
  EXPECT_EQ(f.put(2), 2u);
  EXPECT_EQ(f.put(3), 3u);
  expect_ok(f.queue.wait(3));
  EXPECT_EQ(f.queue.committed(), 3u);
  EXPECT_EQ(f.queue.issued(), 3u);
  expect_ok(f.queue.wait(0));  // nothing to wait for
  EXPECT_EQ(f.backend.applied(), (std::vector<int>{1, 2, 3}));
}

TEST(CommitQueue, ATicketNeverIssuedFailsAtOnce) {
  Fixture f;
  EXPECT_EQ(f.queue.wait(5).error().code, "invalid_ticket");
  Status heard;
  f.queue.on_committed(5, [&](const Status& s) { heard = s; });
  ASSERT_FALSE(heard.ok());
  EXPECT_EQ(heard.error().code, "invalid_ticket");
}

// Each writer's tickets name the place of its writes in the order they were
// applied: ticket t is the t-th write applied.
TEST(CommitQueue, TicketsFollowTheOrderWritesAreAppliedInAcrossThreads) {
  Fixture f;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::vector<WriteTicket>> tickets(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        tickets[t].push_back(f.put(t * kPerThread + i));
        if (i % 50 == 49) {
          EXPECT_TRUE(f.queue.wait(tickets[t].back()).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  expect_ok(f.queue.wait(kThreads * kPerThread));
  const std::vector<int> applied = f.backend.applied();
  ASSERT_EQ(applied.size(), std::size_t{kThreads * kPerThread});
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const WriteTicket ticket = tickets[t][i];
      ASSERT_GE(ticket, 1u);
      ASSERT_LE(ticket, applied.size());
      ASSERT_EQ(applied[ticket - 1], t * kPerThread + i) << "ticket " << ticket;
    }
  }
  EXPECT_EQ(f.queue.batches_failed(), 0u);
  EXPECT_LE(f.queue.batches_committed(), std::uint64_t{kThreads * kPerThread});
}

TEST(CommitQueue, WritesQueuedWhileTheWriterIsBusyShareOneBatch) {
  Fixture f;
  f.backend.hold();
  const WriteTicket first = f.put(0);
  ASSERT_TRUE(f.backend.wait_until_held());
  WriteTicket last = 0;
  for (int i = 1; i <= 100; ++i) last = f.put(i);
  EXPECT_EQ(f.queue.committed(), 0u);
  f.backend.release();
  expect_ok(f.queue.wait(last));
  EXPECT_EQ(first, 1u);
  ASSERT_EQ(f.backend.batches().size(), 2u);
  EXPECT_EQ(f.backend.batches()[1].size(), 100u);
  EXPECT_EQ(f.queue.batches_committed(), 2u);
  // The hook ran after each batch was published (read once the writer stopped).
  f.queue.stop();
  EXPECT_EQ(f.between, (std::vector<WriteTicket>{1, 101}));
}

// On an event loop's thread the writer wakes at the end of the turn, and a
// wait() on that thread does not wait for a wake it deferred itself.
TEST(CommitQueue, AnEventLoopsWritesWakeTheWriterAtTheEndOfItsTurn) {
  Fixture f;
  std::thread loop([&] {
    std::vector<WriteTicket> scheduled;
    DeferredWakes::open([&] { scheduled.push_back(f.queue.issued()); });
    f.put(1);
    f.put(2);
    f.put(3);
    // The wake is deferred (one flush scheduled for the turn), not given:
    // the writer commits them once it wakes (or if it had not gone to sleep).
    ASSERT_EQ(scheduled, std::vector<WriteTicket>{1});
    DeferredWakes::flush();  // the turn's end
    expect_ok(f.queue.wait(3));
    // A synchronous wait flushes what this thread deferred: it returns.
    f.put(4);
    EXPECT_EQ(scheduled.size(), 2u);
    expect_ok(f.queue.wait(4));
    EXPECT_EQ(f.backend.applied(), (std::vector<int>{1, 2, 3, 4}));
    DeferredWakes::close();
  });
  loop.join();
}

TEST(CommitQueue, WritesQueuedTogetherCommitInOneBatch) {
  Fixture f;
  WriteTicket action = 0, record = 0;
  bool committed_inside = false;
  f.queue.together([&] {
    action = f.put(1);
    // Without the hold the idle writer takes the first write at once; give
    // it the time it would need, then see that it did not.
    std::promise<void> never;
    EXPECT_EQ(never.get_future().wait_for(200ms), std::future_status::timeout);
    committed_inside = f.queue.committed() >= action;
    record = f.put(2, /*fails=*/true);  // the audit record's write fails: so does the action
  });
  EXPECT_FALSE(committed_inside);
  EXPECT_EQ(f.queue.wait(action).error().code, "store_write_failed");
  EXPECT_EQ(f.queue.wait(record).error().code, "store_write_failed");
  EXPECT_EQ(f.backend.batches(), (std::vector<std::vector<int>>{{1, 2}}));
  // Released: later writes commit as before.
  expect_ok(f.queue.wait(f.put(3)));
}

TEST(CommitQueue, AFailedBatchFailsItsTicketsAndOnlyThose) {
  Fixture f;
  std::vector<std::pair<WriteSpan, std::string>> heard;  // written on the writer thread
  f.queue.on_failed_commit(
      [&](const WriteSpan& s, const Error& e) { heard.emplace_back(s, e.message); });
  f.backend.hold();
  const WriteTicket before = f.put(1);
  ASSERT_TRUE(f.backend.wait_until_held());
  const WriteTicket good = f.put(2);  // shares the failing batch
  const WriteTicket bad = f.put(3, /*fails=*/true);
  std::promise<Status> callback;
  f.queue.on_committed(good, [&](const Status& s) { callback.set_value(s); });
  f.backend.release();
  EXPECT_EQ(f.queue.wait(bad).error().code, "store_write_failed");
  EXPECT_FALSE(f.queue.available());
  const WriteTicket after = f.put(4);
  expect_ok(f.queue.wait(after));
  EXPECT_TRUE(f.queue.available()) << "a batch that succeeds makes the queue available again";

  expect_ok(f.queue.wait(before));
  const Status s = f.queue.wait(good);
  ASSERT_FALSE(s.ok()) << "a write fails with the batch that carried it";
  EXPECT_EQ(s.error().code, "store_write_failed");
  EXPECT_EQ(s.error().message, "write 3 failed");
  EXPECT_EQ(callback.get_future().get().error().message, "write 3 failed");
  EXPECT_EQ(f.backend.applied(), (std::vector<int>{1, 4}));

  expect_ok(f.queue.status(WriteSpan{before, before}));
  expect_ok(f.queue.status(WriteSpan{after, after}));
  expect_ok(f.queue.status(WriteSpan{}));
  EXPECT_FALSE(f.queue.status(WriteSpan{good, good}).ok());
  EXPECT_FALSE(f.queue.status(WriteSpan{before, after}).ok()) << "a span with a failed write fails";
  EXPECT_EQ(f.queue.batches_committed(), 2u);
  EXPECT_EQ(f.queue.batches_failed(), 1u);
  EXPECT_EQ(f.queue.writes_failed(), 2u);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].first.first, good);
  EXPECT_EQ(heard[0].first.last, bad);
  EXPECT_EQ(heard[0].second, "write 3 failed");

  // Asked again later, the failed tickets still report their error.
  Status late;
  f.queue.on_committed(bad, [&](const Status& st) { late = st; });
  EXPECT_EQ(late.error().message, "write 3 failed");
}

TEST(CommitQueue, ConsecutiveFailedBatchesMakeOneRunAndAForgottenRunReadsAsFailed) {
  Fixture f(/*max_failed_runs=*/2);
  auto fail = [&](int value) {
    const WriteTicket t = f.put(value, true);
    EXPECT_FALSE(f.queue.wait(t).ok());
    return t;
  };
  auto succeed = [&](int value) {
    const WriteTicket t = f.put(value);
    expect_ok(f.queue.wait(t));
    return t;
  };
  const WriteTicket run1 = fail(1);
  const WriteTicket run1b = fail(2);  // right after: the same run
  const WriteTicket ok1 = succeed(3);
  const WriteTicket run2 = fail(4);
  const WriteTicket ok2 = succeed(5);
  EXPECT_EQ(f.queue.wait(run1).error().message, "write 1 failed");
  EXPECT_EQ(f.queue.wait(run1b).error().message, "write 1 failed") << "the run's first error";
  const WriteTicket run3 = fail(6);  // a third run: the first is forgotten
  succeed(7);

  const Status forgotten = f.queue.wait(run1b);
  ASSERT_FALSE(forgotten.ok());
  EXPECT_EQ(forgotten.error().code, "store_write_failed");
  EXPECT_NE(forgotten.error().message.find("no longer known"), std::string::npos)
      << forgotten.error().message;
  Status late;
  f.queue.on_committed(run1, [&](const Status& s) { late = s; });
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("no longer known"), std::string::npos);
  EXPECT_FALSE(f.queue.status(WriteSpan{run1, run1}).ok());
  // Only tickets up to the forgotten run are in doubt.
  expect_ok(f.queue.wait(ok1));
  expect_ok(f.queue.wait(ok2));
  EXPECT_EQ(f.queue.wait(run2).error().message, "write 4 failed");
  EXPECT_EQ(f.queue.wait(run3).error().message, "write 6 failed");
  EXPECT_EQ(f.queue.batches_failed(), 4u);
}

TEST(CommitQueue, FailureListenersHearBeforeCallbacksAndCallbacksBeforeWaiters) {
  Fixture f;
  std::mutex mu;
  std::vector<std::string> order;
  auto note = [&](std::string what) {
    std::lock_guard lock(mu);
    order.push_back(std::move(what));
  };
  const std::uint64_t listener =
      f.queue.on_failed_commit([&](const WriteSpan&, const Error&) { note("listener"); });
  f.backend.hold();
  f.put(0);
  ASSERT_TRUE(f.backend.wait_until_held());
  const WriteTicket t = f.put(1, /*fails=*/true);
  f.queue.on_committed(t, [&](const Status& s) { note(s.ok() ? "callback ok" : "callback"); });
  auto waiter = std::async(std::launch::async, [&] {
    const Status s = f.queue.wait(t);
    note(s.ok() ? "waiter ok" : "waiter");
  });
  f.backend.release();
  ASSERT_EQ(waiter.wait_for(kDeadline), std::future_status::ready);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(order, (std::vector<std::string>{"listener", "callback", "waiter"}));
  }
  // A removed listener hears no more failures.
  f.queue.remove_failure_listener(listener);
  (void)f.queue.wait(f.put(2, /*fails=*/true));
  std::lock_guard lock(mu);
  EXPECT_EQ(order.size(), 3u);
}

TEST(CommitQueue, OnCommittedRunsOnTheWriterThreadInTicketOrderOrAtOnceWhenCommitted) {
  Fixture f;
  f.backend.hold();
  f.put(0);
  ASSERT_TRUE(f.backend.wait_until_held());
  std::vector<WriteTicket> fired;  // written on the writer thread
  std::vector<std::thread::id> on;
  WriteTicket last = 0;
  for (int i = 1; i <= 300; ++i) {
    last = f.put(i);
    f.queue.on_committed(last, [&, t = last](const Status& s) {
      if (s.ok()) fired.push_back(t);
      on.push_back(std::this_thread::get_id());
    });
  }
  f.backend.release();
  expect_ok(f.queue.wait(last));
  ASSERT_EQ(fired.size(), 300u);
  for (std::size_t i = 0; i < fired.size(); ++i) EXPECT_EQ(fired[i], i + 2);
  EXPECT_NE(on.front(), std::this_thread::get_id());

  bool called = false;
  std::thread::id caller;
  f.queue.on_committed(last, [&](const Status& s) {
    called = s.ok();
    caller = std::this_thread::get_id();
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(caller, std::this_thread::get_id());
}

TEST(CommitQueue, DrainWaitsForEverythingQueuedAndItsCallbacksAndKeepsTheQueue) {
  Fixture f;
  EXPECT_EQ(f.queue.drain(), 0u);  // nothing queued yet
  f.backend.hold();
  f.put(0);
  ASSERT_TRUE(f.backend.wait_until_held());
  std::atomic<int> fired{0};
  WriteTicket last = 0;
  for (int i = 1; i <= 200; ++i) {
    last = f.put(i);
    f.queue.on_committed(last, [&](const Status& s) {
      if (s.ok()) fired.fetch_add(1);
    });
  }
  auto drained = std::async(std::launch::async, [&] { return f.queue.drain(); });
  EXPECT_EQ(drained.wait_for(50ms), std::future_status::timeout)
      << "drain() returned while its writes could not commit";
  f.backend.release();
  ASSERT_EQ(drained.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(drained.get(), last);
  EXPECT_EQ(fired.load(), 200);
  EXPECT_GE(f.queue.committed(), last);
  // Still running, unlike a stopped queue.
  expect_ok(f.queue.wait(f.put(201)));
  EXPECT_EQ(f.backend.applied().size(), 202u);
}

TEST(CommitQueue, StopCommitsEverythingQueuedFirst) {
  Backend backend;
  {
    CommitQueue<TestOp> queue("test");
    for (int i = 0; i < 500; ++i) queue.enqueue(TestOp{i});  // queued before the writer runs
    queue.start([&](const std::vector<TestOp>& b) { return backend.apply(b); }, nullptr);
    for (int i = 500; i < 1000; ++i) queue.enqueue(TestOp{i});
    queue.stop();
    EXPECT_EQ(queue.committed(), 1000u);
    queue.stop();  // a second stop changes nothing
  }
  const std::vector<int> applied = backend.applied();
  ASSERT_EQ(applied.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(applied[i], i);
}

TEST(CommitQueue, MetricsCountWritesBatchesAndFailures) {
  Fixture f;
  f.put(1);
  (void)f.queue.wait(f.put(2, /*fails=*/true));
  std::string text;
  f.queue.render_metrics(text);
  EXPECT_NE(text.find("mamori_store_writes_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mamori_store_commits_total{result=\"failed\"} " +
                      std::to_string(f.queue.batches_failed()) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mamori_store_writes_failed_total " +
                      std::to_string(f.queue.writes_failed()) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mamori_store_available 0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace mamori::store
