// EmbeddedStore: the data dir's three parts opened, checked and joined
// under SqliteStore's commit sequence; the journals' part of each batch; the
// upgrade that moves the schema 5 tables into the journals; the metrics.

#include "store/embedded/embedded_store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "core/log.h"
#include "store/journal/activity_codec.h"

namespace mamori::store {

namespace fs = std::filesystem;

namespace {

constexpr const char* kActivityDir = "activity";
constexpr const char* kProfilesDir = "profiles";

Error open_error(const std::string& path, const std::string& what) {
  return make_error("store_open_failed", "cannot open store " + path + ": " + what);
}

// Encodes `r`; an entry over the codec's limits is cut down to them.
void encode_entry(const ActivityRecord& r, std::string& out) {
  out.clear();
  if (journal::encode_activity(r, out)) return;
  ActivityRecord cut = r;
  for (std::string* f : {&cut.event_id, &cut.account, &cut.country, &cut.city, &cut.user_agent,
                         &cut.device_id, &cut.protocol, &cut.actor, &cut.note})
    if (f->size() > journal::kMaxActivityFieldBytes) f->resize(journal::kMaxActivityFieldBytes);
  if (cut.reasons.size() > journal::kMaxActivityReasons)
    cut.reasons.resize(journal::kMaxActivityReasons);
  for (std::string& reason : cut.reasons)
    if (reason.size() > journal::kMaxActivityFieldBytes)
      reason.resize(journal::kMaxActivityFieldBytes);
  out.clear();
  (void)journal::encode_activity(cut, out);  // empty on failure: refused by stage()
}

std::string rate(std::uint64_t rows, std::chrono::steady_clock::duration took) {
  const double s = std::chrono::duration<double>(took).count();
  return std::to_string(rows) + " rows, " +
         std::to_string(static_cast<std::uint64_t>(s > 0 ? double(rows) / s : 0)) + " rows/s";
}

}  // namespace

EmbeddedStore::EmbeddedStore(std::string data_dir, EmbeddedStoreOptions options)
    : data_dir_(std::move(data_dir)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : system_clock_) {}

Result<std::unique_ptr<EmbeddedStore>> EmbeddedStore::open(const std::string& data_dir,
                                                           EmbeddedStoreOptions options) {
  std::unique_ptr<EmbeddedStore> store(new EmbeddedStore(data_dir, std::move(options)));
  SqliteStoreOptions sqlite_options = store->options_.sqlite;
  sqlite_options.participant = store.get();
  sqlite_options.move_legacy_rows = [s = store.get()](LegacyRows& rows) {
    return s->move_legacy_rows(rows);
  };
  auto sqlite = SqliteStore::open(data_dir, sqlite_options);
  if (!sqlite) return sqlite.error();
  store->sqlite_ = std::move(*sqlite);
  if (!store->activity_) {
    // The database was at schema 6 already: its journals must be there.
    // Opening a missing one would start it empty, and every entry in it
    // would be gone without a word.
    std::error_code ec;
    for (const char* name : {kActivityDir, kProfilesDir}) {
      const fs::path dir = fs::path(data_dir) / name;
      if (!fs::exists(dir, ec))
        return open_error(dir.string(),
                          "it is missing, but the database (schema 6) keeps its data there. "
                          "Restore the data dir from a backup, or create the empty directory to "
                          "start without it");
    }
    if (Status s = store->open_journals(); !s) return s.error();
  }
  if (Status s = store->fill_profile_filter(); !s)
    return open_error(data_dir, "reading the profiles' accounts: " + s.error().message);
  return store;
}

Status EmbeddedStore::open_journals() {
  const fs::path dir(data_dir_);
  auto activity =
      journal::ActivityJournal::open((dir / kActivityDir).string(), clock_, options_.activity);
  if (!activity) return activity.error();
  auto profiles =
      journal::ProfileJournal::open((dir / kProfilesDir).string(), clock_, options_.profiles);
  if (!profiles) return profiles.error();
  activity_ = std::move(*activity);
  profiles_ = std::move(*profiles);
  return {};
}

Status EmbeddedStore::check(const std::string& data_dir) {
  if (Status s = SqliteStore::check(data_dir); !s) return s;
  std::error_code ec;
  for (const char* name : {kActivityDir, kProfilesDir}) {
    const fs::path dir = fs::path(data_dir) / name;
    if (!fs::exists(dir, ec)) continue;
    if (!fs::is_directory(dir, ec)) return open_error(dir.string(), "not a directory");
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      return open_error(dir.string(), std::string("not writable: ") + std::strerror(errno));
  }
  const fs::path profiles = fs::path(data_dir) / kProfilesDir;
  if (fs::is_directory(profiles, ec) && !fs::exists(profiles / "CURRENT", ec)) {
    for (const auto& e : fs::directory_iterator(profiles, ec))
      if (e.path().filename().string().rfind("gen-", 0) == 0)
        return open_error(profiles.string(), "generations without CURRENT");
  }
  return {};
}

Status EmbeddedStore::fill_profile_filter() {
  // Counted first (the runs' keys are mapped, the tail is short), to size it.
  std::size_t count = 0;
  if (Status s = profiles_->for_each_fingerprint([&](std::uint64_t) { ++count; }); !s) return s;
  profile_filter_ = std::make_unique<GrowingBloomFilter>(std::max(kMinProfileFilter, 2 * count));
  return profiles_->for_each_fingerprint([&](std::uint64_t fp) { profile_filter_->add(fp); });
}

EmbeddedStore::~EmbeddedStore() {
  // The writer first (it stages into the journals), then the journals'
  // indexers; the data dir's lock, SqliteStore's, goes last.
  if (sqlite_) sqlite_->stop_writer();
  activity_.reset();
  profiles_.reset();
  sqlite_.reset();
}

// ---- the upgrade from schema 5 ----

Status EmbeddedStore::move_legacy_rows(LegacyRows& rows) {
  const fs::path dir(data_dir_);
  std::error_code ec;
  // What is there was left by a move that did not finish: the tables are
  // still the truth.
  for (const char* name : {kActivityDir, kProfilesDir}) {
    fs::remove_all(dir / name, ec);
    if (ec) return open_error((dir / name).string(), "cannot remove: " + ec.message());
  }
  if (Status s = open_journals(); !s) return s;
  auto activity_rows = rows.activity_count();
  if (!activity_rows) return activity_rows.error();
  auto profile_rows = rows.profile_count();
  if (!profile_rows) return profile_rows.error();
  const bool loud = *activity_rows + *profile_rows > 0;
  if (loud)
    log_info("store: moving " + std::to_string(*activity_rows) + " activity entries and " +
             std::to_string(*profile_rows) + " profiles from " + data_dir_ +
             "/mamori.db into the journals (schema 6)");
  using Clock = std::chrono::steady_clock;
  constexpr std::size_t kChunk = 4096;
  constexpr auto kProgressEvery = std::chrono::seconds(5);
  std::uint64_t moved = 0;
  std::size_t staged = 0;
  const auto started = Clock::now();
  auto last_progress = started;
  // Writes and publishes what is staged: a chunk at a time, so the tail the
  // indexer takes in stays bounded.
  auto flush = [&](auto& j) -> Status {
    if (staged == 0) return {};
    staged = 0;
    if (Status s = j.write_staged(); !s) {
      (void)j.discard_staged();
      return s;
    }
    j.publish_staged();
    return {};
  };
  auto progress = [&](const char* what) {
    ++moved;
    if (options_.on_migrated_row) options_.on_migrated_row(moved);
    const auto now = Clock::now();
    if (now - last_progress < kProgressEvery) return;
    last_progress = now;
    log_info(std::string("store: moving ") + what + ": " + rate(moved, now - started));
  };

  std::string framed;
  Status s = rows.for_each_activity([&](const ActivityRecord& r) -> Status {
    // As append_activity: a field over the codec's limits is cut to them.
    encode_entry(r, framed);
    if (framed.empty())
      return make_error("store_write_failed", "entry " + r.event_id + " unusable");
    if (Status st = activity_->stage_encoded(activity_->fingerprint(r.account), r.time, framed);
        !st)
      return st;
    progress("activity");
    return ++staged == kChunk ? flush(*activity_) : Status{};
  });
  if (s) s = flush(*activity_);
  if (!s) return open_error(data_dir_, "moving the activity log: " + s.error().message);
  const std::uint64_t activity_moved = moved;
  s = rows.for_each_profile([&](std::string_view account, const AccountProfile& p) -> Status {
    if (Status st = profiles_->stage(account, p); !st) return st;
    progress("profiles");
    return ++staged == kChunk ? flush(*profiles_) : Status{};
  });
  if (s) s = flush(*profiles_);
  if (!s) return open_error(data_dir_, "moving the profiles: " + s.error().message);
  // An index pass fsyncs each journal before its run: what the tables held
  // is on disk before they are dropped.
  if (s = activity_->index(); s) s = profiles_->index();
  if (!s) return open_error(data_dir_, "indexing the moved rows: " + s.error().message);
  if (loud)
    log_info("store: moved " + std::to_string(activity_moved) + " activity entries and " +
             std::to_string(moved - activity_moved) + " profiles into the journals (" +
             rate(moved, Clock::now() - started) + ")");
  return {};
}

// ---- writes ----

WriteTicket EmbeddedStore::append_activity(const ActivityRecord& r) {
  ForeignWrite w{kActivity, activity_->fingerprint(r.account), to_unix_ms(r.time), {}};
  encode_entry(r, w.bytes);
  return sqlite_->enqueue_foreign(std::move(w));
}

WriteTicket EmbeddedStore::prune_activity(TimePoint before) {
  return sqlite_->enqueue_foreign(ForeignWrite{kDropActivity, 0, to_unix_ms(before), {}});
}

WriteTicket EmbeddedStore::put_profile(std::string account, AccountProfile& profile) {
  ForeignWrite w{kProfile, profiles_->fingerprint(account), 0, {}};
  profile_filter_->add(w.fp);
  if (Status s = journal::ProfileJournal::encode(account, profile, w.bytes); !s) {
    w.target = kRefused;
    w.bytes = s.error().message;
  }
  return sqlite_->enqueue_foreign(std::move(w));
}

WriteTicket EmbeddedStore::put_lock(std::string account, LockInfo lock) {
  return sqlite_->put_lock(std::move(account), std::move(lock));
}
WriteTicket EmbeddedStore::clear_lock(std::string account) {
  return sqlite_->clear_lock(std::move(account));
}
WriteTicket EmbeddedStore::put_contact(std::string account, Contact contact) {
  return sqlite_->put_contact(std::move(account), std::move(contact));
}
WriteTicket EmbeddedStore::put_last_login(std::string account, LastLogin login) {
  return sqlite_->put_last_login(std::move(account), std::move(login));
}
WriteTicket EmbeddedStore::put_list_entry(ListEntry e) {
  return sqlite_->put_list_entry(std::move(e));
}
WriteTicket EmbeddedStore::delete_list_entry(std::string id) {
  return sqlite_->delete_list_entry(std::move(id));
}
WriteTicket EmbeddedStore::put_incident(Incident i) { return sqlite_->put_incident(std::move(i)); }
WriteTicket EmbeddedStore::put_incident_account(std::string incident_id, IncidentAccount a) {
  return sqlite_->put_incident_account(std::move(incident_id), std::move(a));
}
WriteTicket EmbeddedStore::put_incident_counts(IncidentCounts counts,
                                               std::optional<IncidentAccount> a) {
  return sqlite_->put_incident_counts(std::move(counts), std::move(a));
}
WriteTicket EmbeddedStore::put_block(Block b) { return sqlite_->put_block(std::move(b)); }
WriteTicket EmbeddedStore::delete_block(std::string scope, std::string key) {
  return sqlite_->delete_block(std::move(scope), std::move(key));
}
WriteTicket EmbeddedStore::prune_blocks(TimePoint before) { return sqlite_->prune_blocks(before); }
WriteTicket EmbeddedStore::put_totp(TotpRecord r) { return sqlite_->put_totp(std::move(r)); }
WriteTicket EmbeddedStore::delete_totp(std::string account) {
  return sqlite_->delete_totp(std::move(account));
}
WriteTicket EmbeddedStore::prune_outbox(TimePoint before) { return sqlite_->prune_outbox(before); }
WriteTicket EmbeddedStore::enqueue_outbox(OutboxItem item) {
  return sqlite_->enqueue_outbox(std::move(item));
}
WriteTicket EmbeddedStore::outbox_delivered(std::string id, TimePoint when) {
  return sqlite_->outbox_delivered(std::move(id), when);
}
WriteTicket EmbeddedStore::outbox_retry(std::string id, TimePoint next_attempt, std::string error) {
  return sqlite_->outbox_retry(std::move(id), next_attempt, std::move(error));
}
WriteTicket EmbeddedStore::outbox_failed(std::string id, TimePoint when, std::string error) {
  return sqlite_->outbox_failed(std::move(id), when, std::move(error));
}

// ---- the journals' part of a batch (the writer thread) ----

Status EmbeddedStore::stage(const ForeignWrite& w) {
  switch (w.target) {
    case kActivity:
      if (w.bytes.empty())
        return make_error("store_write_failed", "activity entry over the journal's limits");
      return activity_->stage_encoded(w.fp, from_unix_ms(w.time_ms), w.bytes);
    case kProfile:
      return profiles_->stage_encoded(w.fp, w.bytes);
    case kDropActivity: {
      const TimePoint before = from_unix_ms(w.time_ms);
      if (!staged_drop_ || *staged_drop_ < before) staged_drop_ = before;
      return {};
    }
    default:
      return make_error("store_write_failed", "refused: " + w.bytes);
  }
}

Status EmbeddedStore::write_staged() {
  if (Status s = activity_->write_staged(); !s) return s;
  if (Status s = profiles_->write_staged(); !s) {
    (void)activity_->discard_staged();  // discard_staged() reports a failed truncation
    return s;
  }
  return {};
}

void EmbeddedStore::publish_staged() {
  activity_->publish_staged();
  profiles_->publish_staged();
  if (staged_drop_ && (!drop_ || *drop_ < *staged_drop_)) drop_ = staged_drop_;
  staged_drop_.reset();
}

void EmbeddedStore::discard_staged() {
  staged_drop_.reset();
  for (Status s : {activity_->discard_staged(), profiles_->discard_staged()})
    if (!s) log_warn("store " + data_dir_ + ": " + s.error().message);
}

void EmbeddedStore::after_batch() {
  if (!drop_) return;
  const TimePoint before = *drop_;
  drop_.reset();
  auto dropped = activity_->drop_before(before);
  if (!dropped) {
    retention_failures_.fetch_add(1, std::memory_order_relaxed);
    log_warn("store " + data_dir_ + ": activity retention failed: " + dropped.error().message);
    return;
  }
  partitions_dropped_.fetch_add(*dropped, std::memory_order_relaxed);
}

// ---- reads ----

Result<std::vector<ActivityRecord>> EmbeddedStore::activity(std::string_view account,
                                                            TimePoint since, std::size_t limit) {
  return activity_->activity(account, since, limit);
}

Status EmbeddedStore::failed_logins_since(TimePoint since, std::size_t limit,
                                          const std::function<void(const ActivityRecord&)>& fn) {
  return activity_->failed_logins_since(since, limit, fn);
}

Result<AccountProfile> EmbeddedStore::profile(std::string_view account) {
  if (!profile_filter_->may_contain(profiles_->fingerprint(account))) {
    profile_reads_skipped_.fetch_add(1, std::memory_order_relaxed);
    return AccountProfile{};
  }
  return profiles_->profile(account);
}

// ---- metrics ----

void EmbeddedStore::render_metrics(std::string& out) const {
  sqlite_->render_metrics(out);
  const journal::ActivityJournalStats a = activity_->stats();
  const journal::ProfileJournalStats p = profiles_->stats();
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  metric("mamori_store_activity_appended_total", "counter",
         "Activity entries appended to the journal since start.", a.appended);
  metric("mamori_store_activity_tail_entries", "gauge",
         "Activity entries not yet in an index run (reads merge them).", a.tail_entries);
  metric("mamori_store_activity_index_lag_seconds", "gauge",
         "Age of the oldest activity entry not yet indexed (0: none).",
         std::chrono::duration<double>(a.index_lag).count());
  metric("mamori_store_activity_runs", "gauge", "Index runs of the activity journal.", a.runs);
  metric("mamori_store_activity_partitions", "gauge", "Day partitions of the activity journal.",
         a.partitions);
  metric("mamori_store_activity_bytes", "gauge", "Bytes of the activity journal and its runs.",
         a.bytes);
  metric("mamori_store_activity_index_failures_total", "counter",
         "Index and merge passes of the activity journal that failed.", a.index_failures);
  metric("mamori_store_activity_index_raises_total", "counter",
         "Times the activity indexer was raised from SCHED_IDLE to keep its lag bound.",
         a.index_raises);
  metric("mamori_store_activity_partitions_dropped_total", "counter",
         "Day partitions dropped by retention since start.",
         partitions_dropped_.load(std::memory_order_relaxed));
  metric("mamori_store_activity_retention_failures_total", "counter",
         "Retention passes that could not drop a partition.",
         retention_failures_.load(std::memory_order_relaxed));
  metric("mamori_store_profiles_appended_total", "counter",
         "Profile versions appended to the journal since start.", p.appended);
  metric("mamori_store_profiles_tail_entries", "gauge",
         "Profile versions not yet in an index run (reads merge them).", p.tail_entries);
  metric("mamori_store_profiles_runs", "gauge", "Index runs of the profile journal.", p.runs);
  metric("mamori_store_profiles_bytes", "gauge",
         "Bytes of the profile journal's current generation and its runs.", p.bytes);
  metric("mamori_store_profiles_collections_total", "counter",
         "Garbage collections of superseded profile versions since start.", p.collections);
  metric("mamori_store_profiles_index_failures_total", "counter",
         "Index passes of the profile journal that failed.", p.index_failures);
  metric("mamori_store_profiles_index_raises_total", "counter",
         "Times the profile indexer was raised from SCHED_IDLE to keep its lag bound.",
         p.index_raises);
  metric("mamori_store_profile_reads_skipped_total", "counter",
         "Profile reads answered without reading the journal (the account never had a profile).",
         profile_reads_skipped());
  metric("mamori_store_profile_filter_layers", "gauge",
         "Layers of the filter of accounts with a profile (it grows fourfold a layer).",
         profile_filter_->layers());
}

}  // namespace mamori::store
