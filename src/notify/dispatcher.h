#ifndef MAMORI_NOTIFY_DISPATCHER_H_
#define MAMORI_NOTIFY_DISPATCHER_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/result.h"
#include "store/commits.h"
#include "store/outbox_store.h"

namespace mamori::notify {

// Delivers one outbox item over one channel (e-mail or webhook). OK means
// the relay or receiver accepted it. An error whose code is one of
// kPermanentErrors is not retried (a malformed item cannot get better).
// Called from the dispatcher's one thread.
class Channel {
 public:
  virtual ~Channel() = default;
  virtual Status deliver(const store::OutboxItem& item, TimePoint now) = 0;
};

// Error codes that give an item up at once: `invalid_payload`,
// `invalid_address`, `unknown_webhook`.
bool is_permanent_error(const Error& e);

struct DispatcherOptions {
  Duration retry_initial = std::chrono::seconds(5);
  Duration retry_max = std::chrono::minutes(15);
  Duration give_up_after = std::chrono::hours(72);
  std::size_t batch = 64;  // items read per query
  std::uint64_t seed = 1;  // of the retry jitter
};

// How long to wait after the `failed_attempts`-th failure (1 = the first):
// retry_initial doubled per earlier failure, at most retry_max, of which a
// random part is taken off: the wait is between half and all of it
// (`jitter` in [0, 1) picks where), so that items that failed together do not
// retry in lock-step.
Duration retry_delay(const DispatcherOptions& o, std::int64_t failed_attempts, double jitter);

// The outbox worker: takes due items from the store, delivers them through
// their channel, and records the outcome: delivered, a retry with backoff
// (retry_delay), or given up (failed) once an item is give_up_after old or its
// error is permanent; a given-up item is logged. Delivery is at least once:
// an item is marked delivered only after its channel accepted it, so an item
// in flight when the process dies is sent again after the restart.
// Failures are logged at most once a minute per channel, and a channel that
// works again after failures is logged once.
//
// run_once() is one pass (tests drive it with a ManualClock); start() runs
// passes on a thread that sleeps until the next item is due or wake() is
// called (the Outbox calls it when it queued something). Thread-safe.
class Dispatcher {
 public:
  // Takes items from `store` and waits for the writes of their outcomes
  // through `commits` (usually both one Store). `email` or `webhook` may be
  // null: items of that channel then fail (and are retried) with
  // `channel_disabled`. All must outlive the dispatcher.
  Dispatcher(store::OutboxStore& store, store::Commits& commits, const Clock& clock,
             DispatcherOptions options, Channel* email, Channel* webhook);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void start();
  // Stops the thread after the delivery in progress; undelivered items stay
  // in the store for the next start.
  void stop();
  void wake();

  struct Pass {
    std::size_t delivered = 0, retried = 0, given_up = 0;
    std::optional<TimePoint> next_due;  // the earliest pending item's next attempt
  };
  // Delivers every item due now, waits for its outcome to be committed, and
  // says when the next one is due.
  Pass run_once();

  std::uint64_t sent(store::OutboxChannel c) const { return counter(sent_, c); }
  std::uint64_t failures(store::OutboxChannel c) const { return counter(failures_, c); }
  std::uint64_t given_up(store::OutboxChannel c) const { return counter(given_up_, c); }

  // Appends the outbox metrics (Prometheus text): mamori_outbox_pending and
  // mamori_outbox_given_up_items (gauges, per channel, read from the store),
  // mamori_notices_sent_total, mamori_webhooks_sent_total,
  // mamori_outbox_failures_total and mamori_outbox_given_up_total per channel.
  void render_metrics(std::string& out);

 private:
  using Counters = std::array<std::atomic<std::uint64_t>, store::kOutboxChannelCount>;
  static std::uint64_t counter(const Counters& c, store::OutboxChannel ch) {
    return c[static_cast<std::size_t>(ch)].load(std::memory_order_relaxed);
  }
  // Delivers one item; returns the ticket of the outcome's write.
  store::WriteTicket handle(const store::OutboxItem& item, Pass& pass);
  void loop();

  // Per-channel log state (dispatcher thread only).
  struct LogState {
    std::uint64_t failing = 0;      // consecutive failures
    std::uint64_t suppressed = 0;   // failures not logged since the last line
    std::uint64_t last_log_ns = 0;  // monotonic
  };

  store::OutboxStore& store_;
  store::Commits& commits_;
  const Clock& clock_;
  const DispatcherOptions options_;
  std::array<Channel*, store::kOutboxChannelCount> channels_;
  std::mt19937_64 rng_;  // dispatcher thread only
  std::array<LogState, store::kOutboxChannelCount> log_{};
  Counters sent_{}, failures_{}, given_up_{};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_DISPATCHER_H_
