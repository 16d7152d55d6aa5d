// PostgresStore: opening, the writer's pipelined batches, the read pool, the
// activity partitions and the listener of other nodes' changes. The
// statements and how rows become records are in pg_statements.cc.

#include "store/postgresql/postgres_store.h"

#include <poll.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/log.h"
#include "store/postgresql/pg_schema.h"
#include "store/postgresql/pg_statements.h"
#include "store/profile_codec.h"

namespace mamori::store {

using postgresql::Conn;
using postgresql::error_message;
using postgresql::PgResult;
using Clock_ = std::chrono::steady_clock;

namespace {

constexpr auto kBackoffMin = std::chrono::milliseconds(100);
constexpr auto kBackoffMax = std::chrono::milliseconds(2000);
constexpr std::size_t kMaxNotifyPayload = 7999;  // PostgreSQL's limit is 8000 bytes
// pg_advisory_xact_lock key of partition changes (migrations use another).
constexpr const char* kPartitionLock = "SELECT pg_advisory_xact_lock(7164559019)";

Error write_failed(const std::string& why) {
  return make_error("store_write_failed", "store commit failed (postgresql): " + why);
}

Error read_failed(const std::string& why) {
  return make_error("store_read_failed", "store read failed (postgresql): " + why);
}

std::string ms(TimePoint t) { return std::to_string(to_unix_ms(t)); }

std::uint64_t random_start() {
  std::random_device rd;
  return (std::uint64_t(rd()) << 32) ^ rd();
}

}  // namespace

// ---- metrics ----

void RoundTripHistogram::observe(Clock_::duration d) {
  const double s = std::chrono::duration<double>(d).count();
  std::size_t b = 0;
  while (b < kBuckets.size() && s > kBuckets[b]) ++b;
  counts_[b].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()),
      std::memory_order_relaxed);
}

std::uint64_t RoundTripHistogram::count() const {
  std::uint64_t n = 0;
  for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
  return n;
}

void RoundTripHistogram::render(std::string& out, const char* name, const char* labels) const {
  char line[256];
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
    cumulative += counts_[b].load(std::memory_order_relaxed);
    if (b < kBuckets.size())
      std::snprintf(line, sizeof line, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, kBuckets[b],
                    static_cast<unsigned long long>(cumulative));
    else
      std::snprintf(line, sizeof line, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
                    static_cast<unsigned long long>(cumulative));
    out += line;
  }
  std::snprintf(line, sizeof line, "%s_sum{%s} %.9f\n%s_count{%s} %llu\n", name, labels,
                double(sum_ns_.load(std::memory_order_relaxed)) / 1e9, name, labels,
                static_cast<unsigned long long>(cumulative));
  out += line;
}

// ---- the read pool ----

class PostgresStore::ReadPool {
 public:
  ReadPool(const postgresql::PgUrl& url, std::size_t size) : url_(url), size_(size) {}
  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  // An idle connection, or a new one (statements prepared); waits while
  // `size` are in use.
  Result<Conn> take() {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !idle_.empty() || out_ < size_; });
      ++out_;
      if (!idle_.empty()) {
        Conn c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    auto c = postgresql::connect(url_, "store_read_failed");
    if (c) {
      if (Status s = postgresql::prepare_statements(c->get(), "store_read_failed"); !s)
        c = s.error();
    }
    if (!c) give(nullptr);
    return c;
  }
  // Returns a connection taken; a broken one (or none) is dropped.
  void give(Conn c) {
    {
      std::lock_guard lock(mu_);
      --out_;
      if (c && PQstatus(c.get()) == CONNECTION_OK && PQtransactionStatus(c.get()) == PQTRANS_IDLE)
        idle_.push_back(std::move(c));
    }
    cv_.notify_one();
  }

 private:
  const postgresql::PgUrl& url_;
  const std::size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Conn> idle_;  // guarded by mu_
  std::size_t out_ = 0;     // guarded by mu_
};

// ---- open / close ----

PostgresStore::PostgresStore(postgresql::PgUrl url, PostgresStoreOptions options)
    : url_(std::move(url)),
      options_(options),
      clock_(options.clock != nullptr ? *options.clock : system_clock_),
      commits_("postgresql"),
      version_start_(random_start()),
      pool_(std::make_unique<ReadPool>(url_, options.pool < 1 ? 1 : options.pool)) {}

Status PostgresStore::check(const postgresql::PgUrl& url) {
  auto c = postgresql::connect(url, "store_open_failed");
  if (!c) return c.error();
  auto v = postgresql::schema_version(c->get(), url.redacted);
  if (!v) return v.error();
  if (*v > postgresql::kPgSchemaVersion)
    return make_error("store_open_failed", "cannot open store " + url.redacted +
                                               ": schema version " + std::to_string(*v) +
                                               " is newer than this build's " +
                                               std::to_string(postgresql::kPgSchemaVersion));
  return {};
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const postgresql::PgUrl& url,
                                                           PostgresStoreOptions options) {
  std::unique_ptr<PostgresStore> s(new PostgresStore(url, options));
  auto c = postgresql::connect(url, "store_open_failed");
  if (!c) return c.error();
  auto migrated = postgresql::migrate(c->get(), url.redacted);
  if (!migrated) return migrated.error();
  if (migrated->from != migrated->to)
    log_info("store " + url.redacted + ": schema upgraded from version " +
             std::to_string(migrated->from) + " to " + std::to_string(migrated->to));
  if (Status st = postgresql::prepare_statements(c->get(), "store_open_failed"); !st)
    return st.error();
  s->writer_ = std::move(*c);
  s->writer_pid_ = PQbackendPID(s->writer_.get());
  s->connected_ = true;
  auto parts = s->activity_partitions();
  if (!parts) return make_error("store_open_failed", parts.error().message);
  for (const std::string& p : *parts)
    if (auto day = postgresql::activity_partition_day(p)) s->known_days_.insert(*day);
  const std::int64_t today = postgresql::utc_day(s->clock_.now());
  std::set<std::int64_t> days;
  for (int d = -1; d <= options.partitions_ahead; ++d) days.insert(today + d);
  if (Status st = s->ensure_partitions(days); !st)
    return make_error("store_open_failed",
                      "cannot open store " + url.redacted + ": " + st.error().message);
  s->ahead_checked_day_ = today;
  s->ahead_checked_ = Clock_::now();
  PostgresStore* self = s.get();
  s->commits_.start([self](const std::vector<WriteOp>& batch) { return self->apply_batch(batch); },
                    [self] { self->between_batches(); });
  return s;
}

PostgresStore::~PostgresStore() {
  stop_listening();
  commits_.stop();
}

void PostgresStore::stop_listening() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (listener_.joinable()) listener_.join();
}

// ---- the writer ----

bool PostgresStore::writer_connected() {
  if (writer_ && PQstatus(writer_.get()) == CONNECTION_OK) return true;
  const auto now = Clock_::now();
  if (now < next_connect_) return false;
  auto c = postgresql::connect(url_, "store_write_failed");
  if (c) {
    if (Status s = postgresql::prepare_statements(c->get(), "store_write_failed"); !s)
      c = s.error();
  }
  if (!c) {
    backoff_ = std::min<std::chrono::milliseconds>(
        kBackoffMax, backoff_ < kBackoffMin ? kBackoffMin : backoff_ * 2);
    next_connect_ = Clock_::now() + backoff_;
    return false;
  }
  writer_ = std::move(*c);
  writer_pid_ = PQbackendPID(writer_.get());
  backoff_ = std::chrono::milliseconds(0);
  reconnects_.fetch_add(1, std::memory_order_relaxed);
  connected_ = true;
  const double down = std::chrono::duration<double>(Clock_::now() - down_since_).count();
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", down);
  log_info("store " + url_.redacted + ": connected again after " + secs +
           " s; writes are stored again");
  known_days_.clear();  // another node may have dropped some meanwhile
  return true;
}

void PostgresStore::writer_lost(const std::string& why) {
  writer_.reset();
  writer_pid_ = 0;
  if (connected_.exchange(false)) {
    down_since_ = Clock_::now();
    log_error("store " + url_.redacted + ": connection lost (" + why +
              "); writes are refused (503) until it is back");
  }
}

Status PostgresStore::ensure_partitions(const std::set<std::int64_t>& days) {
  std::string sql;
  for (std::int64_t d : days)
    if (!known_days_.contains(d)) sql += postgresql::create_activity_partition_sql(d) + ";";
  if (sql.empty()) return {};
  const auto start = Clock_::now();
  PgResult r(PQexec(writer_.get(),
                    (std::string("BEGIN;") + kPartitionLock + ";" + sql + "COMMIT").c_str()));
  latency_[kDdlTrip].observe(Clock_::now() - start);
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    errors_[kDdlTrip].fetch_add(1, std::memory_order_relaxed);
    const std::string why = "creating activity partitions: " + error_message(writer_.get());
    if (PQtransactionStatus(writer_.get()) != PQTRANS_IDLE)
      PgResult(PQexec(writer_.get(), "ROLLBACK"));
    return write_failed(why);
  }
  known_days_.insert(days.begin(), days.end());
  return {};
}

Status PostgresStore::apply_batch(const std::vector<WriteOp>& batch) {
  if (!writer_connected()) {
    errors_[kCommitTrip].fetch_add(1, std::memory_order_relaxed);
    return write_failed("no connection to " + url_.redacted);
  }
  std::set<std::int64_t> days;
  std::optional<TimePoint> drop;
  for (const WriteOp& op : batch) {
    if (op.day != kNoDay) days.insert(op.day);
    if (op.drop_before && (!drop || *op.drop_before > *drop)) drop = op.drop_before;
  }
  if (Status s = ensure_partitions(days); !s) {
    if (PQstatus(writer_.get()) != CONNECTION_OK) writer_lost(s.error().message);
    return s;
  }
  const auto start = Clock_::now();
  Status s = run_pipeline(batch);
  latency_[kCommitTrip].observe(Clock_::now() - start);
  if (!s) {
    errors_[kCommitTrip].fetch_add(1, std::memory_order_relaxed);
    if (!writer_ || PQstatus(writer_.get()) != CONNECTION_OK) {
      writer_lost(s.error().message);
    } else if (PQtransactionStatus(writer_.get()) != PQTRANS_IDLE) {
      PgResult(PQexec(writer_.get(), "ROLLBACK"));
    }
    if (s.error().message.find("no partition of relation") != std::string::npos)
      known_days_.clear();  // dropped by another node: made again by the next batch
    return s;
  }
  if (drop) drop_ = drop;
  return {};
}

Status PostgresStore::run_pipeline(const std::vector<WriteOp>& batch) {
  PGconn* c = writer_.get();
  if (PQenterPipelineMode(c) != 1) return write_failed(error_message(c));
  std::vector<const char*> values;
  int sent = 0;
  bool ok = true;
  auto send = [&](int id, const std::vector<std::optional<std::string>>& params) {
    if (!ok) return;
    values.clear();
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    ok = PQsendQueryPrepared(c, postgresql::statement_name(id), static_cast<int>(values.size()),
                             values.data(), nullptr, nullptr, 0) == 1;
    ++sent;
  };
  auto send_plain = [&](const char* sql) {
    if (!ok) return;
    ok = PQsendQueryParams(c, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    ++sent;
  };
  send_plain("BEGIN");
  std::unordered_set<std::string_view> notified;
  // The results of the conditional profile writes: (result index, op).
  std::vector<std::pair<int, std::size_t>> profile_results;
  for (std::size_t o = 0; o < batch.size(); ++o) {
    const WriteOp& op = batch[o];
    for (const Statement& st : op.statements) {
      if (op.profile_version != 0) profile_results.emplace_back(sent, o);
      send(st.id, st.params);
    }
    if (!op.notify.empty()) notified.insert(op.notify);
  }
  for (std::string_view payload : notified) send(postgresql::kNotifyStmt, {std::string(payload)});
  send_plain("COMMIT");
  ok = ok && PQpipelineSync(c) == 1;
  if (!ok) {
    const std::string why = error_message(c);
    writer_lost(why);
    return write_failed(why);
  }
  std::string first_error;
  std::size_t next_profile = 0;
  std::vector<std::size_t> conflicts;  // the profile writes that changed no row
  for (int i = 0; i < sent; ++i) {
    PgResult r(PQgetResult(c));
    if (!r) {
      const std::string why = error_message(c);
      writer_lost(why.empty() ? "the server closed the connection" : why);
      return write_failed(why);
    }
    const ExecStatusType st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && first_error.empty())
      first_error = st == PGRES_PIPELINE_ABORTED ? "aborted" : error_message(r.get());
    if (st == PGRES_FATAL_ERROR && PQstatus(c) != CONNECTION_OK) {
      writer_lost(first_error);
      return write_failed(first_error);
    }
    if (next_profile < profile_results.size() && profile_results[next_profile].first == i) {
      if (st == PGRES_COMMAND_OK && std::string_view(PQcmdTuples(r.get())) == "0")
        conflicts.push_back(profile_results[next_profile].second);
      ++next_profile;
    }
    PgResult end(PQgetResult(c));  // the NULL after each command's results
  }
  PgResult sync(PQgetResult(c));
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    const std::string why = error_message(c);
    writer_lost(why.empty() ? "pipeline out of step" : why);
    return write_failed(why);
  }
  if (PQexitPipelineMode(c) != 1) {
    writer_lost(error_message(c));
    return write_failed(error_message(c));
  }
  if (!first_error.empty()) return write_failed(first_error);
  // Committed: the profile writes other nodes got ahead of, merged, in
  // queue order (a later write of the same account merges onto the first).
  for (std::size_t o : conflicts)
    if (Status s = merge_profile(batch[o]); !s) return s;
  return {};
}

Status PostgresStore::merge_profile(const WriteOp& op) {
  const std::vector<std::optional<std::string>>& params = op.statements.front().params;
  const std::string& account = *params[0];
  auto mine = decode_profile(*params[1]);
  if (!mine) return write_failed("profile of " + account + ": " + mine.error().message);
  PGconn* c = writer_.get();
  auto failed = [&](const std::string& what) {
    const std::string why = "merging the profile of " + account + ": " + what;
    if (PQstatus(c) != CONNECTION_OK) writer_lost(why);
    return write_failed(why);
  };
  for (int attempt = 0; attempt < kMaxMergeAttempts; ++attempt) {
    const char* key[] = {account.c_str()};
    PgResult r(PQexecPrepared(c, postgresql::statement_name(postgresql::kProfileStmt), 1, key,
                              nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return failed(error_message(c));
    AccountProfile stored;
    std::string base = "0";
    if (PQntuples(r.get()) > 0) {
      auto p = decode_profile(PQgetvalue(r.get(), 0, 0));
      if (!p) return write_failed("profile of " + account + ": " + p.error().message);
      stored = std::move(*p);
      base = PQgetvalue(r.get(), 0, 1);
    }
    std::string data;
    {
      std::lock_guard lock(merge_mu_);
      data = encode_profile(merge_ ? merge_(stored, *mine) : *mine);
    }
    const std::string version = std::to_string(next_profile_version());
    const char* values[] = {account.c_str(), data.c_str(), version.c_str(), base.c_str()};
    PgResult w(PQexecPrepared(c, postgresql::statement_name(postgresql::kPutProfileIfStmt), 4,
                              values, nullptr, nullptr, 0));
    if (PQresultStatus(w.get()) != PGRES_COMMAND_OK) return failed(error_message(c));
    if (std::string_view(PQcmdTuples(w.get())) != "1") continue;  // another write got in again
    profile_merges_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(merge_mu_);
    if (merged_) merged_(account, op.profile_version);
    return {};
  }
  return write_failed("profile of " + account + ": other nodes wrote it " +
                      std::to_string(kMaxMergeAttempts) + " times while it was being merged");
}

std::uint64_t PostgresStore::next_profile_version() {
  for (;;) {
    // splitmix64 of a distinct input each time: distinct outputs.
    std::uint64_t z = version_start_ + versions_issued_.fetch_add(1, std::memory_order_relaxed) *
                                           0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z = (z ^ (z >> 31)) >> 1;  // a positive bigint
    if (z > 1) return z;       // 0: none stored; 1: stored before versions
  }
}

void PostgresStore::on_profile_conflict(ProfileMerge merge, ProfileMerged merged) {
  std::lock_guard lock(merge_mu_);
  merge_ = std::move(merge);
  merged_ = std::move(merged);
}

void PostgresStore::between_batches() {
  if (drop_) {
    const TimePoint before = *drop_;
    drop_.reset();
    if (Status s = drop_partitions(before); !s)
      log_warn("store " + url_.redacted + ": activity retention: " + s.error().message +
               " (tried again at the next prune)");
  }
  if (!writer_ || PQstatus(writer_.get()) != CONNECTION_OK) return;
  const std::int64_t today = postgresql::utc_day(clock_.now());
  if (today != ahead_checked_day_ || Clock_::now() - ahead_checked_ > std::chrono::hours(1)) {
    std::set<std::int64_t> days;
    for (int d = 0; d <= options_.partitions_ahead; ++d) days.insert(today + d);
    if (ensure_partitions(days)) {
      ahead_checked_day_ = today;
      ahead_checked_ = Clock_::now();
    }
  }
}

Status PostgresStore::drop_partitions(TimePoint before) {
  if (!writer_ || PQstatus(writer_.get()) != CONNECTION_OK) return write_failed("no connection");
  auto parts = activity_partitions();
  if (!parts) return parts.error();
  std::string sql;
  std::vector<std::int64_t> dropped;
  for (const std::string& p : *parts) {
    auto day = postgresql::activity_partition_day(p);
    if (!day || (*day + 1) * 86'400'000 > to_unix_ms(before)) continue;
    sql += "DROP TABLE IF EXISTS " + p + ";";
    dropped.push_back(*day);
  }
  if (sql.empty()) return {};
  const auto start = Clock_::now();
  PgResult r(PQexec(writer_.get(),
                    (std::string("BEGIN;") + kPartitionLock + ";" + sql + "COMMIT").c_str()));
  latency_[kDdlTrip].observe(Clock_::now() - start);
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    errors_[kDdlTrip].fetch_add(1, std::memory_order_relaxed);
    const std::string why = error_message(writer_.get());
    if (PQtransactionStatus(writer_.get()) != PQTRANS_IDLE)
      PgResult(PQexec(writer_.get(), "ROLLBACK"));
    return write_failed("dropping activity partitions: " + why);
  }
  for (std::int64_t d : dropped) known_days_.erase(d);
  partitions_dropped_.fetch_add(dropped.size(), std::memory_order_relaxed);
  return {};
}

// ---- reads ----

Status PostgresStore::read(int id, const std::vector<std::optional<std::string>>& params,
                           const std::function<Status(const PGresult*, int)>& on_row) {
  auto conn = pool_->take();
  if (!conn) {
    errors_[kReadTrip].fetch_add(1, std::memory_order_relaxed);
    return read_failed(conn.error().message);
  }
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const auto start = Clock_::now();
  PgResult r(PQexecPrepared(conn->get(), postgresql::statement_name(id),
                            static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0));
  latency_[kReadTrip].observe(Clock_::now() - start);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    errors_[kReadTrip].fetch_add(1, std::memory_order_relaxed);
    const std::string why = error_message(conn->get());
    pool_->give(std::move(*conn));
    return read_failed(why);
  }
  pool_->give(std::move(*conn));
  const int n = PQntuples(r.get());
  for (int i = 0; i < n; ++i)
    if (Status s = on_row(r.get(), i); !s) return s;
  return {};
}

template <typename T, typename ReadRow>
Result<std::vector<T>> PostgresStore::read_all(
    int id, const std::vector<std::optional<std::string>>& params, ReadRow read_row) {
  std::vector<T> rows;
  Status s = read(id, params, [&](const PGresult* r, int i) -> Status {
    Result<T> v = read_row(r, i);
    if (!v) return v.error();
    rows.push_back(std::move(*v));
    return {};
  });
  if (!s) return s.error();
  return rows;
}

template <typename T, typename ReadRow>
Result<std::optional<T>> PostgresStore::read_first(
    int id, const std::vector<std::optional<std::string>>& params, ReadRow read_row) {
  Result<std::vector<T>> rows = read_all<T>(id, params, read_row);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

Result<std::vector<ActivityRecord>> PostgresStore::activity(std::string_view account,
                                                            TimePoint since, std::size_t limit) {
  return read_all<ActivityRecord>(postgresql::kActivityStmt,
                                  {std::string(account), ms(since), postgresql::limit_text(limit)},
                                  postgresql::read_activity);
}

Status PostgresStore::failed_logins_since(TimePoint since, std::size_t limit,
                                          const std::function<void(const ActivityRecord&)>& fn) {
  ActivityRecord rec;
  rec.type = EventType::kLoginResult;
  rec.success = false;
  return read(postgresql::kFailedLoginsStmt, {ms(since), postgresql::limit_text(limit)},
              [&](const PGresult* r, int i) -> Status {
                rec.time = from_unix_ms(std::atoll(PQgetvalue(r, i, 0)));
                rec.account = PQgetvalue(r, i, 1);
                auto ip = IpAddress::parse(PQgetvalue(r, i, 2));
                if (!ip) return read_failed("bad ip in the activity of " + rec.account);
                rec.ip = *ip;
                fn(rec);
                return {};
              });
}

Result<AccountProfile> PostgresStore::profile(std::string_view account) {
  std::optional<std::string> data;
  std::uint64_t version = 0;
  Status s = read(postgresql::kProfileStmt, {std::string(account)},
                  [&](const PGresult* r, int i) -> Status {
                    data = PQgetvalue(r, i, 0);
                    version = std::strtoull(PQgetvalue(r, i, 1), nullptr, 10);
                    return {};
                  });
  if (!s) return s.error();
  if (!data) return AccountProfile{};
  auto p = decode_profile(*data);
  if (!p) return read_failed("profile of " + std::string(account) + ": " + p.error().message);
  p->version = version;
  return *p;
}

Result<std::vector<AccountProfile>> PostgresStore::profiles(
    const std::vector<std::string>& accounts) {
  // account -> (encoded profile, version)
  std::unordered_map<std::string, std::pair<std::string, std::uint64_t>> data;
  Status s = read(postgresql::kProfilesStmt, {postgresql::text_array(accounts)},
                  [&](const PGresult* r, int i) -> Status {
                    data.emplace(PQgetvalue(r, i, 0),
                                 std::pair(std::string(PQgetvalue(r, i, 1)),
                                           std::strtoull(PQgetvalue(r, i, 2), nullptr, 10)));
                    return {};
                  });
  if (!s) return s.error();
  std::vector<AccountProfile> out(accounts.size());
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    auto it = data.find(accounts[i]);
    if (it == data.end()) continue;
    auto p = decode_profile(it->second.first);
    if (!p) return read_failed("profile of " + accounts[i] + ": " + p.error().message);
    p->version = it->second.second;
    out[i] = std::move(*p);
  }
  return out;
}

Result<std::optional<AccountRecord>> PostgresStore::account(std::string_view account) {
  return read_first<AccountRecord>(postgresql::kAccountStmt, {std::string(account)},
                                   postgresql::read_account);
}

Result<std::vector<AccountRecord>> PostgresStore::locked_accounts() {
  return read_all<AccountRecord>(postgresql::kLockedAccountsStmt, {}, postgresql::read_account);
}

Result<std::vector<ListEntry>> PostgresStore::list_entries() {
  return read_all<ListEntry>(postgresql::kListEntriesStmt, {}, postgresql::read_list_entry);
}

Result<std::vector<Incident>> PostgresStore::incidents(TimePoint since) {
  return read_all<Incident>(postgresql::kIncidentsStmt, {ms(since)}, postgresql::read_incident);
}

Result<std::optional<Incident>> PostgresStore::incident(std::string_view id) {
  return read_first<Incident>(postgresql::kIncidentStmt, {std::string(id)},
                              postgresql::read_incident);
}

Result<std::vector<IncidentAccount>> PostgresStore::incident_accounts(std::string_view id) {
  return read_all<IncidentAccount>(postgresql::kIncidentAccountsStmt, {std::string(id)},
                                   postgresql::read_incident_account);
}

Result<std::vector<Incident>> PostgresStore::incidents_for_account(std::string_view account) {
  return read_all<Incident>(postgresql::kIncidentsForAccountStmt, {std::string(account)},
                            postgresql::read_incident);
}

Result<std::vector<Block>> PostgresStore::blocks(TimePoint now) {
  return read_all<Block>(postgresql::kBlocksStmt, {ms(now)}, postgresql::read_block);
}

Result<std::optional<Block>> PostgresStore::block(std::string_view scope, std::string_view key) {
  return read_first<Block>(postgresql::kBlockStmt, {std::string(scope), std::string(key)},
                           postgresql::read_block);
}

Result<std::optional<TotpRecord>> PostgresStore::totp(std::string_view account) {
  return read_first<TotpRecord>(postgresql::kTotpStmt, {std::string(account)},
                                postgresql::read_totp);
}

Result<std::optional<TimePoint>> PostgresStore::owner_action(std::string_view key) {
  std::optional<TimePoint> at;
  Status s =
      read(postgresql::kOwnerActionStmt, {std::string(key), ms(clock_.now() - kOwnerClaimLease)},
           [&](const PGresult* r, int i) -> Status {
             at = from_unix_ms(std::atoll(PQgetvalue(r, i, 0)));
             return {};
           });
  if (!s) return s.error();
  return at;
}

Result<std::optional<WriteTicket>> PostgresStore::claim_owner_action(std::string key,
                                                                     std::string account,
                                                                     TimePoint at) {
  bool inserted = false;
  Status s = read(postgresql::kClaimOwnerActionStmt, {std::move(key), std::move(account), ms(at)},
                  [&](const PGresult*, int) -> Status {
                    inserted = true;
                    return {};
                  });
  if (!s) return s.error();
  if (!inserted) return std::optional<WriteTicket>();
  return std::optional<WriteTicket>(WriteTicket{0});
}

Result<std::optional<WriteTicket>> PostgresStore::claim_owner_action_for_writes(std::string key,
                                                                                std::string account,
                                                                                TimePoint at) {
  bool claimed = false;
  Status s = read(postgresql::kClaimOwnerActionForWritesStmt,
                  {key, std::move(account), ms(at), ms(at - kOwnerClaimLease)},
                  [&](const PGresult*, int) -> Status {
                    claimed = true;
                    return {};
                  });
  if (!s) return s.error();
  if (!claimed) return std::optional<WriteTicket>();
  const WriteTicket t = enqueue_one(postgresql::kConfirmOwnerActionStmt, {key, ms(at)});
  // Its batch failed: the claim is undone at once, so the owner's next try
  // acts (if this write fails too, the claim lapses after the lease).
  commits_.on_committed(t, [this, key, at](const Status& st) {
    if (!st) enqueue_one(postgresql::kReleaseOwnerActionStmt, {key, ms(at)});
  });
  return std::optional<WriteTicket>(t);
}

Result<std::vector<AuditRecord>> PostgresStore::audit(const AuditQuery& q) {
  return read_all<AuditRecord>(postgresql::kAuditStmt, postgresql::audit_query_params(q),
                               postgresql::read_audit);
}

Result<std::optional<OperatorRecord>> PostgresStore::operator_account(std::string_view name) {
  return read_first<OperatorRecord>(postgresql::kOperatorStmt, {std::string(name)},
                                    postgresql::read_operator);
}

Result<std::vector<OperatorRecord>> PostgresStore::operator_accounts() {
  return read_all<OperatorRecord>(postgresql::kOperatorsStmt, {}, postgresql::read_operator);
}

Result<std::vector<OutboxItem>> PostgresStore::due_outbox(TimePoint now, std::size_t limit) {
  return read_all<OutboxItem>(postgresql::kDueOutboxStmt, {ms(now), postgresql::limit_text(limit)},
                              postgresql::read_outbox_item);
}

Result<OutboxCounts> PostgresStore::outbox_counts() {
  OutboxCounts counts;
  Status s = read(postgresql::kOutboxCountsStmt, {}, [&](const PGresult* r, int i) -> Status {
    const std::string state = PQgetvalue(r, i, 0);
    const std::string channel = PQgetvalue(r, i, 1);
    const std::int64_t n = std::atoll(PQgetvalue(r, i, 2));
    auto c = outbox_channel_from_string(channel);
    if (!c) return read_failed("unknown channel '" + channel + "' in outbox");
    const auto idx = static_cast<std::size_t>(*c);
    if (state == "pending") {
      counts.pending[idx] = n;
      const TimePoint next = from_unix_ms(std::atoll(PQgetvalue(r, i, 3)));
      if (!counts.next_attempt || next < *counts.next_attempt) counts.next_attempt = next;
    } else {
      counts.failed[idx] = n;
    }
    return {};
  });
  if (!s) return s.error();
  return counts;
}

Result<std::vector<std::string>> PostgresStore::activity_partitions() {
  std::vector<std::string> names;
  Status s = read(postgresql::kPartitionsStmt, {}, [&](const PGresult* r, int i) -> Status {
    names.emplace_back(PQgetvalue(r, i, 0));
    return {};
  });
  if (!s) return s.error();
  return names;
}

// ---- writes ----

WriteTicket PostgresStore::enqueue_one(int id, std::vector<std::optional<std::string>> params,
                                       std::string notify) {
  WriteOp op;
  op.statements.push_back(Statement{id, std::move(params)});
  if (notify.size() <= kMaxNotifyPayload) op.notify = std::move(notify);
  return enqueue(std::move(op));
}

WriteTicket PostgresStore::append_activity(const ActivityRecord& r) {
  WriteOp op;
  op.statements.push_back(
      Statement{postgresql::kAppendActivityStmt, postgresql::activity_params(r)});
  op.day = postgresql::utc_day(r.time);
  return enqueue(std::move(op));
}

WriteTicket PostgresStore::prune_activity(TimePoint before) {
  WriteOp op;
  op.drop_before = before;
  return enqueue(std::move(op));
}

WriteTicket PostgresStore::put_profile(std::string account, AccountProfile& profile) {
  WriteOp op;
  op.profile_version = next_profile_version();
  op.statements.push_back(
      Statement{postgresql::kPutProfileIfStmt,
                {std::move(account), encode_profile(profile), std::to_string(op.profile_version),
                 std::to_string(profile.version)}});
  profile.version = op.profile_version;
  return enqueue(std::move(op));
}

WriteTicket PostgresStore::put_lock(std::string account, LockInfo lock) {
  std::string notify = encode_record_change(RecordChange::Kind::kLock, account);
  return enqueue_one(postgresql::kPutLockStmt,
                     {std::move(account), std::move(lock.reason), ms(lock.since),
                      postgresql::bool_text(lock.password_reset_required), std::move(lock.by)},
                     std::move(notify));
}

WriteTicket PostgresStore::clear_lock(std::string account) {
  std::string notify = encode_record_change(RecordChange::Kind::kLock, account);
  return enqueue_one(postgresql::kClearLockStmt, {std::move(account)}, std::move(notify));
}

WriteTicket PostgresStore::put_contact(std::string account, Contact contact) {
  return enqueue_one(postgresql::kPutContactStmt,
                     {std::move(account), std::move(contact.email), std::move(contact.lang),
                      postgresql::bool_text(contact.notify), std::move(contact.time_zone)});
}

WriteTicket PostgresStore::put_last_login(std::string account, LastLogin login) {
  return enqueue_one(
      postgresql::kPutLastLoginStmt,
      {std::move(account), ms(login.time), login.ip.to_string(), std::move(login.country)});
}

WriteTicket PostgresStore::put_list_entry(ListEntry e) {
  std::string notify = encode_record_change(RecordChange::Kind::kListEntry, e.id);
  std::optional<std::string> expires;
  if (e.expires) expires = ms(*e.expires);
  return enqueue_one(postgresql::kPutListEntryStmt,
                     {std::move(e.id), std::string(to_string(e.kind)), std::move(e.target),
                      std::move(e.reason), ms(e.created), std::move(expires)},
                     std::move(notify));
}

WriteTicket PostgresStore::delete_list_entry(std::string id) {
  std::string notify = encode_record_change(RecordChange::Kind::kListEntry, id);
  return enqueue_one(postgresql::kDeleteListEntryStmt, {std::move(id)}, std::move(notify));
}

WriteTicket PostgresStore::put_incident(Incident i) {
  std::string notify = encode_record_change(RecordChange::Kind::kIncident, i.id);
  return enqueue_one(postgresql::kPutIncidentStmt, postgresql::incident_params(i),
                     std::move(notify));
}

WriteTicket PostgresStore::put_incident_account(std::string incident_id, IncidentAccount a) {
  std::string notify = encode_record_change(RecordChange::Kind::kIncident, incident_id);
  return enqueue_one(postgresql::kPutIncidentAccountStmt,
                     postgresql::incident_account_params(incident_id, a), std::move(notify));
}

WriteTicket PostgresStore::put_incident_counts(IncidentCounts counts,
                                               std::optional<IncidentAccount> a) {
  WriteOp op;
  op.statements.push_back(
      Statement{postgresql::kPutIncidentCountsStmt,
                {counts.id, ms(counts.last_seen), std::to_string(counts.accounts_targeted),
                 std::to_string(counts.accounts_compromised)}});
  if (a)
    op.statements.push_back(Statement{postgresql::kPutIncidentAccountStmt,
                                      postgresql::incident_account_params(counts.id, *a)});
  op.notify = encode_record_change(RecordChange::Kind::kIncident, counts.id);
  if (op.notify.size() > kMaxNotifyPayload) op.notify.clear();
  return enqueue(std::move(op));
}

WriteTicket PostgresStore::put_block(Block b) {
  std::string notify = encode_record_change(RecordChange::Kind::kBlock, b.scope + ":" + b.key);
  return enqueue_one(
      postgresql::kPutBlockStmt,
      {std::move(b.scope), std::move(b.key), std::string(to_string(b.reason)),
       std::string(to_string(b.action)), ms(b.since), ms(b.until), std::move(b.incident_id)},
      std::move(notify));
}

WriteTicket PostgresStore::delete_block(std::string scope, std::string key) {
  std::string notify = encode_record_change(RecordChange::Kind::kBlock, scope + ":" + key);
  return enqueue_one(postgresql::kDeleteBlockStmt, {std::move(scope), std::move(key)},
                     std::move(notify));
}

WriteTicket PostgresStore::prune_blocks(TimePoint before) {
  return enqueue_one(postgresql::kPruneBlocksStmt, {ms(before)});
}

WriteTicket PostgresStore::put_totp(TotpRecord r) {
  return enqueue_one(postgresql::kPutTotpStmt, postgresql::totp_params(r));
}

WriteTicket PostgresStore::delete_totp(std::string account) {
  return enqueue_one(postgresql::kDeleteTotpStmt, {std::move(account)});
}

WriteTicket PostgresStore::put_owner_action(std::string key, std::string account, TimePoint at) {
  return enqueue_one(postgresql::kPutOwnerActionStmt, {std::move(key), std::move(account), ms(at)});
}

WriteTicket PostgresStore::append_audit(AuditRecord r) {
  return enqueue_one(postgresql::kAppendAuditStmt, postgresql::audit_params(r));
}

WriteTicket PostgresStore::put_operator(OperatorRecord r) {
  return enqueue_one(postgresql::kPutOperatorStmt, postgresql::operator_params(r));
}

WriteTicket PostgresStore::delete_operator(std::string name) {
  return enqueue_one(postgresql::kDeleteOperatorStmt, {std::move(name)});
}

WriteTicket PostgresStore::enqueue_outbox(OutboxItem i) {
  return enqueue_one(postgresql::kEnqueueOutboxStmt,
                     {std::move(i.id), std::string(to_string(i.channel)), std::move(i.destination),
                      std::move(i.payload), ms(i.created), std::to_string(i.attempts),
                      ms(i.next_attempt), std::move(i.last_error)});
}

WriteTicket PostgresStore::outbox_delivered(std::string id, TimePoint when) {
  return enqueue_one(postgresql::kOutboxDeliveredStmt, {std::move(id), ms(when)});
}

WriteTicket PostgresStore::outbox_retry(std::string id, TimePoint next_attempt, std::string error) {
  return enqueue_one(postgresql::kOutboxRetryStmt,
                     {std::move(id), ms(next_attempt), std::move(error)});
}

WriteTicket PostgresStore::outbox_failed(std::string id, TimePoint when, std::string error) {
  return enqueue_one(postgresql::kOutboxFailedStmt, {std::move(id), ms(when), std::move(error)});
}

WriteTicket PostgresStore::prune_outbox(TimePoint before) {
  return enqueue_one(postgresql::kPruneOutboxStmt, {ms(before)});
}

// ---- other nodes' changes ----

void PostgresStore::listen(RecordChangeSink* sink) {
  listener_ = std::thread([this, sink] { listen_loop(sink); });
}

void PostgresStore::deliver(RecordChangeSink* sink, std::string_view payload) {
  auto change = parse_record_change(payload);
  if (!change) {
    log_warn_limited("pg_notify", "store postgresql: unknown change notification '" +
                                      std::string(payload.substr(0, 100)) + "' ignored");
    return;
  }
  // Counted once the sink has it.
  struct Count {
    std::atomic<std::uint64_t>& n;
    ~Count() { n.fetch_add(1, std::memory_order_relaxed); }
  } count{notifications_};
  if (change->kind == RecordChange::Kind::kLock) {
    auto a = account(change->key);
    if (!a) {
      sink->records_resync();  // read back later, whole
      return;
    }
    if (*a) change->lock = (**a).lock;
  } else if (change->kind == RecordChange::Kind::kBlock) {
    const auto colon = change->key.find(':');
    auto b = block(std::string_view(change->key).substr(0, colon),
                   std::string_view(change->key).substr(colon + 1));
    if (!b) {
      sink->records_resync();
      return;
    }
    change->block = std::move(*b);
  }
  sink->record_changed(*change);
}

void PostgresStore::listen_loop(RecordChangeSink* sink) {
  auto backoff = kBackoffMin;
  bool lost = false;
  auto stopping = [&](std::chrono::milliseconds wait) {
    std::unique_lock lock(stop_mu_);
    return stop_cv_.wait_for(lock, wait, [&] { return stopping_; });
  };
  while (!stopping(std::chrono::milliseconds(0))) {
    auto c = postgresql::connect(url_, "store_read_failed");
    if (c) {
      PgResult r(PQexec(c->get(), "LISTEN mamori_records"));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
        c = make_error("pg", error_message(c->get()));
    }
    if (!c) {
      if (stopping(backoff)) return;
      backoff = std::min<std::chrono::milliseconds>(kBackoffMax, backoff * 2);
      continue;
    }
    backoff = kBackoffMin;
    if (lost) {
      listener_reconnects_.fetch_add(1, std::memory_order_relaxed);
      log_info("store " + url_.redacted + ": listening to other nodes' changes again; reloading");
    }
    // Changes made before LISTEN took effect (since the engine loaded, or
    // while the connection was down) are read whole.
    sink->records_resync();
    PGconn* conn = c->get();
    for (;;) {
      pollfd p{PQsocket(conn), POLLIN, 0};
      const int n = ::poll(&p, 1, 200);
      if (stopping(std::chrono::milliseconds(0))) return;
      if (n < 0) continue;
      if (PQconsumeInput(conn) == 0) break;
      // Everything that arrived, in order; the lists are read whole, so
      // several list changes in one go need one reload.
      std::vector<std::string> payloads;
      bool lists_changed = false;
      while (PGnotify* note = PQnotifies(conn)) {
        if (note->be_pid != writer_pid_.load(std::memory_order_relaxed)) {
          std::string payload = note->extra != nullptr ? note->extra : "";
          const bool list = payload.starts_with("list:");
          if (!list || !lists_changed) payloads.push_back(std::move(payload));
          lists_changed = lists_changed || list;
        }
        PQfreemem(note);
      }
      for (const std::string& payload : payloads) deliver(sink, payload);
    }
    log_warn("store " + url_.redacted + ": the connection listening to other nodes' changes " +
             "was lost (" + error_message(conn) + "); reconnecting");
    lost = true;
  }
}

// ---- metrics ----

void PostgresStore::render_metrics(std::string& out) const {
  commits_.render_metrics(out);
  static constexpr const char* kOps[kRoundTripCount] = {"commit", "read", "ddl"};
  char line[256];
  out +=
      "# HELP mamori_pg_round_trips_total Round trips to PostgreSQL by kind (a commit is one "
      "pipelined batch).\n# TYPE mamori_pg_round_trips_total counter\n";
  for (int i = 0; i < kRoundTripCount; ++i) {
    std::snprintf(line, sizeof line, "mamori_pg_round_trips_total{op=\"%s\"} %llu\n", kOps[i],
                  static_cast<unsigned long long>(latency_[static_cast<std::size_t>(i)].count()));
    out += line;
  }
  out +=
      "# HELP mamori_pg_round_trip_seconds Time of a round trip to PostgreSQL by kind.\n"
      "# TYPE mamori_pg_round_trip_seconds histogram\n";
  for (int i = 0; i < kRoundTripCount; ++i) {
    const std::string labels = std::string("op=\"") + kOps[i] + "\"";
    latency_[static_cast<std::size_t>(i)].render(out, "mamori_pg_round_trip_seconds",
                                                 labels.c_str());
  }
  out +=
      "# HELP mamori_pg_errors_total Failed round trips to PostgreSQL by kind.\n"
      "# TYPE mamori_pg_errors_total counter\n";
  for (int i = 0; i < kRoundTripCount; ++i) {
    std::snprintf(line, sizeof line, "mamori_pg_errors_total{op=\"%s\"} %llu\n", kOps[i],
                  static_cast<unsigned long long>(
                      errors_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed)));
    out += line;
  }
  std::snprintf(line, sizeof line,
                "# HELP mamori_pg_available Whether the writer's connection to PostgreSQL is up.\n"
                "# TYPE mamori_pg_available gauge\nmamori_pg_available %d\n",
                connected_.load() ? 1 : 0);
  out += line;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
                  name, static_cast<unsigned long long>(v));
    out += line;
  };
  counter("mamori_pg_reconnects_total", "Times the writer connected again after losing PostgreSQL.",
          reconnects_.load());
  counter("mamori_pg_notifications_total", "Other nodes' record changes applied.",
          notifications_.load());
  counter("mamori_pg_listener_reconnects_total",
          "Times the listener of other nodes' changes connected again.",
          listener_reconnects_.load());
  counter("mamori_pg_partitions_dropped_total", "Activity partitions dropped by retention.",
          partitions_dropped_.load());
  counter("mamori_pg_profile_merges_total",
          "Profile writes that met another node's and were stored merged with it.",
          profile_merges_.load());
}

}  // namespace mamori::store
