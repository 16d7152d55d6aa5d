// The activity journal (store/journal/) alone and as the data dir's store
// writes it (EmbeddedStore: through the commit queue, in SQLite's batches),
// in one run:
//
//   write side: the CPU one login result's activity entry costs the whole
//   process, from encoding it to its entry being in a sorted run (the
//   writer, the indexer thread and its merges; getrusage after the indexer
//   caught up), for (a) ActivityJournal and (b) EmbeddedStore::append_activity
//   (bench/temp_store.h; --no-sqlite leaves it out), on the "first-day mix": a real ActivityRecord
//   of a random account, a browser user agent, 10 % failures, written in groups as a commit carries
//   them;
//
//   read side: activity(account, 90 days, 100) latency, p50 and p99, with
//   --read-accounts accounts of --read-entries entries each spread over
//   --read-days day partitions (the journal's older partitions fully merged,
//   as an hour idle leaves them), the page cache warm.
//
//   ./build-release/bench/journal_bench [--results=N] [--accounts=N] [--group=N]
//       [--read-accounts=N] [--read-entries=N] [--read-days=N] [--reads=N]
//       [--no-sqlite] [--no-write] [--cold] [--dir=PATH]
//
// --no-write measures the read side alone (for a read set of many
// accounts: with --no-sqlite too, only the journal's is made). --cold
// evicts the journal's pages from the page cache before reading (its own
// files only: posix_fadvise DONTNEED), as a journal bigger than the memory
// is read, and measures the reads twice: without the journal's read
// prefetch, then with it (the pages evicted again).
//
// Defaults take about a minute and 1.5 GB of disk under /tmp; up to 10
// million accounts with --read-accounts=10000000 (and the disk for it:
// about 230 bytes an entry in the journal, 24 in its index, more in SQLite).

#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/journal/activity_codec.h"
#include "store/journal/activity_journal.h"
#include "temp_store.h"

namespace {

using namespace mamori;
using store::ActivityRecord;
using store::journal::ActivityJournal;
using store::journal::ActivityJournalOptions;

struct Flags {
  std::uint64_t results = 1'000'000;
  std::uint64_t accounts = 1'000'000;
  std::size_t group = 64;
  std::uint64_t read_accounts = 100'000;
  std::uint64_t read_entries = 20;
  int read_days = 30;
  std::uint64_t reads = 20'000;
  bool sqlite = true;
  bool write = true;
  bool cold = false;
  std::string dir = "/tmp";
};

bool flag(std::string_view arg, std::string_view name, std::uint64_t& out) {
  if (!arg.starts_with(name) || arg.size() <= name.size() || arg[name.size()] != '=') return false;
  const std::string_view v = arg.substr(name.size() + 1);
  if (std::from_chars(v.data(), v.data() + v.size(), out).ec != std::errc()) {
    std::fprintf(stderr, "journal_bench: bad number in %.*s\n", int(arg.size()), arg.data());
    std::exit(2);
  }
  return true;
}

Flags parse_flags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    std::uint64_t v = 0;
    if (flag(a, "--results", f.results) || flag(a, "--accounts", f.accounts) ||
        flag(a, "--read-accounts", f.read_accounts) || flag(a, "--read-entries", f.read_entries) ||
        flag(a, "--reads", f.reads))
      continue;
    if (flag(a, "--group", v)) {
      f.group = std::max<std::size_t>(1, v);
    } else if (flag(a, "--read-days", v)) {
      f.read_days = int(std::clamp<std::uint64_t>(v, 1, 90));
    } else if (a == "--no-sqlite") {
      f.sqlite = false;
    } else if (a == "--no-write") {
      f.write = false;
    } else if (a == "--cold") {
      f.cold = true;
    } else if (a.starts_with("--dir=")) {
      f.dir = std::string(a.substr(6));
    } else {
      std::fprintf(stderr, "journal_bench: unknown flag %s (see the top of journal_bench.cc)\n",
                   argv[i]);
      std::exit(2);
    }
  }
  f.accounts = std::max<std::uint64_t>(1, f.accounts);
  f.read_accounts = std::max<std::uint64_t>(1, f.read_accounts);
  return f;
}

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double wall_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// The engine's event ids: 12 hex digits of the time, 8 of a counter.
void set_event_id(std::string& out, std::int64_t ms, std::uint32_t counter) {
  constexpr char kHex[] = "0123456789abcdef";
  out.assign(20, '0');
  std::uint64_t v = std::uint64_t(ms);
  for (int i = 11; i >= 0; --i, v >>= 4) out[std::size_t(i)] = kHex[v & 0xf];
  for (int i = 19; i >= 12; --i, counter >>= 4) out[std::size_t(i)] = kHex[counter & 0xf];
}

// One login result of the first-day mix, in `r` (its buffers reused).
void first_day_result(ActivityRecord& r, std::mt19937_64& rng, std::uint64_t account,
                      std::int64_t ms, std::uint32_t n) {
  set_event_id(r.event_id, ms, n);
  r.time = from_unix_ms(ms);
  bench::set_account(r.account, account);
  r.type = EventType::kLoginResult;
  r.ip = IpAddress::from_v4(std::uint32_t(rng()));
  r.country = "JP";
  r.city = "Tokyo";
  r.user_agent = bench::kBrowserUserAgents[rng() % 3];
  r.device_id.clear();
  r.protocol = "web";
  const bool failed = rng() % 10 == 0;
  r.success = !failed;
  r.action = failed ? Action::kDeny : Action::kAllow;
  r.reasons.clear();
  if (failed) r.reasons.emplace_back("brute_force");
}

// The bench's scratch dir under `base`; exits when it cannot be made.
struct BenchDir : TempDir {
  explicit BenchDir(const std::string& base) : TempDir("mamori-journal-bench", base) {
    if (path().empty()) {
      std::fprintf(stderr, "%s\n", error().c_str());
      std::exit(1);
    }
  }
};

std::uint64_t dir_bytes(const std::string& dir) {
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

void die(const Error& e) {
  std::fprintf(stderr, "journal_bench: %s: %s\n", e.code.c_str(), e.message.c_str());
  std::exit(1);
}

constexpr std::int64_t kStart = 1'800'000'000'000;

struct WriteFigures {
  double cpu_us = 0, foreground_us = 0, per_s = 0, bytes = 0;
  double full_merge_cpu_us = 0;  // the journal's: with the idle partition merged into one run
};

// Polls `done` every few milliseconds for up to ten minutes.
template <typename Done>
void wait_for(Done&& done, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "journal_bench: gave up waiting for %s\n", what);
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The CPU per result of making the records alone (the bench's own work,
// taken off both sides' figures).
double generation_us(const Flags& f) {
  std::mt19937_64 rng(1);
  ActivityRecord r;
  std::uint64_t sink = 0;
  const double cpu0 = thread_cpu_s();
  for (std::uint64_t n = 0; n < f.results; ++n) {
    first_day_result(r, rng, rng() % f.accounts, kStart + std::int64_t(n / 8), std::uint32_t(n));
    sink += r.account.size();
  }
  const double cpu = thread_cpu_s() - cpu0;
  if (sink == 0) std::printf("\n");
  return cpu * 1e6 / double(f.results);
}

WriteFigures journal_write(const Flags& f, double& record_bytes) {
  BenchDir dir(f.dir);
  // The entries' own times drive the clock (as replay does); the indexer
  // runs on its real interval.
  ManualClock clock(from_unix_ms(kStart));
  auto j = ActivityJournal::open(dir.path() + "/activity", clock);
  if (!j) die(j.error());
  std::mt19937_64 rng(1);
  ActivityRecord r;
  std::string framed;
  std::uint64_t encoded = 0;
  const double cpu0 = process_cpu_s(), fg0 = thread_cpu_s(), wall0 = wall_s();
  for (std::uint64_t n = 0; n < f.results;) {
    for (std::size_t i = 0; i < f.group && n < f.results; ++i, ++n) {
      const std::int64_t ms = kStart + std::int64_t(n / 8);  // 8,000 results a second
      first_day_result(r, rng, rng() % f.accounts, ms, std::uint32_t(n));
      framed.clear();  // encoded on the request thread, staged by the writer
      if (Status s = store::journal::encode_activity(r, framed); !s) die(s.error());
      encoded += framed.size();
      if (Status s = (*j)->stage_encoded((*j)->fingerprint(r.account), r.time, framed); !s)
        die(s.error());
    }
    if (Status s = (*j)->write_staged(); !s) die(s.error());
    (*j)->publish_staged();
    clock.set(r.time);
  }
  const double fg = thread_cpu_s() - fg0;
  const double wall = wall_s() - wall0;
  // Until the indexer has indexed all of it and done its tiered merges.
  wait_for([&] { return (*j)->stats().tail_entries == 0; }, "the indexer");
  const double cpu = process_cpu_s() - cpu0;
  // An hour later the partition is idle and merged into one run.
  clock.advance(std::chrono::hours(2));
  wait_for([&] { return (*j)->stats().runs == (*j)->stats().partitions; }, "the full merge");
  const double full = process_cpu_s() - cpu0;
  WriteFigures w;
  w.cpu_us = cpu * 1e6 / double(f.results);
  w.full_merge_cpu_us = full * 1e6 / double(f.results);
  w.foreground_us = fg * 1e6 / double(f.results);
  w.per_s = double(f.results) / wall;
  w.bytes = double((*j)->stats().bytes) / double(f.results);
  record_bytes = double(encoded) / double(f.results);
  return w;
}

WriteFigures sqlite_write(const Flags& f) {
  bench::TempStore t;
  std::mt19937_64 rng(1);
  ActivityRecord r;
  const double cpu0 = process_cpu_s(), fg0 = thread_cpu_s(), wall0 = wall_s();
  for (std::uint64_t n = 0; n < f.results;) {
    store::WriteTicket last = 0;
    for (std::size_t i = 0; i < f.group && n < f.results; ++i, ++n) {
      const std::int64_t ms = kStart + std::int64_t(n / 8);
      first_day_result(r, rng, rng() % f.accounts, ms, std::uint32_t(n));
      last = t.store->append_activity(r);
    }
    if (Status s = t.store->wait(last); !s) die(s.error());
  }
  const double fg = thread_cpu_s() - fg0;
  const double wall = wall_s() - wall0;
  const double cpu = process_cpu_s() - cpu0;
  WriteFigures w;
  w.cpu_us = cpu * 1e6 / double(f.results);
  w.foreground_us = fg * 1e6 / double(f.results);
  w.per_s = double(f.results) / wall;
  w.bytes = double(dir_bytes(t.dir)) / double(f.results);
  return w;
}

// The read data set: every account's entries spread evenly over the days,
// in time order; exactly read_entries per account.
template <typename Append>
void fill_read_set(const Flags& f, Append&& append) {
  std::mt19937_64 rng(2);
  ActivityRecord r;
  const std::uint64_t total = f.read_accounts * f.read_entries;
  const double step = double(f.read_days) * 86'400'000.0 / double(total);
  for (std::uint64_t i = 0; i < total; ++i) {
    const std::uint64_t round = i / f.read_accounts;
    const std::uint64_t account = (i + round * 7919) % f.read_accounts;
    first_day_result(r, rng, account, kStart + std::int64_t(double(i) * step), std::uint32_t(i));
    append(r, i + 1 == total);
  }
}

struct ReadFigures {
  double p50_us = 0, p99_us = 0, mean_rows = 0, fill_s = 0, bytes = 0;
};

template <typename Read>
void measure_reads(const Flags& f, ReadFigures& out, Read&& read) {
  std::mt19937_64 rng(3);
  std::vector<double> us;
  us.reserve(f.reads);
  std::uint64_t rows = 0;
  std::string account;
  for (std::uint64_t i = 0; i < f.reads; ++i) {
    bench::set_account(account, rng() % f.read_accounts);
    const auto t0 = std::chrono::steady_clock::now();
    rows += read(account);
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  out.p50_us = us[us.size() / 2];
  out.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  out.mean_rows = double(rows) / double(f.reads);
}

// Drops the pages of every file under `dir` (the bench's own) from the page
// cache, written back first.
void evict(const std::string& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

// With --cold, `out` is measured with the journal's pages evicted from the
// page cache, and `without_prefetch` too, first, with prefetch_reads off.
ReadFigures journal_read(const Flags& f, ReadFigures& without_prefetch) {
  BenchDir dir(f.dir);
  ManualClock clock(from_unix_ms(kStart));
  ActivityJournalOptions o;
  o.background_indexer = false;
  auto opened = ActivityJournal::open(dir.path() + "/activity", clock, o);
  if (!opened) die(opened.error());
  ActivityJournal& j = **opened;
  ReadFigures out;
  const double wall0 = wall_s();
  std::size_t staged = 0;
  std::uint64_t since_index = 0;
  fill_read_set(f, [&](const ActivityRecord& r, bool last) {
    if (Status s = j.stage(r); !s) die(s.error());
    if (++staged == f.group || last) {
      if (Status s = j.write_staged(); !s) die(s.error());
      j.publish_staged();
      staged = 0;
    }
    // The indexer's second, at full load.
    if (++since_index == 65'536 || last) {
      clock.set(r.time);
      if (Status s = j.index(); !s) die(s.error());
      since_index = 0;
    }
  });
  // An hour later every day is idle: one run each.
  clock.advance(std::chrono::hours(2));
  if (Status s = j.index(); !s) die(s.error());
  out.fill_s = wall_s() - wall0;
  out.bytes = double(j.stats().bytes) / double(f.read_accounts * f.read_entries);
  const TimePoint since =
      from_unix_ms(kStart + std::int64_t(f.read_days) * 86'400'000) - std::chrono::hours(24 * 90);
  auto reads = [&](ActivityJournal& journal, ReadFigures& figures) {
    measure_reads(f, figures, [&](const std::string& account) {
      auto rows = journal.activity(account, since, 100);
      if (!rows) die(rows.error());
      return rows->size();
    });
  };
  if (!f.cold) {
    reads(j, out);
    return out;
  }
  opened->reset();
  for (const bool prefetch : {false, true}) {
    o.prefetch_reads = prefetch;
    auto reopened = ActivityJournal::open(dir.path() + "/activity", clock, o);
    if (!reopened) die(reopened.error());
    evict(dir.path());
    ReadFigures& figures = prefetch ? out : without_prefetch;
    figures.fill_s = out.fill_s;
    figures.bytes = out.bytes;
    reads(**reopened, figures);
  }
  return out;
}

ReadFigures sqlite_read(const Flags& f) {
  bench::TempStore t;
  ReadFigures out;
  const double wall0 = wall_s();
  std::size_t staged = 0;
  store::WriteTicket last_ticket = 0;
  fill_read_set(f, [&](const ActivityRecord& r, bool last) {
    last_ticket = t.store->append_activity(r);
    if (++staged == 4096 || last) {
      if (Status s = t.store->wait(last_ticket); !s) die(s.error());
      staged = 0;
    }
  });
  out.fill_s = wall_s() - wall0;
  out.bytes = double(dir_bytes(t.dir)) / double(f.read_accounts * f.read_entries);
  const TimePoint since =
      from_unix_ms(kStart + std::int64_t(f.read_days) * 86'400'000) - std::chrono::hours(24 * 90);
  measure_reads(f, out, [&](const std::string& account) {
    auto rows = t.store->activity(account, since, 100);
    if (!rows) die(rows.error());
    return rows->size();
  });
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = parse_flags(argc, argv);
  std::printf("load average at start: %s, %u hardware threads\n", load_average().c_str(),
              std::thread::hardware_concurrency());

  if (f.write) {
    double record_bytes = 0;
    const double gen = generation_us(f);
    WriteFigures jw = journal_write(f, record_bytes);
    WriteFigures sw;
    if (f.sqlite) sw = sqlite_write(f);
    for (WriteFigures* w : {&jw, &sw}) {
      w->cpu_us -= gen;
      w->foreground_us -= gen;
      w->full_merge_cpu_us -= gen;
    }
    std::printf(
        "\nwrite side: %llu login results (first-day mix: %llu accounts, 10 %% failures, browser "
        "user agents, %.0f-byte records), groups of %zu; making the records (%.2f us) not "
        "counted\n",
        (unsigned long long)f.results, (unsigned long long)f.accounts, record_bytes, f.group, gen);
    std::printf("  %-28s %14s %14s %12s %14s\n", "", "cpu us/result", "foreground us", "results/s",
                "disk B/result");
    std::printf("  %-28s %14.2f %14.2f %12.0f %14.0f\n", "activity journal", jw.cpu_us,
                jw.foreground_us, jw.per_s, jw.bytes);
    std::printf("  %-28s %14.2f\n", "  + its full merge", jw.full_merge_cpu_us);
    if (f.sqlite)
      std::printf("  %-28s %14.2f %14.2f %12.0f %14.0f\n", "store append_activity", sw.cpu_us,
                  sw.foreground_us, sw.per_s, sw.bytes);
  }

  ReadFigures unprefetched;
  const ReadFigures jr = journal_read(f, unprefetched);
  ReadFigures sr;
  if (f.sqlite) sr = sqlite_read(f);
  std::printf(
      "\nread side: activity(account, 90 days, 100), %llu accounts x %llu entries over %d day "
      "partitions, %llu random accounts read, %s\n",
      (unsigned long long)f.read_accounts, (unsigned long long)f.read_entries, f.read_days,
      (unsigned long long)f.reads,
      f.cold ? "the journal's pages evicted from the page cache first"
             : "the page cache as the fill left it");
  std::printf("  %-28s %10s %10s %10s %10s %12s\n", "", "p50 us", "p99 us", "rows/read", "fill s",
              "disk B/entry");
  if (f.cold)
    std::printf("  %-28s %10.1f %10.1f %10.1f %10.1f %12.0f\n", "activity journal, no prefetch",
                unprefetched.p50_us, unprefetched.p99_us, unprefetched.mean_rows,
                unprefetched.fill_s, unprefetched.bytes);
  std::printf("  %-28s %10.1f %10.1f %10.1f %10.1f %12.0f\n", "activity journal", jr.p50_us,
              jr.p99_us, jr.mean_rows, jr.fill_s, jr.bytes);
  if (f.sqlite)
    std::printf("  %-28s %10.1f %10.1f %10.1f %10.1f %12.0f\n", "store activity", sr.p50_us,
                sr.p99_us, sr.mean_rows, sr.fill_s, sr.bytes);
  std::printf("\nload average at end: %s\n", load_average().c_str());
  return 0;
}
