#include "protocols/logs/log_replay.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "core/hash.h"
#include "engine/engine.h"
#include "protocols/logs/file_follower.h"
#include "store/memory/memory_store.h"

namespace mamori::logs {

namespace {

constexpr std::size_t kMaxDistinctAccounts = 100'000;
constexpr std::size_t kSampleAccounts = 5;
constexpr Duration kMaintainEvery = std::chrono::minutes(5);
// ... and at most once this many events: a day of log replayed in seconds
// would otherwise pass over every hot window 288 times.
constexpr std::uint64_t kMaintainEventsEvery = 65'536;

bool per_account(Reason r) {
  return r == Reason::kAccountUnderAttack || r == Reason::kAccountLocked ||
         r == Reason::kMailGeography || r == Reason::kPasswordReset;
}

struct Group {
  ReplayRefusal r;
  std::unordered_set<std::uint32_t> accounts;  // AccountIds'
};

// Each refused account's name once, as a number, for the groups' distinct
// counts (a stuffing source's group may count tens of thousands) and keys.
class AccountIds {
 public:
  std::uint32_t of(const std::string& account) {
    return ids_.try_emplace(account, std::uint32_t(ids_.size())).first->second;
  }

 private:
  std::unordered_map<std::string, std::uint32_t> ids_;
};

// A group's key: the deciding reason, and its target's address and
// account (AccountIds'), each absent when the reason does not group by it.
struct GroupKey {
  Reason reason = Reason::kBruteForce;
  bool by_ip = false;
  IpAddress ip;
  std::uint32_t account = kNoAccount;
  static constexpr std::uint32_t kNoAccount = ~std::uint32_t{0};
  friend bool operator==(const GroupKey&, const GroupKey&) = default;
};
struct GroupKeyHash {
  std::size_t operator()(const GroupKey& k) const {
    return hash_combine(k.by_ip ? k.ip.hash() : 0,
                        (std::uint64_t(k.account) << 8) | std::uint64_t(k.reason));
  }
};

// The report's order: by first line, then by reason, address and account
// (the events of one line, a Dovecot line's attempts, may start two groups).
bool before(const ReplayRefusal& a, const ReplayRefusal& b) {
  return std::tie(a.first_line, a.reason, a.ip, a.account) <
         std::tie(b.first_line, b.reason, b.ip, b.account);
}

}  // namespace

Result<ReplayReport> replay_log(const ReplayOptions& o) {
  struct stat st {};
  if (::stat(o.file.c_str(), &st) != 0)
    return make_error("log_read_failed", "cannot read " + o.file + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error("log_read_failed", o.file + " is not a file");
  // Year-less stamps: the year of the file's last write, not of today.
  ManualClock file_clock(TimePoint(Duration(std::int64_t(st.st_mtime) * 1000)));
  auto format = LogFormat::make(o.format, file_clock);
  if (!format) return format.error();

  // Replay keeps nothing: the records and profiles the engine reads back
  // live in memory, the activity log (read by no detection) is not kept.
  store::MemoryStore store(store::MemoryStoreOptions{.keep_activity = false});
  ReplayReport report;
  std::unordered_map<GroupKey, Group, GroupKeyHash> groups;
  AccountIds account_ids;
  {
    engine::Engine engine(o.engine, store, 1);
    bool loaded = false;
    TimePoint maintained{};
    FileFollower reader(o.file, o.max_line_bytes);
    if (auto r = reader.restore(std::nullopt); !r) return r.error();
    LogCounters counters;
    std::uint64_t line_no = 0, since_maintain = 0;
    const std::uint64_t started = monotonic_ns();
    std::uint64_t last_progress = started;
    for (;;) {
      Status failed;
      auto n = reader.read(1 << 20, [&](const RawLine& raw) {
        line_no = counters.lines.load() + reader.too_long() + 1;
        ingest(**format, raw, counters, [&](Event& e) {
          if (!loaded) {
            if (Status s = engine.load(e.time); !s) failed = s;
            loaded = true;
            maintained = e.time;
          }
          ++since_maintain;
          if (e.time - maintained >= kMaintainEvery && since_maintain >= kMaintainEventsEvery) {
            engine.maintain(e.time);
            maintained = e.time;
            since_maintain = 0;
          }
          const engine::Outcome out = engine.process(e);
          const Decision& d = out.decision;
          ++report.actions[std::size_t(d.action())];
          for (int i = 0; i < d.reason_count(); ++i) ++report.reasons[std::size_t(d.reason(i))];
          if (d.action() < Action::kDelay) return;
          const Reason why = d.deciding_reason().value_or(Reason::kDenyList);
          const bool by_account = per_account(why);
          const bool both = why == Reason::kBruteForce;
          const std::uint32_t account_id = account_ids.of(e.account);
          GroupKey key;
          key.reason = why;
          key.by_ip = !by_account;
          if (key.by_ip) key.ip = e.ip;
          if (by_account || both) key.account = account_id;
          Group& g = groups[key];
          ReplayRefusal& r = g.r;
          if (r.events == 0) {
            r.reason = why;
            if (key.by_ip) r.ip = e.ip.to_string();
            if (by_account || both) r.account = e.account;
            r.first_line = line_no;
            r.first_time = e.time;
            r.action = d.action();
          }
          r.action = std::max(r.action, d.action());
          r.last_line = line_no;
          r.last_time = e.time;
          ++r.events;
          if (g.accounts.size() < kMaxDistinctAccounts && g.accounts.insert(account_id).second) {
            ++r.accounts;
            if (r.sample_accounts.size() < kSampleAccounts) r.sample_accounts.push_back(e.account);
          }
        });
      });
      if (!n) return n.error();
      if (!failed) return failed.error();
      const std::uint64_t now = monotonic_ns();
      if (o.progress &&
          now - last_progress >= std::uint64_t(o.progress_every.count()) * 1'000'000) {
        last_progress = now;
        const double s = double(now - started) / 1e9;
        o.progress(counters.lines.load(), s > 0 ? double(counters.lines.load()) / s : 0);
      }
      if (*n == 0) break;
    }
    report.seconds = double(monotonic_ns() - started) / 1e9;
    report.lines = counters.lines.load() + reader.too_long();
    report.matched = counters.matched.load();
    report.events = counters.events.load();
    for (int i = 0; i < kSkipCount; ++i)
      report.skipped[std::size_t(i)] = counters.skipped[std::size_t(i)].load();
    report.skipped[std::size_t(Skip::kTooLong)] = reader.too_long();
  }
  for (auto& [key, g] : groups) report.refusals.push_back(std::move(g.r));
  std::sort(report.refusals.begin(), report.refusals.end(), before);
  return report;
}

}  // namespace mamori::logs
