// SqliteStore: opening, checking and closing the store, the writer's
// transactions (with the participant's part), the pool of read connections
// and the checkpoints. The roles' statements, operations and reads are in
// sqlite_records.cc and sqlite_outbox.cc; the schema in sqlite_schema.cc,
// the tables it moves out in sqlite_legacy.cc.

#include "store/sqlite/sqlite_store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/log.h"
#include "store/sqlite/data_dir_lock.h"
#include "store/sqlite/sqlite_internal.h"

namespace mamori::store {

namespace sqlite {

void close_db(sqlite3* db) {
  if (db != nullptr) sqlite3_close_v2(db);
}

Result<sqlite3*> open_db(const std::string& path, int flags, std::chrono::milliseconds busy) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_message(db, rc);
    close_db(db);
    return open_error(path, msg);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy.count()));
  return db;
}

Result<std::string> exec_value(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  if (rc != SQLITE_OK) return make_error("sqlite", db_message(db, rc));
  std::string value;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_count(st) > 0 && sqlite3_column_type(st, 0) != SQLITE_NULL)
      value = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  std::string msg = rc == SQLITE_DONE ? std::string() : db_message(db, rc);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return make_error("sqlite", msg);
  return value;
}

Status exec_script(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  std::string msg = err != nullptr ? std::string(err) : db_message(db, rc);
  sqlite3_free(err);
  return make_error("sqlite", msg);
}

}  // namespace sqlite

using sqlite::check_database;
using sqlite::check_database_present;
using sqlite::check_identity;
using sqlite::close_db;
using sqlite::exec_script;
using sqlite::exec_value;
using sqlite::open_db;
using sqlite::open_error;
using sqlite::prepare_database;
using sqlite::read_error;
using sqlite::write_error;

namespace {

using sqlite::kReadStmtCount;
using sqlite::kWriterStmtCount;

// The SQL of every statement, gathered from the roles' files.
struct Statements {
  std::array<const char*, kWriterStmtCount> writer{};
  std::array<const char*, kReadStmtCount> read{};
};

const Statements& statements() {
  static const Statements all = [] {
    Statements s;
    s.writer[sqlite::kBegin] = "BEGIN IMMEDIATE";
    s.writer[sqlite::kCommit] = "COMMIT";
    s.writer[sqlite::kRollback] = "ROLLBACK";
    for (const sqlite::RoleSql& role : {sqlite::record_sql(), sqlite::outbox_sql()}) {
      for (const auto& [id, sql] : role.writer) s.writer.at(static_cast<std::size_t>(id)) = sql;
      for (const auto& [id, sql] : role.read) s.read.at(static_cast<std::size_t>(id)) = sql;
    }
    return s;
  }();
  return all;
}

// Prepares every statement of `sql` (a statement without SQL is a
// programming error, reported as a failure to open).
template <size_t N>
Status prepare_all(sqlite3* db, const std::array<const char*, N>& sql, sqlite3_stmt** out) {
  for (size_t i = 0; i < N; ++i) {
    if (sql[i] == nullptr)
      return make_error("sqlite", "statement " + std::to_string(i) + " has no SQL");
    const int rc = sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &out[i], nullptr);
    if (rc != SQLITE_OK) return make_error("sqlite", sqlite::db_message(db, rc) + " in: " + sql[i]);
  }
  return {};
}

}  // namespace

// A read connection keeps its read transaction (its snapshot) from one read
// to the next for as long as nothing was committed meanwhile: beginning and
// ending one costs two file-lock calls and the WAL index lookups, more than a
// profile read itself.
struct SqliteStore::ReadConnection {
  sqlite3* db = nullptr;
  std::array<sqlite3_stmt*, kReadStmtCount> stmts{};
  sqlite3_stmt* begin = nullptr;  // BEGIN (deferred: the snapshot is taken by the first read)
  sqlite3_stmt* end = nullptr;    // COMMIT
  bool in_snapshot = false;
  WriteTicket snapshot = 0;  // committed() just before the snapshot began

  // Reads that see every write committed up to `committed`.
  Status use_snapshot(WriteTicket committed) {
    if (in_snapshot && snapshot == committed) return {};
    end_snapshot();
    const int rc = sqlite3_step(begin);
    sqlite3_reset(begin);
    if (rc != SQLITE_DONE) return read_error(db, rc);
    in_snapshot = true;
    snapshot = committed;
    return {};
  }
  void end_snapshot() {
    if (!in_snapshot) return;
    in_snapshot = false;
    (void)sqlite3_step(end);
    sqlite3_reset(end);
    // A failed COMMIT of a read transaction leaves it open; roll it back.
    if (sqlite3_get_autocommit(db) == 0) (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  ReadConnection() = default;
  ReadConnection(const ReadConnection&) = delete;
  ReadConnection& operator=(const ReadConnection&) = delete;
  ~ReadConnection() {
    end_snapshot();
    for (sqlite3_stmt* st : stmts) sqlite3_finalize(st);
    sqlite3_finalize(begin);
    sqlite3_finalize(end);
    close_db(db);
  }
};

// ---- open / close ----

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& data_dir) {
  return open(data_dir, SqliteStoreOptions{});
}

Status SqliteStore::check(const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir(data_dir);
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return open_error(data_dir, "not a directory");
    if (::access(data_dir.c_str(), W_OK | X_OK) != 0)
      return open_error(data_dir, std::string("not writable: ") + std::strerror(errno));
  } else {
    fs::path parent = fs::absolute(dir, ec).parent_path();
    while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.parent_path())
      parent = parent.parent_path();
    if (::access(parent.c_str(), W_OK | X_OK) != 0)
      return open_error(data_dir, "cannot be created: " + parent.string() + " is not writable (" +
                                      std::strerror(errno) + ")");
    return {};
  }
  const std::string path = (dir / "mamori.db").string();
  if (Status s = check_database_present(data_dir, path); !s) return s;
  if (!fs::exists(path, ec) || fs::file_size(path, ec) == 0) return {};
  auto db = open_db(path, SQLITE_OPEN_READONLY, std::chrono::milliseconds(1000));
  if (!db) return db.error();
  const Status s = check_database(*db, data_dir, path);
  close_db(*db);
  return s;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& data_dir,
                                                       const SqliteStoreOptions& options) {
  if (sqlite3_threadsafe() == 0)
    return open_error(data_dir, "sqlite3 was built without thread support");
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return open_error(data_dir, "cannot create directory: " + ec.message());
  const std::string path = (std::filesystem::path(data_dir) / "mamori.db").string();
  auto claim = DataDirLock::acquire(data_dir);
  if (!claim) return claim.error();
  if (Status s = check_database_present(data_dir, path); !s) return s.error();

  auto db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.busy_timeout);
  if (!db) return db.error();
  if (Status s = prepare_database(*db, path, options.move_legacy_rows); !s) {
    close_db(*db);
    return s.error();
  }
  if (Status s = check_identity(*db, data_dir, path); !s) {
    close_db(*db);
    return s.error();
  }
  // The store owns the connection from here; its destructor closes it.
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options, *db));
  store->claim_.emplace(std::move(*claim));
  // The writer's page cache (32 MiB) holds the index pages that every batch
  // touches. The writer never checkpoints (a checkpoint's writes and fsync
  // would stall every commit behind it): checkpoint_loop does, passively.
  if (Status s = exec_script(*db, "PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=0"); !s)
    return open_error(path, s.error().message);
  auto checkpointer = open_db(path, SQLITE_OPEN_READWRITE, options.busy_timeout);
  if (!checkpointer) return checkpointer.error();
  // A connection knows the file is in WAL mode only once it has read it; a
  // checkpoint before that does nothing (and says so only by -1 counts).
  if (auto mode = exec_value(*checkpointer, "PRAGMA journal_mode"); !mode || *mode != "wal") {
    close_db(*checkpointer);
    return open_error(path, "checkpoint connection is not in WAL mode");
  }
  store->checkpoint_thread_ =
      std::thread([s = store.get(), c = *checkpointer] { s->checkpoint_loop(c); });
  // After each commit: wake the checkpointer once the WAL is long enough.
  sqlite3_wal_hook(
      *db,
      [](void* arg, sqlite3*, const char*, int pages) {
        auto* s = static_cast<SqliteStore*>(arg);
        if (pages < s->options_.checkpoint_pages ||
            s->restart_wanted_.load(std::memory_order_acquire))
          return SQLITE_OK;
        {
          std::lock_guard lock(s->checkpoint_mu_);
          if (s->checkpoint_wanted_) return SQLITE_OK;
          s->checkpoint_wanted_ = true;
        }
        s->checkpoint_cv_.notify_one();
        return SQLITE_OK;
      },
      store.get());
  if (Status s = prepare_all(*db, statements().writer, store->writer_stmts_.data()); !s)
    return open_error(path, s.error().message);
  // A first read connection, so a database readers cannot use fails here.
  Status probe = store->with_read_stmt(sqlite::kIncident, [](sqlite3_stmt*) { return Status{}; });
  if (!probe) return open_error(path, probe.error().message);
  store->commits_.start(
      [s = store.get()](const std::vector<WriteOp>& batch) { return s->apply_batch(batch); },
      [s = store.get()] { s->between_batches(); });
  return store;
}

SqliteStore::SqliteStore(std::string path, SqliteStoreOptions options, sqlite3* writer_db)
    : path_(std::move(path)),
      options_(options),
      writer_db_(writer_db),
      writer_stmts_(kWriterStmtCount, nullptr),
      commits_(path_) {}

namespace {
// Flushes the written pages of `db`'s database file (`which`
// SQLITE_FCNTL_FILE_POINTER) or of its WAL (SQLITE_FCNTL_JOURNAL_POINTER)
// through SQLite's own handle of it (the page cache is the file's, whoever
// wrote it). Never through a descriptor opened here: closing it would drop
// every POSIX lock this process holds on the file, SQLite's shared lock on
// the database among them, and another process closing its connection to the
// database (an sqlite3 shell) would then take itself for the last one and
// delete the WAL under the daemon, and the commits in it with it.
void flush_file(sqlite3* db, int which) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", which, &file) != SQLITE_OK || file == nullptr ||
      file->pMethods == nullptr)
    return;
  (void)file->pMethods->xSync(file, SQLITE_SYNC_NORMAL | SQLITE_SYNC_DATAONLY);
}
}  // namespace

void SqliteStore::checkpoint_loop(sqlite3* db) {
  pthread_setname_np(pthread_self(), "checkpoint");
  std::unique_lock lock(checkpoint_mu_);
  for (;;) {
    checkpoint_cv_.wait(lock, [&] { return checkpoint_stopping_ || checkpoint_wanted_; });
    if (checkpoint_stopping_) break;
    lock.unlock();
    // Passively, while commits go on, until a pass finds few frames
    // committed since the one before. Then the files' pages are flushed here
    // and one more pass copies what came meanwhile, so the writer's last pass
    // between two batches (finish_checkpoint) has little to copy and flush:
    // commits wait only for that.
    auto pass = [&](int& log_frames) {
      int copied = 0;
      return sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                       &copied);
    };
    int rc = SQLITE_OK;
    for (int n = 0, before = -1, frames = 0; n < kCheckpointPasses; ++n, before = frames) {
      rc = pass(frames);
      if (rc != SQLITE_OK || (before >= 0 && frames - before < kCheckpointTail)) break;
    }
    if (rc == SQLITE_OK) {
      flush_file(db, SQLITE_FCNTL_JOURNAL_POINTER);
      flush_file(db, SQLITE_FCNTL_FILE_POINTER);
      int frames = 0;
      rc = pass(frames);
    }
    if (rc == SQLITE_OK) {
      restart_wanted_.store(true, std::memory_order_release);
    } else if (rc != SQLITE_BUSY) {
      log_warn("store checkpoint of " + path_ + " failed: " + sqlite3_errstr(rc));
    }
    lock.lock();
    checkpoint_wanted_ = false;
  }
  lock.unlock();
  close_db(db);
}

void SqliteStore::render_metrics(std::string& out) const {
  commits_.render_metrics(out);
  out +=
      "# HELP mamori_store_checkpoints_total WAL checkpoints that let the log start over.\n"
      "# TYPE mamori_store_checkpoints_total counter\nmamori_store_checkpoints_total " +
      std::to_string(checkpoints()) + "\n";
}

// On the writer's thread, between batches, after the checkpoint thread's
// passes: copies the frames committed since, so that the whole log is in the
// database and the next commit starts the log over. A checkpoint on another
// connection never catches up with a writer that never pauses (and one asking
// for RESTART starves on the write lock); the log would grow with every
// commit.
void SqliteStore::finish_checkpoint() {
  // A reader's snapshot keeps the frames after it in the log: one taken
  // during the pass would stop the next commit from starting the log over.
  end_idle_snapshots();
  int log_frames = 0, copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(writer_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           &log_frames, &copied);
  end_idle_snapshots();
  if (rc == SQLITE_OK) {
    checkpoints_.fetch_add(1, std::memory_order_relaxed);
  } else if (rc != SQLITE_BUSY) {
    log_warn("store checkpoint of " + path_ + " failed: " + sqlite3_errstr(rc));
  }
}

// After a commit every snapshot is stale (the next read on its connection
// would end it anyway); ending the idle ones here lets go of the WAL frames
// they hold.
void SqliteStore::end_idle_snapshots() {
  std::lock_guard lock(readers_mu_);
  for (auto& r : idle_readers_) r->end_snapshot();
}

SqliteStore::~SqliteStore() {
  if (checkpoint_thread_.joinable()) {
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stopping_ = true;
    }
    checkpoint_cv_.notify_one();
    checkpoint_thread_.join();
  }
  commits_.stop();
  idle_readers_.clear();
  for (sqlite3_stmt* st : writer_stmts_) sqlite3_finalize(st);
  close_db(writer_db_);
}

// ---- the writer ----

void SqliteStore::between_batches() {
  if (restart_wanted_.exchange(false, std::memory_order_acq_rel)) {
    finish_checkpoint();
  } else {
    end_idle_snapshots();
  }
  if (options_.participant != nullptr) options_.participant->after_batch();
}

Status SqliteStore::apply_batch(const std::vector<WriteOp>& batch) {
  auto run = [&](int which, std::string_view doing) -> Status {
    sqlite3_stmt* st = writer_stmts_[static_cast<size_t>(which)];
    const int rc = sqlite3_step(st);
    Status s;
    if (rc != SQLITE_DONE) s = write_error(writer_db_, rc, doing);
    sqlite3_reset(st);
    return s;
  };
  BatchParticipant* const other = options_.participant;
  // A batch of the participant's writes alone (a login result's activity
  // and profile) needs no SQLite transaction: the participant's write is
  // its whole commit, and BEGIN IMMEDIATE / COMMIT would only take and
  // release the database's file locks.
  const bool sqlite_part = std::any_of(batch.begin(), batch.end(), [](const WriteOp& w) {
    return !std::holds_alternative<ForeignWrite>(static_cast<const WriteOp::variant&>(w));
  });
  if (!sqlite_part && other != nullptr) {
    Status s;
    for (const WriteOp& w : batch)
      if (s = other->stage(*std::get_if<ForeignWrite>(&w)); !s) break;
    if (s) s = other->write_staged();
    if (s) {
      other->publish_staged();
    } else {
      other->discard_staged();
    }
    return s;
  }
  if (Status s = run(sqlite::kBegin, "begin"); !s) return s;
  const sqlite::Writer writer{writer_db_, writer_stmts_.data()};
  Status s;
  for (const WriteOp& w : batch) {
    if (const auto* foreign = std::get_if<ForeignWrite>(&w)) {
      s = other != nullptr
              ? other->stage(*foreign)
              : make_error("store_write_failed", "a foreign write without participant");
    } else {
      s = std::visit(
          [&](const auto& op) -> Status {
            if constexpr (std::is_same_v<std::decay_t<decltype(op)>, ForeignWrite>) {
              return {};
            } else {
              return apply_write(writer, op);
            }
          },
          static_cast<const WriteOp::variant&>(w));
    }
    if (!s) break;
  }
  // The participant's part is durable before the commit that acknowledges it.
  if (s && other != nullptr) s = other->write_staged();
  if (s) s = run(sqlite::kCommit, "commit");
  if (s) {
    if (other != nullptr) other->publish_staged();
    return s;
  }
  // A failed COMMIT may leave the transaction open (SQLITE_BUSY); roll it back
  // so the next batch starts clean.
  if (sqlite3_get_autocommit(writer_db_) == 0) (void)run(sqlite::kRollback, "rollback");
  if (other != nullptr) other->discard_staged();
  return s;
}

WriteTicket SqliteStore::enqueue_foreign(ForeignWrite w) { return commits_.enqueue(std::move(w)); }

// ---- commits ----

Status SqliteStore::wait(WriteTicket t) { return commits_.wait(t); }
WriteTicket SqliteStore::drain() { return commits_.drain(); }
void SqliteStore::on_committed(WriteTicket t, std::function<void(const Status&)> done) {
  commits_.on_committed(t, std::move(done));
}
Status SqliteStore::status(const WriteSpan& span) const { return commits_.status(span); }
std::uint64_t SqliteStore::on_failed_commit(
    std::function<void(const WriteSpan&, const Error&)> fn) {
  return commits_.on_failed_commit(std::move(fn));
}
void SqliteStore::remove_failure_listener(std::uint64_t id) {
  commits_.remove_failure_listener(id);
}

// ---- reads ----

Status SqliteStore::with_read_stmt(int which, const std::function<Status(sqlite3_stmt*)>& fn) {
  std::unique_ptr<ReadConnection> conn;
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (!conn) {
    auto db = open_db(path_, SQLITE_OPEN_READWRITE, options_.busy_timeout);
    if (!db) return read_error(db.error().message);
    conn = std::make_unique<ReadConnection>();
    conn->db = *db;
    if (Status s = exec_script(conn->db, "PRAGMA query_only=1"); !s)
      return read_error("cannot open read connection to " + path_ + ": " + s.error().message);
    if (Status s = prepare_all(conn->db, statements().read, conn->stmts.data()); !s)
      return read_error("cannot prepare read statements on " + path_ + ": " + s.error().message);
    if (sqlite3_prepare_v2(conn->db, "BEGIN", -1, &conn->begin, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(conn->db, "COMMIT", -1, &conn->end, nullptr) != SQLITE_OK)
      return read_error("cannot prepare read transactions on " + path_ + ": " +
                        sqlite3_errmsg(conn->db));
  }
  Status s = conn->use_snapshot(committed());
  if (s) {
    sqlite3_stmt* st = conn->stmts[static_cast<size_t>(which)];
    sqlite::ResetOnExit reset(st);
    s = fn(st);
  }
  if (!s) conn->end_snapshot();  // the next read starts afresh
  std::lock_guard lock(readers_mu_);
  if (idle_readers_.size() < options_.max_idle_readers) idle_readers_.push_back(std::move(conn));
  return s;
}

}  // namespace mamori::store
