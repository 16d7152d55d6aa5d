#include "notify/dispatcher.h"

#include <algorithm>
#include <cstdio>

#include "core/log.h"
#include "notify/webhook_sender.h"

namespace mamori::notify {

namespace {
constexpr std::uint64_t kLogEveryNs = 60ULL * 1'000'000'000ULL;
constexpr Duration kIdleWait = std::chrono::seconds(60);
constexpr Duration kReadRetry = std::chrono::seconds(5);

std::string_view channel_words(store::OutboxChannel c) {
  return c == store::OutboxChannel::kEmail ? "owner e-mail" : "webhook";
}

// Where an item goes, as logs show it (webhook URLs without path and query).
std::string destination(const store::OutboxItem& item) {
  return item.channel == store::OutboxChannel::kWebhook ? redacted_url(item.destination)
                                                        : item.destination;
}
}  // namespace

bool is_permanent_error(const Error& e) {
  return e.code == "invalid_payload" || e.code == "invalid_address" || e.code == "unknown_webhook";
}

Duration retry_delay(const DispatcherOptions& o, std::int64_t failed_attempts, double jitter) {
  Duration base = o.retry_initial;
  for (std::int64_t i = 1; i < failed_attempts && base < o.retry_max; ++i) base *= 2;
  base = std::min(base, o.retry_max);
  jitter = std::clamp(jitter, 0.0, 1.0);
  const auto half = base.count() / 2;
  return Duration(base.count() - half + static_cast<std::int64_t>(double(half) * jitter));
}

Dispatcher::Dispatcher(store::OutboxStore& store, store::Commits& commits, const Clock& clock,
                       DispatcherOptions options, Channel* email, Channel* webhook)
    : store_(store),
      commits_(commits),
      clock_(clock),
      options_(options),
      channels_{email, webhook},
      rng_(options.seed) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  stop_requested_.store(false);
  thread_ = std::thread([this] { loop(); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_requested_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Dispatcher::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    const Pass pass = run_once();
    lock.lock();
    if (stopping_) break;
    Duration wait = kIdleWait;
    if (pass.next_due) wait = std::clamp(*pass.next_due - clock_.now(), Duration(0), kIdleWait);
    if (wait.count() > 0) cv_.wait_for(lock, wait, [&] { return stopping_ || woken_; });
  }
}

store::WriteTicket Dispatcher::handle(const store::OutboxItem& item, Pass& pass) {
  const auto ch = static_cast<std::size_t>(item.channel);
  const TimePoint now = clock_.now();
  Channel* channel = channels_[ch];
  const Status s =
      channel != nullptr
          ? channel->deliver(item, now)
          : Status(make_error("channel_disabled", std::string(channel_words(item.channel)) +
                                                      " delivery is not configured"));
  LogState& log = log_[ch];
  if (s) {
    sent_[ch].fetch_add(1, std::memory_order_relaxed);
    ++pass.delivered;
    if (log.failing > 0) {
      log_info(std::string(channel_words(item.channel)) + " delivery works again after " +
               std::to_string(log.failing) + " failed attempts");
      log = LogState{};
    }
    return store_.outbox_delivered(item.id, clock_.now());
  }
  failures_[ch].fetch_add(1, std::memory_order_relaxed);
  ++log.failing;
  const std::int64_t attempts = item.attempts + 1;
  if (is_permanent_error(s.error()) || now - item.created >= options_.give_up_after) {
    given_up_[ch].fetch_add(1, std::memory_order_relaxed);
    ++pass.given_up;
    log_error("giving up " + std::string(channel_words(item.channel)) + " " + item.id + " to " +
              destination(item) + " after " + std::to_string(attempts) +
              " attempts: " + s.error().message);
    return store_.outbox_failed(item.id, now, s.error().message);
  }
  const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const Duration delay = retry_delay(options_, attempts, jitter);
  ++pass.retried;
  const std::uint64_t t = monotonic_ns();
  if (log.last_log_ns == 0 || t - log.last_log_ns >= kLogEveryNs) {
    std::string line = std::string(channel_words(item.channel)) + " delivery failed (" + item.id +
                       " to " + destination(item) + ", attempt " + std::to_string(attempts) +
                       ", next in " + format_duration(delay) + "): " + s.error().message;
    if (log.suppressed > 0)
      line += " [" + std::to_string(log.suppressed) + " more failures since the last report]";
    log_warn(line);
    log.last_log_ns = t;
    log.suppressed = 0;
  } else {
    ++log.suppressed;
  }
  return store_.outbox_retry(item.id, now + delay, s.error().message);
}

Dispatcher::Pass Dispatcher::run_once() {
  Pass pass;
  // Items due at the pass's start: one rescheduled during the pass waits for
  // the next, so a pass ends even when every attempt fails at once.
  const TimePoint now = clock_.now();
  for (;;) {
    if (stop_requested_.load()) return pass;
    auto due = store_.due_outbox(now, options_.batch);
    if (!due) {
      log_error("outbox read failed: " + due.error().message);
      pass.next_due = now + kReadRetry;
      return pass;
    }
    store::WriteTicket last = 0;
    for (const store::OutboxItem& item : *due) {
      if (stop_requested_.load()) break;
      last = std::max(last, handle(item, pass));
    }
    // The next query must see these outcomes.
    if (last != 0) {
      if (Status s = commits_.wait(last); !s) {
        log_error("outbox write failed: " + s.error().message);
        pass.next_due = clock_.now() + kReadRetry;
        return pass;
      }
    }
    if (due->size() < options_.batch || stop_requested_.load()) break;
  }
  auto counts = store_.outbox_counts();
  if (!counts) {
    log_error("outbox read failed: " + counts.error().message);
    pass.next_due = clock_.now() + kReadRetry;
  } else {
    pass.next_due = counts->next_attempt;
  }
  return pass;
}

void Dispatcher::render_metrics(std::string& out) {
  auto counts = store_.outbox_counts();
  char line[512];
  auto labelled = [&](const char* name, const char* help, const char* type, auto value) {
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    out += line;
    for (int c = 0; c < store::kOutboxChannelCount; ++c) {
      const auto ch = static_cast<store::OutboxChannel>(c);
      std::snprintf(line, sizeof line, "%s{channel=\"%s\"} %llu\n", name,
                    std::string(store::to_string(ch)).c_str(), (unsigned long long)value(ch));
      out += line;
    }
  };
  if (counts) {
    labelled("mamori_outbox_pending", "Outbox items waiting for delivery.", "gauge",
             [&](store::OutboxChannel c) { return counts->pending[std::size_t(c)]; });
    labelled("mamori_outbox_given_up_items", "Outbox items given up and not yet pruned.", "gauge",
             [&](store::OutboxChannel c) { return counts->failed[std::size_t(c)]; });
  }
  std::snprintf(line, sizeof line,
                "# HELP mamori_notices_sent_total Owner notices the SMTP relay accepted.\n"
                "# TYPE mamori_notices_sent_total counter\nmamori_notices_sent_total %llu\n"
                "# HELP mamori_webhooks_sent_total Webhook alerts a receiver accepted (2xx).\n"
                "# TYPE mamori_webhooks_sent_total counter\nmamori_webhooks_sent_total %llu\n",
                (unsigned long long)sent(store::OutboxChannel::kEmail),
                (unsigned long long)sent(store::OutboxChannel::kWebhook));
  out += line;
  labelled("mamori_outbox_failures_total", "Failed delivery attempts.", "counter",
           [&](store::OutboxChannel c) { return failures(c); });
  labelled("mamori_outbox_given_up_total", "Outbox items given up.", "counter",
           [&](store::OutboxChannel c) { return given_up(c); });
}

}  // namespace mamori::notify
