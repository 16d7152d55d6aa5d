#include "engine/failure_baseline.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace mamori::engine {

namespace {

constexpr std::int64_t kMinuteMs = 60'000;
constexpr std::uint64_t kMinHourResults = 20;  // a quieter hour teaches nothing
constexpr std::uint32_t kAverageOver = 4;      // samples before the exponential average
constexpr int kMinSlotsForMean = 24;
constexpr char kSnapshotHeader[] = "mamori-baseline 1";

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f %%", share * 100);
  return buf;
}

std::string slot_name(int slot) {
  static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s %02d:00 UTC", kDays[slot / 24], slot % 24);
  return buf;
}

}  // namespace

int FailureBaseline::slot_of_hour(std::int64_t hour) {
  const std::int64_t day = floor_div(hour, 24);
  const int weekday = int(((day + 3) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  return weekday * 24 + int(hour - day * 24);
}

void FailureBaseline::count(TimePoint t, bool failed, bool unknown_account) {
  const std::int64_t minute = floor_div(to_unix_ms(t), kMinuteMs);
  Minute& b = ring_[std::size_t(((minute % kRing) + kRing) % kRing)];
  std::int64_t current = b.minute.load(std::memory_order_acquire);
  if (current != minute) {
    if (current > minute) return;  // older than the ring: not counted
    roll(minute);
    if (b.minute.load(std::memory_order_acquire) != minute) return;
  }
  b.results.fetch_add(1, std::memory_order_relaxed);
  if (failed) b.failures.fetch_add(1, std::memory_order_relaxed);
  if (failed && unknown_account) b.unknown.fetch_add(1, std::memory_order_relaxed);
}

void FailureBaseline::roll(std::int64_t minute) {
  std::lock_guard lock(mu_);
  Minute& b = ring_[std::size_t(((minute % kRing) + kRing) % kRing)];
  if (b.minute.load(std::memory_order_relaxed) >= minute) return;  // rolled meanwhile
  const std::int64_t hour = floor_div(minute, 60);
  if (hour > hour_) {
    // The first result of a new hour: the last hour counted is whole in the
    // ring (only minutes of this new hour could have replaced its buckets),
    // and is folded before this minute's bucket is reset.
    if (hour_ >= 0) fold_hour_locked(hour_);
    hour_ = hour;
    hour_over_ = false;
  }
  b.results.store(0, std::memory_order_relaxed);
  b.failures.store(0, std::memory_order_relaxed);
  b.unknown.store(0, std::memory_order_relaxed);
  b.minute.store(minute, std::memory_order_release);
}

void FailureBaseline::fold_hour_locked(std::int64_t hour) {
  if (hour_over_) return;  // an hour under attack is not what the service usually sees
  std::uint64_t results = 0, failures = 0, unknown = 0, minutes = 0;
  for (const Minute& b : ring_) {
    const std::int64_t m = b.minute.load(std::memory_order_relaxed);
    if (m < hour * 60 || m >= hour * 60 + 60) continue;
    ++minutes;
    results += b.results.load(std::memory_order_relaxed);
    failures += b.failures.load(std::memory_order_relaxed);
    unknown += b.unknown.load(std::memory_order_relaxed);
  }
  if (results < kMinHourResults) return;
  Slot& s = slots_[std::size_t(slot_of_hour(hour))];
  ++s.samples;
  const double weight = s.samples <= kAverageOver ? 1.0 / s.samples : 1.0 / kAverageOver;
  s.ratio += weight * (double(failures) / double(results) - s.ratio);
  s.unknown_per_minute += weight * (double(unknown) / double(minutes) - s.unknown_per_minute);
  version_.fetch_add(1, std::memory_order_relaxed);
}

std::optional<FailureBaseline::Slot> FailureBaseline::baseline_locked(std::int64_t hour) const {
  const Slot& s = slots_[std::size_t(slot_of_hour(hour))];
  if (s.samples > 0) return s;
  Slot mean;
  int learnt = 0;
  for (const Slot& o : slots_) {
    if (o.samples == 0) continue;
    ++learnt;
    mean.ratio += o.ratio;
    mean.unknown_per_minute += o.unknown_per_minute;
  }
  if (learnt < kMinSlotsForMean) return std::nullopt;
  mean.samples = 1;
  mean.ratio /= learnt;
  mean.unknown_per_minute /= learnt;
  return mean;
}

FailureBaseline::Judgement FailureBaseline::judge(const FailureBaselineConfig& config,
                                                  TimePoint now) const {
  Judgement j;
  const std::int64_t minute = floor_div(to_unix_ms(now), kMinuteMs);
  const std::int64_t span = std::clamp<std::int64_t>(
      std::chrono::duration_cast<std::chrono::minutes>(config.window).count(), 1, 60);
  for (const Minute& b : ring_) {
    const std::int64_t m = b.minute.load(std::memory_order_acquire);
    if (m <= minute - span || m > minute) continue;
    j.results += b.results.load(std::memory_order_relaxed);
    j.failures += b.failures.load(std::memory_order_relaxed);
    j.unknown += b.unknown.load(std::memory_order_relaxed);
  }
  if (j.results > 0) j.ratio = double(j.failures) / double(j.results);
  j.unknown_per_minute = double(j.unknown) / double(span);
  std::optional<Slot> base;
  {
    std::lock_guard lock(mu_);
    base = baseline_locked(floor_div(minute, 60));
  }
  if (!base) return j;
  j.base_ratio = base->ratio;
  j.base_unknown_per_minute = base->unknown_per_minute;
  const double factor = config.factor_percent / 100.0;
  const int slot = slot_of_hour(floor_div(minute, 60));
  if (j.results >= config.min_results && j.ratio >= base->ratio * factor &&
      (j.ratio - base->ratio) * 100 >= config.min_excess_percent) {
    j.over = true;
    j.why = "failure ratio " + percent(j.ratio) + " against " + percent(base->ratio) +
            " usual for " + slot_name(slot);
  } else if (j.unknown >= config.min_unknown &&
             j.unknown_per_minute >= base->unknown_per_minute * factor) {
    j.over = true;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.1f failures a minute for unknown accounts against %.1f",
                  j.unknown_per_minute, base->unknown_per_minute);
    j.why = std::string(buf) + " usual for " + slot_name(slot);
  }
  return j;
}

bool FailureBaseline::over(const FailureBaselineConfig& config, TimePoint now) {
  const std::int64_t ms = to_unix_ms(now);
  std::int64_t last = judged_ms_.load(std::memory_order_relaxed);
  if (last != INT64_MIN && ms >= last && ms - last < 1000)
    return over_.load(std::memory_order_relaxed);
  if (!judged_ms_.compare_exchange_strong(last, ms, std::memory_order_relaxed))
    return over_.load(std::memory_order_relaxed);
  const Judgement j = judge(config, now);
  over_.store(j.over, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  if (j.over) {
    hour_over_ = true;
    why_ = j.why;
  }
  return j.over;
}

std::string FailureBaseline::why() const {
  std::lock_guard lock(mu_);
  return why_;
}

std::string FailureBaseline::snapshot() const {
  std::lock_guard lock(mu_);
  std::string out = std::string(kSnapshotHeader) + "\n";
  char line[96];
  for (int i = 0; i < kSlots; ++i) {
    const Slot& s = slots_[std::size_t(i)];
    if (s.samples == 0) continue;
    std::snprintf(line, sizeof line, "%d %u %.9g %.9g\n", i, s.samples, s.ratio,
                  s.unknown_per_minute);
    out += line;
  }
  return out;
}

Status FailureBaseline::restore(std::string_view text) {
  std::array<Slot, kSlots> slots{};
  std::vector<bool> seen(kSlots, false);
  int number = 0;
  bool header = false;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string line(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    auto bad = [&](const std::string& what) {
      return make_error("invalid_baseline", "line " + std::to_string(number) + ": " + what);
    };
    if (!header) {
      if (line != kSnapshotHeader)
        return bad("not a mamori baseline (expected '" + std::string(kSnapshotHeader) + "')");
      header = true;
      continue;
    }
    if (line.empty()) continue;
    int slot = -1;
    unsigned samples = 0;
    double ratio = -1, unknown = -1;
    int used = 0;
    if (std::sscanf(line.c_str(), "%d %u %lf %lf%n", &slot, &samples, &ratio, &unknown, &used) !=
            4 ||
        std::size_t(used) != line.size())
      return bad("expected 'slot samples ratio unknown_per_minute'");
    if (slot < 0 || slot >= kSlots) return bad("slot " + std::to_string(slot) + " is not 0-167");
    if (seen[std::size_t(slot)]) return bad("slot " + std::to_string(slot) + " twice");
    if (samples == 0) return bad("samples must be at least 1");
    if (!std::isfinite(ratio) || ratio < 0 || ratio > 1) return bad("ratio must be 0-1");
    if (!std::isfinite(unknown) || unknown < 0) return bad("unknown_per_minute must be 0 or more");
    seen[std::size_t(slot)] = true;
    slots[std::size_t(slot)] = Slot{samples, ratio, unknown};
  }
  if (!header) return make_error("invalid_baseline", "empty: no header line");
  std::lock_guard lock(mu_);
  slots_ = slots;
  version_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

}  // namespace mamori::engine
