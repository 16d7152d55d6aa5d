#include "store/journal/profile_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "core/hash.h"
#include "core/log.h"
#include "store/journal/frame.h"
#include "store/journal/pass_slices.h"
#include "store/profile_codec.h"

namespace mamori::store::journal {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxAccountBytes = 65535;
constexpr std::size_t kCopyBatchBytes = 1u << 20;
constexpr std::string_view kOpenFailed = "store_open_failed";
constexpr std::string_view kReadFailed = "store_read_failed";
constexpr std::string_view kWriteFailed = "store_write_failed";

// Splits a record's payload into its account and its profile's text.
Status parse(std::string_view payload, std::string_view& account, std::string_view& text) {
  auto bad = [](const char* what) {
    return make_error("invalid_profile", std::string("profile record: ") + what);
  };
  if (payload.empty() || std::uint8_t(payload[0]) != kVersion) return bad("unknown version");
  std::uint64_t n = 0;
  std::size_t at = 1;
  for (int shift = 0;; shift += 7) {
    if (at >= payload.size() || shift > 14) return bad("bad account length");
    const std::uint8_t b = std::uint8_t(payload[at++]);
    n |= std::uint64_t(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
  }
  if (n > kMaxAccountBytes || n > payload.size() - at) return bad("account cut short");
  account = payload.substr(at, std::size_t(n));
  text = payload.substr(at + std::size_t(n));
  return {};
}

std::string generation_name(std::uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "gen-%08" PRIu64, number);
  return name;
}

std::optional<std::uint64_t> parse_generation(std::string_view name) {
  if (!name.starts_with("gen-") || name.size() < 5) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : name.substr(4)) {
    if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) return std::nullopt;
    n = n * 10 + std::uint64_t(c - '0');
  }
  return n;
}

}  // namespace

struct ProfileJournal::Generation {
  std::uint64_t number = 0;
  std::string dir;
  std::unique_ptr<KeyedJournal> journal;
};

struct ProfileJournal::Pending {
  std::shared_ptr<Generation> next;
  std::uint64_t copied_end = 0;  // the old journal's records before this are in `next`
};

ProfileJournal::ProfileJournal(std::string dir, const Clock& clock, ProfileJournalOptions options)
    : dir_(std::move(dir)),
      clock_(clock),
      options_(std::move(options)),
      next_gc_check_(options_.gc_min_bytes) {}

ProfileJournal::~ProfileJournal() { indexer_.stop(); }

std::uint64_t ProfileJournal::fingerprint(std::string_view account) const {
  return options_.fingerprint ? options_.fingerprint(account) : hash_bytes(account);
}

Status ProfileJournal::encode(std::string_view account, const AccountProfile& p, std::string& out) {
  if (account.size() > kMaxAccountBytes)
    return make_error("invalid_profile", "an account name of " + std::to_string(account.size()) +
                                             " bytes, more than " +
                                             std::to_string(kMaxAccountBytes));
  const std::size_t start = begin_frame(out);
  out.push_back(char(kVersion));
  for (std::uint64_t n = account.size();; n >>= 7) {
    if (n < 0x80) {
      out.push_back(char(n));
      break;
    }
    out.push_back(char((n & 0x7f) | 0x80));
  }
  out.append(account);
  out += encode_profile(p);
  if (out.size() - start - kFrameHeaderBytes > kMaxFramePayload) {
    out.resize(start);
    return make_error("invalid_profile", "a profile record longer than a journal record");
  }
  end_frame(out, start);
  return {};
}

KeyedJournalOptions ProfileJournal::journal_options() const {
  KeyedJournalOptions o;
  o.key_of = [this](std::string_view payload) -> Result<RecordKey> {
    std::string_view account, text;
    if (Status s = parse(payload, account, text); !s) return s.error();
    return RecordKey{fingerprint(account), 0};
  };
  o.key_scheme = options_.key_scheme;
  o.max_segment_entries = options_.max_segment_entries;
  o.merge_fan_in = options_.merge_fan_in;
  o.clock = &clock_;
  return o;
}

Result<std::shared_ptr<ProfileJournal::Generation>> ProfileJournal::open_generation(
    std::uint64_t number) {
  auto g = std::make_shared<Generation>();
  g->number = number;
  g->dir = dir_ + "/" + generation_name(number);
  auto j = KeyedJournal::open(g->dir, journal_options());
  if (!j) return j.error();
  g->journal = std::move(*j);
  return g;
}

Status ProfileJournal::write_current(std::uint64_t number) {
  const std::string path = dir_ + "/CURRENT", tmp = path + ".tmp";
  auto f = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, kWriteFailed);
  if (!f) return f.error();
  const std::string text = generation_name(number) + "\n";
  if (Status s = pwrite_full(f->fd(), text, 0, tmp, kWriteFailed); !s) return s;
  if (::fsync(f->fd()) != 0) return errno_error(kWriteFailed, tmp, "fsync", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return errno_error(kWriteFailed, path, "rename", errno);
  // Renamed: the switch is made (a crash now keeps either name, both whole).
  if (Status s = sync_dir(dir_, kWriteFailed); !s)
    log_warn("profile journal: cannot sync the directory", {{"error", s.error().message}});
  return {};
}

Result<std::unique_ptr<ProfileJournal>> ProfileJournal::open(const std::string& dir,
                                                             const Clock& clock,
                                                             ProfileJournalOptions options) {
  if (Status s = make_dirs(dir, kOpenFailed); !s) return s.error();
  std::unique_ptr<ProfileJournal> j(new ProfileJournal(dir, clock, std::move(options)));
  std::vector<std::pair<std::uint64_t, std::string>> generations;
  {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return errno_error(kOpenFailed, dir, "opendir", errno);
    while (const dirent* e = ::readdir(d))
      if (auto n = parse_generation(e->d_name)) generations.emplace_back(*n, e->d_name);
    ::closedir(d);
  }
  std::uint64_t number = 1;
  const std::string current = dir + "/CURRENT";
  auto f = open_file(current, O_RDONLY, kOpenFailed);
  if (f) {
    char buf[64] = {};
    const ssize_t n = ::read(f->fd(), buf, sizeof buf - 1);
    std::string_view text(buf, n > 0 ? std::size_t(n) : 0);
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    const auto parsed = parse_generation(text);
    if (!parsed) return make_error(std::string(kOpenFailed), current + ": not a generation name");
    number = *parsed;
  } else if (!generations.empty()) {
    return make_error(std::string(kOpenFailed),
                      current + " is missing but " + dir + " holds profile generations");
  } else if (Status s = j->write_current(number); !s) {
    return make_error(std::string(kOpenFailed), s.error().message);
  }
  auto g = j->open_generation(number);
  if (!g) return g.error();
  // A collection that did not finish, or one whose old generation was not
  // deleted yet.
  for (const auto& [n, name] : generations) {
    if (n == number) continue;
    log_info("profile journal: deleting a generation that is not current",
             {{"dir", dir + "/" + name}});
    std::error_code ec;
    std::filesystem::remove_all(dir + "/" + name, ec);
    if (ec)
      return make_error(std::string(kOpenFailed), dir + "/" + name + ": remove: " + ec.message());
  }
  j->writer_gen_ = *g;
  j->current_ = *g;
  j->next_gc_check_ = std::max(j->options_.gc_min_bytes, (*g)->journal->disk_bytes());
  if (j->options_.background_indexer)
    j->indexer_.start({j->options_.index_every, 2 * j->options_.index_every, "profile index"},
                      [p = j.get()] { (void)p->index(); });
  return j;
}

std::shared_ptr<ProfileJournal::Generation> ProfileJournal::current() const {
  std::lock_guard<std::mutex> l(gen_mu_);
  return current_;
}

// ---- the writer ----

Status ProfileJournal::stage(std::string_view account, const AccountProfile& p) {
  scratch_.clear();
  if (Status s = encode(account, p, scratch_); !s) return s;
  return stage_encoded(fingerprint(account), scratch_);
}

Status ProfileJournal::stage_encoded(std::uint64_t fp, std::string_view framed) {
  if (!batch_open_ && pending_ready_.load(std::memory_order_acquire)) finish_switch();
  Status s = writer_gen_->journal->stage(fp, 0, framed);
  if (s) batch_open_ = true;
  return s;
}

Status ProfileJournal::write_staged() {
  Status s = writer_gen_->journal->write_staged();
  if (!s) batch_open_ = false;
  return s;
}

void ProfileJournal::publish_staged() {
  KeyedJournal& j = *writer_gen_->journal;
  appended_.fetch_add(j.staged(), std::memory_order_relaxed);
  j.publish_staged();
  batch_open_ = false;
  if (j.tail_entries() >= options_.index_entries)
    indexer_.urge();
  else if (indexer_.late())
    indexer_.hurry();
}

Status ProfileJournal::discard_staged() {
  batch_open_ = false;
  return writer_gen_->journal->discard_staged();
}

void ProfileJournal::finish_switch() {
  // pending_ready_ stays set until the switch is made or abandoned, so that
  // the indexer neither prepares another nor reads a generation about to go.
  std::unique_ptr<Pending> p;
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    p = std::move(pending_);
    if (!p) {
      pending_ready_.store(false, std::memory_order_release);
      return;
    }
  }
  KeyedJournal& old = *writer_gen_->journal;
  KeyedJournal& next = *p->next->journal;
  std::uint64_t copied = 0;
  std::string frame;
  // What was appended since the copy began, in order.
  Status s = old.scan(
      [&](std::uint64_t, std::string_view payload) -> Result<bool> {
        std::string_view account, text;
        if (Status d = parse(payload, account, text); !d) return d.error();
        frame.clear();
        append_frame(frame, payload);
        if (Status st = next.stage(fingerprint(account), 0, frame); !st) return st.error();
        if (next.staged_bytes() >= kCopyBatchBytes) {
          if (Status w = next.write_staged(); !w) return w.error();
          next.publish_staged();
        }
        ++copied;
        return true;
      },
      p->copied_end);
  if (s) s = next.write_staged();
  if (s) {
    next.publish_staged();
    s = write_current(p->next->number);
  }
  if (!s) {
    log_warn("profile journal: garbage collection abandoned; the current generation stays",
             {{"error", s.error().message}});
    (void)next.discard_staged();
    std::lock_guard<std::mutex> l(pending_mu_);
    retired_.push_back(std::move(p->next));  // the indexer deletes it
    pending_ready_.store(false, std::memory_order_release);
    return;
  }
  std::shared_ptr<Generation> old_gen = std::move(writer_gen_);
  writer_gen_ = p->next;
  {
    std::lock_guard<std::mutex> l(gen_mu_);
    current_ = writer_gen_;
  }
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    retired_.push_back(std::move(old_gen));
    pending_ready_.store(false, std::memory_order_release);
  }
  delta_copied_.fetch_add(copied, std::memory_order_relaxed);
  collections_.fetch_add(1, std::memory_order_relaxed);
}

// ---- the indexer ----

Status ProfileJournal::collect(const std::shared_ptr<Generation>& from) {
  const auto runs = from->journal->runs();
  if (runs.size() != 1) return {};
  const SortedRun& run = *runs.front();
  const std::string next_dir = dir_ + "/" + generation_name(from->number + 1);
  std::error_code ec;
  std::filesystem::remove_all(next_dir, ec);
  if (ec) return make_error(std::string(kWriteFailed), next_dir + ": remove: " + ec.message());
  auto next = open_generation(from->number + 1);
  if (!next) return make_error(std::string(kWriteFailed), next.error().message);
  KeyedJournal& to = *(*next)->journal;
  // Of each fingerprint's entries (newest first), the first of each account.
  const auto entries = run.entries();
  std::string buf, frame;
  std::vector<std::string> seen;
  Status s;
  for (std::size_t i = 0; i < entries.size() && s;) {
    std::size_t end = i;
    while (end < entries.size() && entries[end].fp == entries[i].fp) ++end;
    seen.clear();
    for (; i < end && s; ++i) {
      std::string_view payload, account, text;
      s = from->journal->read_at(entries[i].offset, buf, payload);
      if (s) s = parse(payload, account, text);
      if (!s || std::find(seen.begin(), seen.end(), account) != seen.end()) continue;
      seen.emplace_back(account);
      frame.clear();
      append_frame(frame, payload);
      s = to.stage(entries[i].fp, 0, frame);
      PassSlices::point();
      if (s && to.staged_bytes() >= kCopyBatchBytes) {
        s = to.write_staged();
        if (s) to.publish_staged();
      }
    }
    i = end;
  }
  if (s) s = to.write_staged();
  if (s) {
    to.publish_staged();
    s = to.seal_and_index();
  }
  if (!s) {
    (void)to.discard_staged();
    next->reset();
    std::filesystem::remove_all(next_dir, ec);
    return s;
  }
  next_gc_check_ = std::max(options_.gc_min_bytes, 2 * to.disk_bytes());
  std::lock_guard<std::mutex> l(pending_mu_);
  pending_ = std::make_unique<Pending>(Pending{std::move(*next), run.info().journal_end});
  pending_ready_.store(true, std::memory_order_release);
  return {};
}

Status ProfileJournal::index() {
  std::lock_guard<std::mutex> il(index_mu_);
  std::vector<std::shared_ptr<Generation>> retired;
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    retired.swap(retired_);
  }
  Status s;
  for (auto& g : retired) {
    // Readers still holding it keep their open files.
    const std::string dir = g->dir;
    g.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec && s) s = make_error(std::string(kWriteFailed), dir + ": remove: " + ec.message());
  }
  // No switch prepared: none can begin before this pass prepares one, so the
  // current generation stays current while it is looked at.
  const bool switching = pending_ready_.load(std::memory_order_acquire);
  const auto gen = current();
  KeyedJournal& j = *gen->journal;
  if (s) s = j.seal_and_index();
  if (s) {
    auto merged = j.merge_runs(false);
    if (!merged) s = merged.error();
  }
  if (s && !switching && j.disk_bytes() >= next_gc_check_) {
    // Merged into one run, the run counts the distinct fingerprints.
    auto merged = j.merge_runs(true);
    if (!merged) s = merged.error();
    const KeyedJournalStats st = j.stats();
    next_gc_check_ = std::max(options_.gc_min_bytes, 2 * (st.journal_bytes + st.run_bytes));
    if (s && st.runs == 1 && (st.run_entries - st.run_keys) * 2 > st.run_entries) s = collect(gen);
  }
  return outcome_.note(std::move(s));
}

// ---- readers ----

Result<AccountProfile> ProfileJournal::profile(std::string_view account) const {
  const auto gen = current();
  AccountProfile out;
  Status s = gen->journal->for_each_newest_first(
      fingerprint(account), INT64_MIN,
      [&](const IndexEntry& e, std::string_view payload) -> Result<bool> {
        std::string_view name, text;
        Status d = parse(payload, name, text);
        if (d && name != account) return true;  // another account, the same fingerprint
        if (d) {
          auto p = decode_profile(text);
          if (p) {
            out = std::move(*p);
            return false;
          }
          d = p.error();
        }
        return make_error(std::string(kReadFailed),
                          gen->journal->journal_path() + ": record at offset " +
                              std::to_string(e.offset) + ": " + d.error().message);
      });
  if (!s) return s.error();
  return out;
}

Status ProfileJournal::for_each_fingerprint(const std::function<void(std::uint64_t fp)>& fn) const {
  const auto gen = current();
  std::uint64_t indexed_end = 0;
  for (const auto& run : gen->journal->runs()) {
    for (const IndexEntry& e : run->entries()) fn(e.fp);
    indexed_end = std::max(indexed_end, run->info().journal_end);
  }
  return gen->journal->scan(
      [&](std::uint64_t offset, std::string_view payload) -> Result<bool> {
        std::string_view name, text;
        if (Status d = parse(payload, name, text); !d)
          return make_error(std::string(kReadFailed),
                            gen->journal->journal_path() + ": record at offset " +
                                std::to_string(offset) + ": " + d.error().message);
        fn(fingerprint(name));
        return true;
      },
      indexed_end);
}

Status ProfileJournal::for_each(
    const std::function<Status(std::string_view account, const AccountProfile&)>& fn) const {
  const auto gen = current();
  std::map<std::string, std::string, std::less<>> latest;  // account -> profile text
  Status s =
      gen->journal->scan([&](std::uint64_t offset, std::string_view payload) -> Result<bool> {
        std::string_view name, text;
        if (Status d = parse(payload, name, text); !d)
          return make_error(std::string(kReadFailed),
                            gen->journal->journal_path() + ": record at offset " +
                                std::to_string(offset) + ": " + d.error().message);
        latest[std::string(name)] = std::string(text);
        return true;
      });
  if (!s) return s;
  for (const auto& [account, text] : latest) {
    auto p = decode_profile(text);
    if (!p)
      return make_error(std::string(kReadFailed),
                        "profile of " + account + ": " + p.error().message);
    if (Status f = fn(account, *p); !f) return f;
  }
  return {};
}

ProfileJournalStats ProfileJournal::stats() const {
  const auto gen = current();
  const KeyedJournalStats k = gen->journal->stats();
  ProfileJournalStats s;
  s.appended = appended_.load(std::memory_order_relaxed);
  s.tail_entries = k.tail_entries;
  s.runs = k.runs;
  s.bytes = k.journal_bytes + k.run_bytes;
  s.generation = gen->number;
  s.collections = collections_.load(std::memory_order_relaxed);
  s.delta_copied = delta_copied_.load(std::memory_order_relaxed);
  s.index_failures = outcome_.failures();
  s.index_raises = indexer_.raises();
  return s;
}

}  // namespace mamori::store::journal
