#include "store/journal/keyed_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstdio>
#include <queue>

#include "core/hash.h"
#include "core/log.h"
#include "store/journal/frame.h"
#include "store/journal/pass_slices.h"

namespace mamori::store::journal {

namespace {

constexpr std::string_view kWriteFailed = "store_write_failed";
constexpr std::string_view kReadFailed = "store_read_failed";
constexpr std::string_view kOpenFailed = "store_open_failed";
constexpr std::string_view kRunPrefix = "run-";

// Newer first: time descending, then offset descending.
bool newer(const IndexEntry& a, const IndexEntry& b) {
  if (a.time_ms != b.time_ms) return a.time_ms > b.time_ms;
  return a.offset > b.offset;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

// ---- the tail ----

// A fixed-capacity part of the tail. The writer links entries (under
// writer_mu_) and publishes them by storing `count`; readers see entries
// below the count they loaded, found through `slots` and the `prev` links.
// An entry is written before the slot that points at it (release), and never
// changed after; slots are never cleared.
struct KeyedJournal::Segment {
  struct Entry {
    std::uint64_t fp;
    std::int64_t time_ms;
    std::uint64_t offset;
    std::uint32_t prev;  // index + 1 of the previous entry of fp in this segment; 0: none
  };

  explicit Segment(std::size_t cap)
      : capacity(cap),
        mask(std::bit_ceil(cap * 2) - 1),
        entries(new Entry[cap]),
        slots(new std::atomic<std::uint32_t>[mask + 1]()) {}

  std::size_t home(std::uint64_t fp) const { return std::size_t(mix64(fp)) & mask; }

  // The writer's.
  void link(std::uint64_t fp, std::int64_t time_ms, std::uint64_t offset, std::int64_t now_ms) {
    const std::uint32_t i = std::uint32_t(linked++);
    if (i == 0) first_append_ms.store(now_ms, std::memory_order_relaxed);
    Entry& e = entries[i];
    e.fp = fp;
    e.time_ms = time_ms;
    e.offset = offset;
    for (std::size_t h = home(fp);; h = (h + 1) & mask) {
      const std::uint32_t v = slots[h].load(std::memory_order_relaxed);
      if (v == 0 || entries[v - 1].fp == fp) {
        e.prev = v;
        slots[h].store(i + 1, std::memory_order_release);
        return;
      }
    }
  }
  void publish() { count.store(std::uint32_t(linked), std::memory_order_release); }
  bool full() const { return linked == capacity; }

  // Readers': the published entries of `fp` with time >= since_ms.
  void collect(std::uint64_t fp, std::int64_t since_ms, std::vector<IndexEntry>& out) const {
    const std::uint32_t n = count.load(std::memory_order_acquire);
    if (n == 0) return;
    for (std::size_t h = home(fp);; h = (h + 1) & mask) {
      std::uint32_t v = slots[h].load(std::memory_order_acquire);
      if (v == 0) return;
      if (entries[v - 1].fp != fp) continue;
      for (; v != 0; v = entries[v - 1].prev) {
        const Entry& e = entries[v - 1];
        if (v - 1 < n && e.time_ms >= since_ms) out.push_back({e.fp, e.time_ms, e.offset});
      }
      return;
    }
  }

  const std::size_t capacity;
  const std::size_t mask;
  const std::unique_ptr<Entry[]> entries;
  const std::unique_ptr<std::atomic<std::uint32_t>[]> slots;
  std::atomic<std::uint32_t> count{0};
  std::atomic<std::int64_t> first_append_ms{0};
  std::size_t linked = 0;  // the writer's: entries linked, published or not
};

// What readers copy: immutable once published (a change makes a new State).
struct KeyedJournal::State {
  std::vector<std::shared_ptr<const SortedRun>> runs;  // by journal range
  std::vector<std::shared_ptr<const Segment>> sealed;  // oldest first
  std::shared_ptr<const Segment> active;
};

// ---- open and recovery ----

KeyedJournal::KeyedJournal(std::string dir, KeyedJournalOptions options, File file)
    : dir_(std::move(dir)),
      path_(dir_ + "/journal"),
      options_(std::move(options)),
      file_(std::move(file)) {}

KeyedJournal::~KeyedJournal() = default;

Result<std::unique_ptr<KeyedJournal>> KeyedJournal::open(const std::string& dir,
                                                         KeyedJournalOptions options) {
  if (!options.key_of) return make_error(std::string(kOpenFailed), dir + ": no key reader");
  options.max_segment_entries =
      std::clamp<std::size_t>(options.max_segment_entries, 1, std::size_t{1} << 30);
  options.merge_fan_in = std::max<std::size_t>(options.merge_fan_in, 2);
  if (Status s = make_dirs(dir, kOpenFailed); !s) return s.error();
  const std::string path = dir + "/journal";
  struct stat st {};
  const bool existed = ::stat(path.c_str(), &st) == 0;
  auto file = open_file(path, O_RDWR | O_CREAT, kOpenFailed);
  if (!file) return file.error();
  if (!existed)
    if (Status s = sync_dir(dir, kOpenFailed); !s) return s.error();
  std::unique_ptr<KeyedJournal> j(new KeyedJournal(dir, std::move(options), std::move(*file)));
  if (Status s = j->recover(); !s) return s.error();
  return j;
}

std::string KeyedJournal::run_path(std::uint64_t first, std::uint64_t end) const {
  char name[64];
  std::snprintf(name, sizeof name, "run-%016" PRIx64 "-%016" PRIx64, first, end);
  return dir_ + "/" + name;
}

Status KeyedJournal::recover() {
  std::vector<std::shared_ptr<const SortedRun>> runs;
  bool removed = false;
  auto remove = [&](const std::string& path) {
    ::unlink(path.c_str());
    removed = true;
  };
  {
    DIR* d = ::opendir(dir_.c_str());
    if (d == nullptr) return errno_error(kOpenFailed, dir_, "opendir", errno);
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string path = dir_ + "/" + name;
      if (ends_with(name, ".tmp")) {
        remove(path);
      } else if (name.starts_with(kRunPrefix)) {
        auto run = SortedRun::open(path);
        if (!run) {
          log_warn("journal: deleting an index run that does not open; its range is re-read",
                   {{"file", path}, {"error", run.error().message}});
          remove(path);
        } else if ((*run)->info().key_scheme != options_.key_scheme) {
          log_info("journal: deleting an index run of another key scheme; its range is re-read",
                   {{"file", path}});
          remove(path);
        } else {
          runs.push_back(std::move(*run));
        }
      }
    }
  }
  // The chain of runs from offset 0: at each start the widest run (a merged
  // one) wins; what it covers is a merge's leftover input, what starts past
  // the chain's end follows a gap.
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
    if (a->info().journal_first != b->info().journal_first)
      return a->info().journal_first < b->info().journal_first;
    return a->info().journal_end > b->info().journal_end;
  });
  struct stat st {};
  if (::fstat(file_.fd(), &st) != 0) return errno_error(kOpenFailed, path_, "stat", errno);
  const std::uint64_t file_size = std::uint64_t(st.st_size);
  std::vector<std::shared_ptr<const SortedRun>> chain;
  std::uint64_t end = 0;
  bool past_file = false;
  for (auto& run : runs) {
    const RunInfo& info = run->info();
    if (!past_file && info.journal_first == end && info.journal_end > end) {
      if (info.journal_end > file_size) {
        log_warn(
            "journal: an index run covers more journal than the file holds (a power cut?); "
            "deleting it and the runs after it, their range is re-read",
            {{"file", run->path()},
             {"run_end", std::int64_t(info.journal_end)},
             {"journal_bytes", std::int64_t(file_size)}});
        past_file = true;
        remove(run->path());
        continue;
      }
      end = info.journal_end;
      chain.push_back(std::move(run));
    } else if (!past_file && info.journal_end <= end) {
      remove(run->path());  // covered by a merged run
    } else {
      if (!past_file)
        log_warn("journal: deleting an index run that does not follow the runs before it",
                 {{"file", run->path()}});
      remove(run->path());
    }
  }
  if (removed)
    if (Status s = sync_dir(dir_, kOpenFailed); !s) return s;
  indexed_end_ = end;

  // The tail: every record after the last run.
  auto st0 = std::make_shared<State>();
  st0->runs = std::move(chain);
  active_ = std::make_shared<Segment>(std::min(options_.max_segment_entries, kMinSegmentEntries));
  st0->active = active_;
  set_state(st0);
  const std::int64_t now = now_ms();
  std::uint64_t records = 0;
  auto scan =
      scan_frames(file_.fd(), indexed_end_, file_size, path_, kOpenFailed,
                  [&](std::uint64_t offset, std::string_view payload) -> Result<bool> {
                    auto key = options_.key_of(payload);
                    if (!key)
                      return make_error(std::string(kOpenFailed),
                                        path_ + ": the record at offset " + std::to_string(offset) +
                                            " cannot be read: " + key.error().message);
                    std::lock_guard<std::mutex> w(writer_mu_);
                    link(key->fp, key->time_ms, offset, now);
                    ++records;
                    return true;
                  });
  if (!scan) return scan.error();
  {
    std::lock_guard<std::mutex> w(writer_mu_);
    active_->publish();
  }
  if (scan->valid_end < file_size) {
    log_warn("journal: truncating a torn or corrupt tail",
             {{"file", path_},
              {"offset", std::int64_t(scan->valid_end)},
              {"dropped_bytes", std::int64_t(file_size - scan->valid_end)},
              {"record", to_string(scan->end)}});
    if (::ftruncate(file_.fd(), off_t(scan->valid_end)) != 0 || ::fsync(file_.fd()) != 0)
      return errno_error(kOpenFailed, path_, "truncate", errno);
  }
  end_ = scan->valid_end;
  published_end_.store(end_, std::memory_order_release);
  tail_entries_.store(records, std::memory_order_relaxed);
  last_append_ms_.store(now, std::memory_order_relaxed);
  return {};
}

std::int64_t KeyedJournal::now_ms() const {
  return options_.clock != nullptr ? to_unix_ms(options_.clock->now()) : 0;
}

std::shared_ptr<const KeyedJournal::State> KeyedJournal::snapshot() const {
  std::lock_guard<std::mutex> l(state_mu_);
  return state_;
}

void KeyedJournal::set_state(std::shared_ptr<const State> s) {
  std::lock_guard<std::mutex> l(state_mu_);
  state_ = std::move(s);
}

std::shared_ptr<const KeyedJournal::State> KeyedJournal::update_state(
    const std::function<void(State&)>& change) {
  std::lock_guard<std::mutex> l(state_mu_);
  auto s = std::make_shared<State>(*state_);
  change(*s);
  state_ = s;
  return s;
}

// ---- the writer ----

Status KeyedJournal::stage(std::uint64_t fp, std::int64_t time_ms, std::string_view framed) {
  if (framed.size() <= kFrameHeaderBytes ||
      frame_payload_length(framed.data()) != framed.size() - kFrameHeaderBytes ||
      framed.size() - kFrameHeaderBytes > kMaxFramePayload)
    return make_error("invalid_record", path_ + ": a staged record is not one whole frame");
  staged_.push_back({fp, time_ms, batch_.size()});
  batch_.append(framed);
  return {};
}

Status KeyedJournal::truncate_to(std::uint64_t size) {
  while (::ftruncate(file_.fd(), off_t(size)) != 0)
    if (errno != EINTR) return errno_error(kWriteFailed, path_, "truncate", errno);
  return {};
}

Status KeyedJournal::write_staged() {
  if (staged_.empty()) return {};
  auto drop = [&] {
    batch_.clear();
    staged_.clear();
  };
  if (written_) {
    drop();
    return make_error(std::string(kWriteFailed), path_ + ": a written batch was not published");
  }
  if (broken_) {
    if (Status s = truncate_to(end_); !s) {
      drop();
      return s;
    }
    broken_ = false;
  }
  if (Status s = pwrite_full(file_.fd(), batch_, end_, path_, kWriteFailed); !s) {
    if (!truncate_to(end_)) broken_ = true;
    drop();
    return s;
  }
  batch_start_ = end_;
  end_ += batch_.size();
  written_ = true;
  return {};
}

void KeyedJournal::link(std::uint64_t fp, std::int64_t time_ms, std::uint64_t offset,
                        std::int64_t now_ms) {
  if (active_->full()) {
    active_->publish();
    auto next =
        std::make_shared<Segment>(std::min(options_.max_segment_entries, active_->capacity * 2));
    update_state([&](State& s) {
      s.sealed.push_back(active_);
      s.active = next;
    });
    active_ = std::move(next);
  }
  active_->link(fp, time_ms, offset, now_ms);
}

void KeyedJournal::publish_staged() {
  if (!written_) return;
  const std::int64_t now = now_ms();
  {
    std::lock_guard<std::mutex> w(writer_mu_);
    for (const Staged& s : staged_) link(s.fp, s.time_ms, batch_start_ + s.offset, now);
    active_->publish();
    published_end_.store(end_, std::memory_order_release);
    tail_entries_.fetch_add(staged_.size(), std::memory_order_relaxed);
  }
  appended_.fetch_add(staged_.size(), std::memory_order_relaxed);
  last_append_ms_.store(now, std::memory_order_relaxed);
  batch_.clear();
  staged_.clear();
  written_ = false;
}

Status KeyedJournal::discard_staged() {
  batch_.clear();
  staged_.clear();
  if (!written_) return {};
  written_ = false;
  end_ = batch_start_;
  if (Status s = truncate_to(end_); !s) {
    broken_ = true;
    return s;
  }
  return {};
}

// ---- the indexer ----

Status KeyedJournal::seal_and_index() {
  std::lock_guard<std::mutex> ig(indexer_mu_);
  std::vector<std::shared_ptr<const Segment>> to_index;
  std::uint64_t seal_end = 0;
  // The next segment is sized for as many entries as this one took; an idle
  // journal gives its big one back. It is made (its slots zeroed, up to
  // half a MiB) before writer_mu_ is taken, for what the active segment
  // held a moment ago, and made again under it only when that size is no
  // longer right: the writer waits for the lock, and the indexer runs at a
  // priority that any request thread preempts.
  const std::size_t smallest = std::min(kMinSegmentEntries, options_.max_segment_entries);
  auto next_capacity = [&](std::size_t linked) {
    return linked == 0
               ? smallest
               : std::min(options_.max_segment_entries, std::max(smallest, std::bit_ceil(linked)));
  };
  auto spare = std::make_shared<Segment>(
      next_capacity(snapshot()->active->count.load(std::memory_order_acquire)));
  {
    std::lock_guard<std::mutex> w(writer_mu_);
    auto cur = snapshot();
    auto next = [&](std::size_t cap) {
      return spare->capacity == cap ? std::move(spare) : std::make_shared<Segment>(cap);
    };
    if (active_->linked > 0) {
      auto seg = next(next_capacity(active_->linked));
      cur = update_state([&](State& s) {
        s.sealed.push_back(active_);
        s.active = seg;
      });
      active_ = std::move(seg);
    } else if (active_->capacity > smallest) {
      auto seg = next(smallest);
      cur = update_state([&](State& s) { s.active = seg; });
      active_ = std::move(seg);
    }
    to_index = cur->sealed;
    seal_end = published_end_.load(std::memory_order_relaxed);
  }
  if (to_index.empty()) return {};
  std::vector<IndexEntry> all;
  std::size_t n = 0;
  for (const auto& seg : to_index) n += seg->count.load(std::memory_order_acquire);
  all.reserve(n);
  for (const auto& seg : to_index) {
    const std::uint32_t c = seg->count.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < c; ++i) {
      const Segment::Entry& e = seg->entries[i];
      all.push_back({e.fp, e.time_ms, e.offset});
    }
    PassSlices::point(c);
  }
  sort_index(all);
  if (::fdatasync(file_.fd()) != 0) return errno_error(kWriteFailed, path_, "fsync", errno);
  RunInfo info;
  info.journal_first = indexed_end_;
  info.journal_end = seal_end;
  info.key_scheme = options_.key_scheme;
  const std::string path = run_path(indexed_end_, seal_end);
  auto written = write_run(path, all, info);
  if (!written) return written.error();
  auto run = SortedRun::open(path);
  if (!run) return make_error(std::string(kWriteFailed), run.error().message);
  update_state([&](State& s) {
    s.runs.push_back(std::move(*run));
    s.sealed.erase(s.sealed.begin(), s.sealed.begin() + std::ptrdiff_t(to_index.size()));
  });
  indexed_end_ = seal_end;
  tail_entries_.fetch_sub(n, std::memory_order_relaxed);
  return {};
}

Result<std::size_t> KeyedJournal::merge_runs(bool full) {
  std::lock_guard<std::mutex> ig(indexer_mu_);
  std::size_t merges = 0;
  for (;;) {
    const auto runs = snapshot()->runs;
    std::size_t begin = 0, end = 0;
    if (full) {
      if (runs.size() < 2) break;
      end = runs.size();
    } else {
      for (std::size_t i = 0; i < runs.size();) {
        std::size_t j = i + 1;
        while (j < runs.size() && runs[j]->info().level == runs[i]->info().level) ++j;
        if (j - i >= options_.merge_fan_in) {
          begin = i;
          end = j;
          break;
        }
        i = j;
      }
      if (end == 0) break;
    }
    std::uint32_t level = 0;
    for (std::size_t i = begin; i < end; ++i) level = std::max(level, runs[i]->info().level);
    ++level;
    const std::vector<std::shared_ptr<const SortedRun>> group(runs.begin() + std::ptrdiff_t(begin),
                                                              runs.begin() + std::ptrdiff_t(end));
    const std::string path =
        run_path(group.front()->info().journal_first, group.back()->info().journal_end);
    auto merged = journal::merge_runs(group, path, level);
    if (!merged) return merged.error();
    auto run = SortedRun::open(path);
    if (!run) return make_error(std::string(kWriteFailed), run.error().message);
    update_state([&](State& st) {
      st.runs.erase(st.runs.begin() + std::ptrdiff_t(begin), st.runs.begin() + std::ptrdiff_t(end));
      st.runs.insert(st.runs.begin() + std::ptrdiff_t(begin), std::move(*run));
    });
    for (const auto& r : group) ::unlink(r->path().c_str());
    if (Status s = sync_dir(dir_, kWriteFailed); !s) return s.error();
    ++merges;
    if (full) break;
  }
  return merges;
}

// ---- readers ----

Status KeyedJournal::for_each_newest_first(
    std::uint64_t fp, std::int64_t since_ms,
    const std::function<Result<bool>(const IndexEntry&, std::string_view payload)>& fn) const {
  const auto st = snapshot();
  std::vector<IndexEntry> tail;
  for (const auto& seg : st->sealed) seg->collect(fp, since_ms, tail);
  st->active->collect(fp, since_ms, tail);
  std::sort(tail.begin(), tail.end(), newer);
  struct Source {
    const IndexEntry* at;
    const IndexEntry* end;
  };
  std::vector<Source> sources;
  if (!tail.empty()) sources.push_back({tail.data(), tail.data() + tail.size()});
  for (const auto& run : st->runs) {
    const RunInfo& info = run->info();
    if (info.entries == 0 || info.max_time_ms < since_ms) continue;
    auto span = run->find(fp);
    // Of one key the newest first: the entries since `since_ms` lead.
    const auto cut = std::partition_point(
        span.begin(), span.end(), [&](const IndexEntry& e) { return e.time_ms >= since_ms; });
    if (cut != span.begin()) sources.push_back({span.data(), span.data() + (cut - span.begin())});
  }
  auto older = [](const Source& a, const Source& b) { return newer(*b.at, *a.at); };
  std::priority_queue<Source, std::vector<Source>, decltype(older)> heap(older, std::move(sources));
  std::string buf;
  while (!heap.empty()) {
    Source s = heap.top();
    heap.pop();
    const IndexEntry e = *s.at;
    if (++s.at != s.end) heap.push(s);
    std::string_view payload;
    if (Status r = read_frame_at(file_.fd(), e.offset, buf, payload, path_, kReadFailed); !r)
      return r;
    auto more = fn(e, payload);
    if (!more) return more.error();
    if (!*more) break;
  }
  return {};
}

std::size_t KeyedJournal::prefetch(std::uint64_t fp, std::int64_t since_ms, std::size_t max) const {
  // Enough for a record of the usual size (an activity entry is about 200
  // bytes); the rest of a longer one is read as usual.
  constexpr off_t kAhead = 1024;
  if (max == 0) return 0;
  const auto st = snapshot();
  std::vector<IndexEntry> found;
  for (const auto& seg : st->sealed) seg->collect(fp, since_ms, found);
  st->active->collect(fp, since_ms, found);
  for (const auto& run : st->runs) {
    const RunInfo& info = run->info();
    if (info.entries == 0 || info.max_time_ms < since_ms) continue;
    for (const IndexEntry& e : run->find(fp)) {
      if (e.time_ms < since_ms) break;
      found.push_back(e);
    }
  }
  if (found.size() > max) {
    std::nth_element(found.begin(), found.begin() + std::ptrdiff_t(max), found.end(), newer);
    found.resize(max);
  }
  const std::uint64_t end = published_end_.load(std::memory_order_acquire);
  for (const IndexEntry& e : found)
    if (e.offset < end)
      (void)::posix_fadvise(file_.fd(), off_t(e.offset), kAhead, POSIX_FADV_WILLNEED);
  return found.size();
}

Status KeyedJournal::read_at(std::uint64_t offset, std::string& buf,
                             std::string_view& payload) const {
  if (offset >= published_end_.load(std::memory_order_acquire))
    return make_error(std::string(kReadFailed),
                      path_ + ": no published record at offset " + std::to_string(offset));
  return read_frame_at(file_.fd(), offset, buf, payload, path_, kReadFailed);
}

Status KeyedJournal::scan(
    const std::function<Result<bool>(std::uint64_t offset, std::string_view payload)>& fn,
    std::uint64_t from) const {
  const std::uint64_t end = published_end_.load(std::memory_order_acquire);
  if (from >= end) return {};
  auto r = scan_frames(file_.fd(), from, end, path_, kReadFailed, fn);
  if (!r) return r.error();
  if (r->end != FrameEnd::kClean && r->valid_end < end)
    return make_error(std::string(kReadFailed), path_ + ": " + std::string(to_string(r->end)) +
                                                    " record at offset " +
                                                    std::to_string(r->valid_end));
  return {};
}

std::vector<std::shared_ptr<const SortedRun>> KeyedJournal::runs() const {
  return snapshot()->runs;
}

KeyedJournalStats KeyedJournal::stats() const {
  KeyedJournalStats s;
  const auto st = snapshot();
  s.appended = appended_.load(std::memory_order_relaxed);
  s.tail_entries = tail_entries_.load(std::memory_order_relaxed);
  s.runs = st->runs.size();
  s.journal_bytes = published_end_.load(std::memory_order_acquire);
  for (const auto& r : st->runs) {
    s.run_bytes += r->file_bytes();
    s.run_entries += r->info().entries;
    s.run_keys += r->info().keys;
  }
  const Segment* oldest = nullptr;
  for (const auto& seg : st->sealed)
    if (seg->count.load(std::memory_order_acquire) > 0) {
      oldest = seg.get();
      break;
    }
  if (oldest == nullptr && st->active->count.load(std::memory_order_acquire) > 0)
    oldest = st->active.get();
  if (oldest != nullptr)
    s.oldest_unindexed = from_unix_ms(oldest->first_append_ms.load(std::memory_order_relaxed));
  s.last_append = from_unix_ms(last_append_ms_.load(std::memory_order_relaxed));
  return s;
}

std::uint64_t KeyedJournal::disk_bytes() const {
  const KeyedJournalStats s = stats();
  return s.journal_bytes + s.run_bytes;
}

}  // namespace mamori::store::journal
