#include "store/journal/activity_journal.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/hash.h"
#include "core/log.h"
#include "store/journal/activity_codec.h"

namespace mamori::store::journal {

namespace {

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::string_view kReadFailed = "store_read_failed";
constexpr std::string_view kWriteFailed = "store_write_failed";

// A day name back to its day; nullopt for anything else.
std::optional<std::int64_t> parse_day(std::string_view name) {
  if (name.size() != 8) return std::nullopt;
  int v[3] = {0, 0, 0};
  const int width[3] = {4, 2, 2};
  std::size_t at = 0;
  for (int f = 0; f < 3; ++f)
    for (int i = 0; i < width[f]; ++i, ++at) {
      if (name[at] < '0' || name[at] > '9') return std::nullopt;
      v[f] = v[f] * 10 + (name[at] - '0');
    }
  const std::chrono::year_month_day ymd{std::chrono::year(v[0]), std::chrono::month(unsigned(v[1])),
                                        std::chrono::day(unsigned(v[2]))};
  if (!ymd.ok()) return std::nullopt;
  return std::int64_t(std::chrono::sys_days(ymd).time_since_epoch().count());
}

}  // namespace

std::int64_t day_of(std::int64_t ms) { return ms >= 0 ? ms / kDayMs : -((-(ms + 1)) / kDayMs) - 1; }

std::string day_name(std::int64_t day) {
  // The years 0-9999: days -719528 (0000-01-01) to 2932896 (9999-12-31).
  if (day < -719528 || day > 2932896) return {};
  const std::chrono::year_month_day ymd{
      std::chrono::sys_days(std::chrono::days(std::int32_t(day)))};
  char name[16];
  std::snprintf(name, sizeof name, "%04d%02u%02u", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()));
  return name;
}

// One day's journal. `index_mu` keeps the indexer and drop_before apart.
struct ActivityJournal::Partition {
  std::int64_t day = 0;
  std::string dir;
  std::unique_ptr<KeyedJournal> journal;
  std::mutex index_mu;
  bool dropped = false;  // guarded by index_mu
};

ActivityJournal::ActivityJournal(std::string dir, const Clock& clock,
                                 ActivityJournalOptions options)
    : dir_(std::move(dir)),
      clock_(clock),
      options_(std::move(options)),
      partitions_(std::make_shared<const Partitions>()) {}

ActivityJournal::~ActivityJournal() { indexer_.stop(); }

std::uint64_t ActivityJournal::fingerprint(std::string_view account) const {
  return options_.fingerprint ? options_.fingerprint(account) : hash_bytes(account);
}

KeyedJournalOptions ActivityJournal::journal_options() const {
  KeyedJournalOptions o;
  o.key_of = [this](std::string_view payload) -> Result<RecordKey> {
    ActivityHead h;
    if (Status s = decode_activity_head(payload, h); !s) return s.error();
    return RecordKey{fingerprint(h.account), to_unix_ms(h.time)};
  };
  o.key_scheme = options_.key_scheme;
  o.max_segment_entries = options_.max_segment_entries;
  o.merge_fan_in = options_.merge_fan_in;
  o.clock = &clock_;
  return o;
}

Result<std::unique_ptr<ActivityJournal>> ActivityJournal::open(const std::string& dir,
                                                               const Clock& clock,
                                                               ActivityJournalOptions options) {
  if (Status s = make_dirs(dir, "store_open_failed"); !s) return s.error();
  std::unique_ptr<ActivityJournal> j(new ActivityJournal(dir, clock, std::move(options)));
  std::vector<std::string> names;
  {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return errno_error("store_open_failed", dir, "opendir", errno);
    while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  auto parts = std::make_shared<Partitions>();
  for (const std::string& name : names) {
    const auto day = parse_day(name);
    if (!day) continue;
    auto p = std::make_shared<Partition>();
    p->day = *day;
    p->dir = dir + "/" + name;
    auto kj = KeyedJournal::open(p->dir, j->journal_options());
    if (!kj) return kj.error();
    p->journal = std::move(*kj);
    parts->push_back(std::move(p));
  }
  std::sort(parts->begin(), parts->end(),
            [](const auto& a, const auto& b) { return a->day < b->day; });
  j->partitions_ = std::move(parts);
  if (j->options_.background_indexer)
    j->indexer_.start({j->options_.index_every, 2 * j->options_.index_every, "activity index"},
                      [p = j.get()] { (void)p->index(); });
  return j;
}

std::shared_ptr<const ActivityJournal::Partitions> ActivityJournal::partitions() const {
  std::lock_guard<std::mutex> l(partitions_mu_);
  return partitions_;
}

std::vector<std::string> ActivityJournal::partition_names() const {
  std::vector<std::string> names;
  const auto parts = partitions();  // held: a range-for would drop the temporary
  for (const auto& p : *parts) names.push_back(day_name(p->day));
  return names;
}

// ---- the writer ----

Result<std::shared_ptr<ActivityJournal::Partition>> ActivityJournal::partition_for(
    std::int64_t day) {
  if (last_ && last_->day == day) return last_;
  const auto parts = partitions();
  auto it = std::lower_bound(parts->begin(), parts->end(), day,
                             [](const auto& p, std::int64_t d) { return p->day < d; });
  if (it != parts->end() && (*it)->day == day) return last_ = *it;
  const std::string name = day_name(day);
  if (name.empty())
    return make_error("invalid_activity",
                      "a time outside the years 0-9999 (day " + std::to_string(day) + ")");
  auto p = std::make_shared<Partition>();
  p->day = day;
  p->dir = dir_ + "/" + name;
  auto kj = KeyedJournal::open(p->dir, journal_options());
  if (!kj) return make_error(std::string(kWriteFailed), kj.error().message);
  p->journal = std::move(*kj);
  auto next = std::make_shared<Partitions>(*parts);
  next->insert(next->begin() + (it - parts->begin()), p);
  {
    std::lock_guard<std::mutex> l(partitions_mu_);
    partitions_ = std::move(next);
  }
  return last_ = p;
}

Status ActivityJournal::stage(const ActivityRecord& r) {
  scratch_.clear();
  if (Status s = encode_activity(r, scratch_); !s) return s;
  return stage_encoded(fingerprint(r.account), r.time, scratch_);
}

Status ActivityJournal::stage_encoded(std::uint64_t fp, TimePoint time, std::string_view framed) {
  const std::int64_t ms = to_unix_ms(time);
  auto p = partition_for(day_of(ms));
  if (!p) return p.error();
  if (Status s = (*p)->journal->stage(fp, ms, framed); !s) return s;
  if (std::find(touched_.begin(), touched_.end(), *p) == touched_.end()) touched_.push_back(*p);
  return {};
}

Status ActivityJournal::write_staged() {
  for (std::size_t i = 0; i < touched_.size(); ++i) {
    Status s = touched_[i]->journal->write_staged();
    if (s) continue;
    // The failed partition dropped its batch; the others are truncated back.
    for (std::size_t k = 0; k < touched_.size(); ++k)
      if (k != i) (void)touched_[k]->journal->discard_staged();
    touched_.clear();
    return s;
  }
  return {};
}

void ActivityJournal::publish_staged() {
  bool soon = false;
  for (const auto& p : touched_) {
    p->journal->publish_staged();
    if (p->journal->tail_entries() >= options_.index_entries) soon = true;
  }
  touched_.clear();
  if (soon)
    indexer_.urge();
  else if (indexer_.late())
    indexer_.hurry();
}

Status ActivityJournal::discard_staged() {
  Status first;
  for (const auto& p : touched_)
    if (Status s = p->journal->discard_staged(); !s && first) first = s;
  touched_.clear();
  return first;
}

Result<std::size_t> ActivityJournal::drop_before(TimePoint before) {
  if (!touched_.empty())
    return make_error(std::string(kWriteFailed), "drop_before with a batch staged");
  const std::int64_t cut = to_unix_ms(before);
  const auto parts = partitions();
  std::vector<std::shared_ptr<Partition>> drop;
  auto keep = std::make_shared<Partitions>();
  for (const auto& p : *parts) {
    // The day's last millisecond is before `before`.
    if ((p->day + 1) * kDayMs <= cut)
      drop.push_back(p);
    else
      keep->push_back(p);
  }
  if (drop.empty()) return std::size_t{0};
  {
    std::lock_guard<std::mutex> l(partitions_mu_);
    partitions_ = std::move(keep);
  }
  last_.reset();
  // A pass holding a partition's index_mu finishes at an ordinary priority.
  indexer_.hurry();
  for (const auto& p : drop) {
    std::lock_guard<std::mutex> l(p->index_mu);
    p->dropped = true;
    std::error_code ec;
    std::filesystem::remove_all(p->dir, ec);
    if (ec) return make_error(std::string(kWriteFailed), p->dir + ": remove: " + ec.message());
  }
  if (Status s = sync_dir(dir_, kWriteFailed); !s) return s.error();
  return drop.size();
}

// ---- the indexer ----

Status ActivityJournal::index() {
  Status first;
  const TimePoint now = clock_.now();
  const auto parts = partitions();  // held: a range-for would drop the temporary
  for (const auto& p : *parts) {
    std::lock_guard<std::mutex> l(p->index_mu);
    if (p->dropped) continue;
    KeyedJournal& j = *p->journal;
    Status s = j.seal_and_index();
    if (s) {
      auto merged = j.merge_runs(false);
      if (!merged) s = merged.error();
    }
    if (s && now - j.stats().last_append >= options_.full_merge_after && j.stats().runs > 1) {
      auto merged = j.merge_runs(true);
      if (!merged) s = merged.error();
    }
    if (!s && first) first = s;
  }
  return outcome_.note(std::move(first));
}

// ---- readers ----

Result<std::vector<ActivityRecord>> ActivityJournal::activity(std::string_view account,
                                                              TimePoint since,
                                                              std::size_t limit) const {
  std::vector<ActivityRecord> out;
  if (limit == 0) return out;
  const std::uint64_t fp = fingerprint(account);
  const std::int64_t since_ms = to_unix_ms(since);
  const std::int64_t first_day = day_of(since_ms);
  const auto parts = partitions();
  // The records are read one after another below; their pages are asked
  // for all at once first.
  if (options_.prefetch_reads) {
    std::size_t asked = 0;
    for (auto it = parts->rbegin(); it != parts->rend() && asked < limit; ++it) {
      if ((*it)->day < first_day) break;
      asked += (*it)->journal->prefetch(fp, since_ms, limit - asked);
    }
  }
  for (auto it = parts->rbegin(); it != parts->rend() && out.size() < limit; ++it) {
    const Partition& p = **it;
    if (p.day < first_day) break;
    Status s = p.journal->for_each_newest_first(
        fp, since_ms, [&](const IndexEntry&, std::string_view payload) -> Result<bool> {
          ActivityHead h;
          if (Status d = decode_activity_head(payload, h); !d) return d.error();
          if (h.account != account) return true;  // another account, the same fingerprint
          ActivityRecord& r = out.emplace_back();
          if (Status d = decode_activity(payload, r); !d) return d.error();
          return out.size() < limit;
        });
    if (!s) {
      if (s.error().code == kReadFailed) return s.error();
      return make_error(std::string(kReadFailed), p.dir + ": " + s.error().message);
    }
  }
  return out;
}

Status ActivityJournal::failed_logins_since(
    TimePoint since, std::size_t limit,
    const std::function<void(const ActivityRecord&)>& fn) const {
  if (limit == 0) return {};
  struct Pick {
    std::int64_t time_ms;
    std::uint64_t offset;
    bool operator<(const Pick& o) const {
      return time_ms != o.time_ms ? time_ms < o.time_ms : offset < o.offset;
    }
  };
  // Keeps the newest `limit` of `picks`, in no particular order.
  auto keep_newest = [limit](std::vector<Pick>& picks) {
    if (picks.size() <= limit) return;
    std::nth_element(picks.begin(), picks.begin() + std::ptrdiff_t(picks.size() - limit),
                     picks.end());
    picks.erase(picks.begin(), picks.begin() + std::ptrdiff_t(picks.size() - limit));
  };
  const std::int64_t since_ms = to_unix_ms(since);
  const std::int64_t first_day = day_of(since_ms);
  const auto parts = partitions();
  // Newest partition first, until `limit` are found: an older day's
  // failures are all older than a newer day's.
  std::vector<std::pair<const Partition*, std::vector<Pick>>> found;
  std::size_t total = 0;
  const std::size_t trim_at = std::max<std::size_t>(2 * limit, 4096);
  for (auto it = parts->rbegin(); it != parts->rend() && total < limit; ++it) {
    const Partition& p = **it;
    if (p.day < first_day) break;
    std::vector<Pick> picks;
    Status s = p.journal->scan([&](std::uint64_t offset, std::string_view payload) -> Result<bool> {
      ActivityHead h;
      if (Status d = decode_activity_head(payload, h); !d)
        return make_error(
            std::string(kReadFailed),
            p.dir + ": record at offset " + std::to_string(offset) + ": " + d.error().message);
      if (h.type == EventType::kLoginResult && h.success == false &&
          to_unix_ms(h.time) >= since_ms) {
        picks.push_back({to_unix_ms(h.time), offset});
        if (picks.size() >= trim_at) keep_newest(picks);
      }
      return true;
    });
    if (!s) return s;
    keep_newest(picks);
    std::sort(picks.begin(), picks.end());
    total += picks.size();
    found.emplace_back(&p, std::move(picks));
  }
  // Of the oldest partition read, only as many as are still wanted.
  if (total > limit) {
    auto& oldest = found.back().second;
    oldest.erase(oldest.begin(), oldest.begin() + std::ptrdiff_t(total - limit));
  }
  ActivityRecord r;
  r.type = EventType::kLoginResult;
  r.success = false;
  std::string buf;
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    const Partition& p = *it->first;
    for (const Pick& pick : it->second) {
      std::string_view payload;
      if (Status s = p.journal->read_at(pick.offset, buf, payload); !s) return s;
      ActivityHead h;
      if (Status d = decode_activity_head(payload, h); !d)
        return make_error(
            std::string(kReadFailed),
            p.dir + ": record at offset " + std::to_string(pick.offset) + ": " + d.error().message);
      r.time = h.time;
      r.account.assign(h.account.data(), h.account.size());
      r.ip = h.ip;
      fn(r);
    }
  }
  return {};
}

Status ActivityJournal::for_each(const std::function<Status(const ActivityRecord&)>& fn) const {
  const auto parts = partitions();
  ActivityRecord r;
  for (const auto& p : *parts) {
    Status s = p->journal->scan([&](std::uint64_t, std::string_view payload) -> Result<bool> {
      if (Status d = decode_activity(payload, r); !d) return d.error();
      if (Status f = fn(r); !f) return f.error();
      return true;
    });
    if (!s) return s;
  }
  return {};
}

ActivityJournalStats ActivityJournal::stats() const {
  ActivityJournalStats s;
  const auto parts = partitions();
  s.partitions = parts->size();
  std::optional<TimePoint> oldest;
  for (const auto& p : *parts) {
    const KeyedJournalStats k = p->journal->stats();
    s.appended += k.appended;
    s.tail_entries += k.tail_entries;
    s.runs += k.runs;
    s.bytes += k.journal_bytes + k.run_bytes;
    if (k.oldest_unindexed && (!oldest || *k.oldest_unindexed < *oldest))
      oldest = k.oldest_unindexed;
  }
  if (oldest) s.index_lag = std::max(Duration(0), clock_.now() - *oldest);
  s.index_failures = outcome_.failures();
  s.index_raises = indexer_.raises();
  return s;
}

}  // namespace mamori::store::journal
