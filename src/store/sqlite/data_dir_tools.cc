#include "store/sqlite/data_dir_tools.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "store/embedded/embedded_store.h"
#include "store/sqlite/data_dir_lock.h"
#include "store/sqlite/sqlite_store.h"

namespace mamori::store {

namespace fs = std::filesystem;

std::string DataDirFiles::key_path() const {
  return key_file.empty() ? (fs::path(data_dir) / "totp.key").string() : key_file;
}

std::string DataDirFiles::pwned_path() const {
  return pwned_file.empty() ? (fs::path(data_dir) / "pwned.bin").string() : pwned_file;
}

namespace {

constexpr const char* kDatabase = "mamori.db";
constexpr const char* kIdFile = "mamori.id";
constexpr const char* kKeyFile = "totp.key";
constexpr const char* kPwnedFile = "pwned.bin";

std::string errno_text(int err = errno) { return std::strerror(err); }

// While it lives, files are opened and created with the file identity of
// `dir`'s owner, when this process runs as root and the owner is another
// user: SQLite's side files made beside a database then belong to the
// service that uses it, not to root (which would lock the service out).
// Single-threaded callers only: the identity is the calling thread's.
class OwnerFileIdentity {
 public:
  explicit OwnerFileIdentity(const std::string& dir) {
    struct stat st {};
    if (::geteuid() != 0 || ::stat(dir.c_str(), &st) != 0 || st.st_uid == 0) return;
    ::setfsgid(st.st_gid);
    ::setfsuid(st.st_uid);
    active_ = true;
  }
  ~OwnerFileIdentity() {
    if (!active_) return;
    ::setfsuid(0);
    ::setfsgid(0);
  }
  OwnerFileIdentity(const OwnerFileIdentity&) = delete;
  OwnerFileIdentity& operator=(const OwnerFileIdentity&) = delete;

 private:
  bool active_ = false;
};

class Db {
 public:
  Db() = default;
  ~Db() { close(); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status open(const std::string& path, int flags) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = message(rc);
      close();
      return make_error("sqlite", msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 10000);
    return {};
  }
  void close() {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  sqlite3* get() const { return db_; }
  std::string message(int rc) const {
    const char* m = db_ != nullptr ? sqlite3_errmsg(db_) : nullptr;
    return m != nullptr ? m : sqlite3_errstr(rc);
  }
  // The first column of the last row of `sql` as text ("" for none or NULL).
  Result<std::string> value(const char* sql) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &st, nullptr);
    if (rc != SQLITE_OK) return make_error("sqlite", message(rc));
    std::string out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t != nullptr ? reinterpret_cast<const char*>(t) : "";
    }
    std::string msg = rc == SQLITE_DONE ? "" : message(rc);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return make_error("sqlite", msg);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// What a copied database says about itself.
struct DatabaseFacts {
  int schema_version = 0;
  std::string id;  // empty: from before ids
};

// Checks a database's pages and reads its schema version and id.
Result<DatabaseFacts> inspect(Db& db) {
  auto check = db.value("PRAGMA quick_check");
  if (!check) return check.error();
  if (*check != "ok") return make_error("corrupt", "integrity check failed: " + *check);
  auto version = db.value("PRAGMA user_version");
  if (!version) return version.error();
  DatabaseFacts facts;
  facts.schema_version = std::atoi(version->c_str());
  auto has_meta = db.value("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
  if (!has_meta) return has_meta.error();
  if (!has_meta->empty()) {
    auto id = db.value("SELECT value FROM meta WHERE key = 'data_dir_id'");
    if (!id) return id.error();
    facts.id = *id;
  }
  return facts;
}

std::string read_id(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return "";
  char buf[128] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string id(buf, n);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

Status sync_path(const std::string& path, bool directory = false) {
  const int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("io", "cannot open " + path + ": " + errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return make_error("io", "cannot flush " + path + ": " + errno_text(err));
  return {};
}

// Copies what `in` (opened on `from`) holds, its first `limit` bytes at
// most, to the new file `to` (mode 0600) and flushes it.
Status copy_fd(int in, const std::string& from, const std::string& to,
               std::uint64_t limit = UINT64_MAX) {
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) return make_error("io", "cannot create " + to + ": " + errno_text());
  Status result;
  char buf[1 << 16];
  std::uint64_t copied = 0;
  while (copied < limit) {
    const ssize_t n = ::pread(
        in, buf, std::size_t(std::min<std::uint64_t>(sizeof buf, limit - copied)), off_t(copied));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      result = make_error("io", "cannot read " + from + ": " + errno_text());
      break;
    }
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buf + done, std::size_t(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        result = make_error("io", "cannot write " + to + ": " + errno_text());
        break;
      }
      done += w;
    }
    if (!result) break;
    copied += std::uint64_t(n);
  }
  if (result && ::fsync(out) != 0)
    result = make_error("io", "cannot flush " + to + ": " + errno_text());
  if (::close(out) != 0 && result)
    result = make_error("io", "cannot write " + to + ": " + errno_text());
  return result;
}

// Copies `from` to the new file `to` (mode 0600) and flushes it. The source
// is read through one descriptor: a file renamed over meanwhile (a pwned
// import) is copied whole, as it was.
Status copy_file(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return make_error("io", "cannot read " + from + ": " + errno_text());
  Status s = copy_fd(in, from, to);
  ::close(in);
  return s;
}

Status write_small_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("io", "cannot create " + path + ": " + errno_text());
  const bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return make_error("io", "cannot write " + path + ": " + errno_text(err));
  return {};
}

bool is_nonempty_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && fs::file_size(path, ec) > 0 && !ec;
}

// A path as an SQLite file: URI (for immutable=1).
std::string file_uri(const std::string& path) {
  std::string out = "file:";
  for (char c : fs::absolute(path).string()) {
    if (c == '?' || c == '#' || c == '%') {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

// Copies the database at `from` into the new file `to` in one read
// transaction of `from`.
Status copy_database(const std::string& data_dir, const std::string& from, const std::string& to) {
  Db dest;
  if (Status s = dest.open(to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE); !s)
    return make_error("io", "cannot create " + to + ": " + s.error().message);
  // No rollback journal beside the copy (it may be written with the data
  // dir owner's identity, which cannot create files here); a failed copy is
  // thrown away whole.
  if (auto m = dest.value("PRAGMA journal_mode=OFF"); !m)
    return make_error("io", to + ": " + m.error().message);

  OwnerFileIdentity as_owner(data_dir);
  Db src;
  // Read-write where allowed, so that the side files a first connection
  // makes (a stopped daemon's data dir) are removed again at close.
  const int mode = ::access(from.c_str(), W_OK) == 0 ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  if (Status s = src.open(from, mode); !s)
    return make_error("io", "cannot open " + from + ": " + s.error().message);
  sqlite3_backup* b = sqlite3_backup_init(dest.get(), "main", src.get(), "main");
  if (b == nullptr) return make_error("io", "cannot copy " + from + ": " + dest.message(0));
  // All pages in one step: one read transaction, one snapshot. A step that
  // finds the database busy (a recovery in another process) is retried.
  int rc = SQLITE_OK;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    rc = sqlite3_backup_step(b, -1);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
           std::chrono::steady_clock::now() < deadline);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    const std::string msg =
        rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? src.message(rc) : dest.message(rc);
    return make_error("io", "cannot copy " + from + ": " + msg);
  }
  return {};
}

// ---- the journals (activity/, profiles/) ----

constexpr const char* kActivityDir = "activity";
constexpr const char* kProfilesDir = "profiles";
constexpr int kJournalCopyAttempts = 20;

// A journal directory that went away while it was being copied (a day
// partition dropped by retention, a profile generation collected).
Error vanished(const std::string& dir) { return make_error("vanished", dir + " went away"); }

std::vector<std::string> sorted_names(const std::string& dir, int& err) {
  std::vector<std::string> names;
  err = 0;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    err = errno;
    return names;
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Copies one keyed journal directory (store/journal/keyed_journal.h) into
// the new directory `to`, beside the daemon that appends to it and indexes
// it: its runs, which are immutable, opened first (a merge that deletes one
// meanwhile makes the listing start over), then the journal up to the size
// it has then: everything published before the copy began, and more than
// any run covers. A torn record at the end is cut at the next open, as after
// a crash. Returns the bytes copied; fails with `vanished` when the directory
// is gone.
Result<std::uint64_t> copy_keyed_journal(const std::string& from, const std::string& to) {
  for (int attempt = 0; attempt < kJournalCopyAttempts; ++attempt) {
    int err = 0;
    const std::vector<std::string> names = sorted_names(from, err);
    if (err == ENOENT) return vanished(from);
    if (err != 0) return make_error("io", "cannot list " + from + ": " + errno_text(err));
    std::vector<std::pair<std::string, int>> runs;
    auto close_all = [&] {
      for (auto& [name, fd] : runs) ::close(fd);
      runs.clear();
    };
    bool restart = false;
    for (const std::string& name : names) {
      if (name.rfind("run-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
      const int fd = ::open((from + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT) {
        restart = true;  // merged away meanwhile
        break;
      }
      if (fd < 0) {
        const int e = errno;
        close_all();
        return make_error("io", "cannot read " + from + "/" + name + ": " + errno_text(e));
      }
      runs.emplace_back(name, fd);
    }
    if (restart) {
      close_all();
      continue;
    }
    const std::string journal = from + "/journal";
    const int jfd = ::open(journal.c_str(), O_RDONLY | O_CLOEXEC);
    if (jfd < 0) {
      const int e = errno;
      close_all();
      if (e == ENOENT) return vanished(from);
      return make_error("io", "cannot read " + journal + ": " + errno_text(e));
    }
    struct stat st {};
    ::fstat(jfd, &st);
    Status s;
    if (::mkdir(to.c_str(), 0700) != 0)
      s = make_error("io", "cannot create " + to + ": " + errno_text());
    std::uint64_t bytes = 0;
    for (const auto& [name, fd] : runs) {
      if (!s) break;
      s = copy_fd(fd, from + "/" + name, to + "/" + name);
      struct stat rs {};
      if (::fstat(fd, &rs) == 0) bytes += std::uint64_t(rs.st_size);
    }
    if (s) s = copy_fd(jfd, journal, to + "/journal", std::uint64_t(st.st_size));
    bytes += std::uint64_t(st.st_size);
    ::close(jfd);
    close_all();
    if (s) s = sync_path(to, true);
    if (!s) return s.error();
    return bytes;
  }
  return make_error("io", from + " changed under every attempt to copy it");
}

// Copies `<from_dir>/activity` and `<from_dir>/profiles` (where present)
// into `to_dir`. Returns the bytes copied.
Result<std::uint64_t> copy_journals(const std::string& from_dir, const std::string& to_dir) {
  std::error_code ec;
  std::uint64_t bytes = 0;
  const fs::path activity = fs::path(from_dir) / kActivityDir;
  if (fs::is_directory(activity, ec)) {
    const std::string out = (fs::path(to_dir) / kActivityDir).string();
    if (::mkdir(out.c_str(), 0700) != 0)
      return make_error("io", "cannot create " + out + ": " + errno_text());
    int err = 0;
    for (const std::string& day : sorted_names(activity.string(), err)) {
      if (!fs::is_directory(activity / day, ec) || day.find('.') != std::string::npos) continue;
      auto copied = copy_keyed_journal((activity / day).string(), out + "/" + day);
      if (!copied && copied.error().code == "vanished") {  // dropped by retention meanwhile
        fs::remove_all(out + "/" + day, ec);
        continue;
      }
      if (!copied) return copied.error();
      bytes += *copied;
    }
    if (err != 0)
      return make_error("io", "cannot list " + activity.string() + ": " + errno_text(err));
    if (Status s = sync_path(out, true); !s) return s.error();
  }
  const fs::path profiles = fs::path(from_dir) / kProfilesDir;
  if (fs::is_directory(profiles, ec)) {
    const std::string out = (fs::path(to_dir) / kProfilesDir).string();
    if (::mkdir(out.c_str(), 0700) != 0)
      return make_error("io", "cannot create " + out + ": " + errno_text());
    for (int attempt = 0;; ++attempt) {
      // A collection may switch generations meanwhile: the one CURRENT names
      // is copied, again if it goes away during the copy.
      std::string current = read_id((profiles / "CURRENT").string());
      if (current.empty() || current.find('/') != std::string::npos)
        return make_error("io", (profiles / "CURRENT").string() + " names no generation");
      auto copied = copy_keyed_journal((profiles / current).string(), out + "/" + current);
      if (!copied && copied.error().code == "vanished" && attempt < kJournalCopyAttempts) {
        fs::remove_all(out + "/" + current, ec);
        continue;
      }
      if (!copied) return copied.error();
      bytes += *copied;
      if (Status s = write_small_file(out + "/CURRENT", current + "\n"); !s) return s.error();
      break;
    }
    if (Status s = sync_path(out, true); !s) return s.error();
  }
  return bytes;
}

// Copies the tree `from` into the new `to`, gives it to `owner` (when
// root), and puts it in place of `target` (removed first).
Status install_tree(const std::string& from, const std::string& target,
                    const std::optional<struct stat>& owner) {
  std::error_code ec;
  const std::string tmp = target + ".restore";
  fs::remove_all(tmp, ec);
  fs::copy(from, tmp, fs::copy_options::recursive, ec);
  if (ec) return make_error("io", "cannot copy " + from + " to " + tmp + ": " + ec.message());
  for (auto it = fs::recursive_directory_iterator(tmp, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string p = it->path().string();
    if (it->is_regular_file()) {
      if (Status s = sync_path(p); !s) return s;
    }
    if (owner && ::chown(p.c_str(), owner->st_uid, owner->st_gid) != 0)
      return make_error("io", "cannot give " + p + " to its owner: " + errno_text());
  }
  if (ec) return make_error("io", "cannot walk " + tmp + ": " + ec.message());
  if (owner && ::chown(tmp.c_str(), owner->st_uid, owner->st_gid) != 0)
    return make_error("io", "cannot give " + tmp + " to its owner: " + errno_text());
  fs::remove_all(target, ec);
  if (ec) return make_error("io", "cannot remove " + target + ": " + ec.message());
  if (std::rename(tmp.c_str(), target.c_str()) != 0)
    return make_error("io", "cannot rename " + tmp + " to " + target + ": " + errno_text());
  return {};
}

// Renames `from` to `to`, which must not exist. Where the file system cannot
// refuse an existing target itself (NFS, for one), it is checked first.
Status rename_new(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  int err = errno;
  if (err == EINVAL || err == ENOSYS || err == ENOTSUP) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(to, ec)))
      return make_error("io", to + " appeared while the backup ran: it is left as it was");
    if (std::rename(from.c_str(), to.c_str()) == 0) return {};
    err = errno;
  }
  return make_error("io", "cannot rename " + from + " to " + to + ": " + errno_text(err));
}

// Removes a directory made for a backup that did not finish.
class RemoveUnlessKept {
 public:
  explicit RemoveUnlessKept(std::string path) : path_(std::move(path)) {}
  ~RemoveUnlessKept() {
    std::error_code ec;
    if (!kept_) fs::remove_all(path_, ec);
  }
  void keep() { kept_ = true; }

 private:
  std::string path_;
  bool kept_ = false;
};

}  // namespace

Result<BackupReport> backup_data_dir(const DataDirFiles& from, const std::string& out,
                                     const BackupOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto fail = [](const std::string& what) { return make_error("backup_failed", what); };
  std::error_code ec;
  const std::string db = (fs::path(from.data_dir) / kDatabase).string();
  if (!fs::is_directory(from.data_dir, ec))
    return fail("data dir " + from.data_dir + " is not a directory");
  if (!is_nonempty_file(db)) return fail("no database at " + db + ": is it mamorid's data dir?");
  if (out.empty()) return fail("no backup directory given");
  if (fs::exists(fs::symlink_status(out, ec)))
    return fail(out + " exists already: a backup goes into a new directory");
  fs::path target = fs::absolute(out, ec);
  while (!target.empty() && !target.has_filename()) target = target.parent_path();
  const fs::path parent = target.parent_path();
  if (!fs::is_directory(parent, ec))
    return fail("cannot write " + out + ": " + parent.string() + " is not a directory");

  std::string tmpl = target.string() + ".tmp-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    return fail("cannot create a directory beside " + out + ": " + errno_text());
  const std::string tmp = tmpl;
  RemoveUnlessKept cleanup(tmp);

  BackupReport report;
  const std::string copy = (fs::path(tmp) / kDatabase).string();
  if (Status s = copy_database(from.data_dir, db, copy); !s) return fail(s.error().message);
  {
    Db check;
    if (Status s = check.open(copy, SQLITE_OPEN_READWRITE); !s)
      return fail("cannot open the copy " + copy + ": " + s.error().message);
    auto facts = inspect(check);
    if (!facts) return fail("the copy of " + db + " is unusable: " + facts.error().message);
    report.schema_version = facts->schema_version;
    report.data_dir_id = facts->id;
  }
  ::chmod(copy.c_str(), 0600);
  if (Status s = sync_path(copy); !s) return fail(s.error().message);
  report.database_bytes = fs::file_size(copy, ec);
  if (!report.data_dir_id.empty()) {
    if (Status s = write_small_file((fs::path(tmp) / kIdFile).string(), report.data_dir_id + "\n");
        !s)
      return fail(s.error().message);
  }
  // The journals after the database: each holds every entry acknowledged
  // before the backup began.
  auto journal_bytes = copy_journals(from.data_dir, tmp);
  if (!journal_bytes) return fail(journal_bytes.error().message);
  report.journal_bytes = *journal_bytes;
  report.journals_copied = fs::exists(fs::path(tmp) / kActivityDir, ec);
  const std::string key = from.key_path();
  if (fs::exists(key, ec)) {
    if (Status s = copy_file(key, (fs::path(tmp) / kKeyFile).string()); !s)
      return fail(s.error().message);
    report.key_copied = true;
  }
  if (options.include_pwned) {
    const std::string pwned = from.pwned_path();
    if (!fs::exists(pwned, ec)) return fail("no breached-password store at " + pwned);
    if (Status s = copy_file(pwned, (fs::path(tmp) / kPwnedFile).string()); !s)
      return fail(s.error().message);
    report.pwned_copied = true;
  }
  if (Status s = sync_path(tmp, true); !s) return fail(s.error().message);
  if (Status s = rename_new(tmp, target.string()); !s) return fail(s.error().message);
  cleanup.keep();
  if (Status s = sync_path(parent.string(), true); !s) return fail(s.error().message);
  report.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return report;
}

namespace {

// Writes `from` beside `to`, gives it to `owner` (when root), and renames it
// over `to`.
Status install_file(const std::string& from, const std::string& to,
                    const std::optional<struct stat>& owner) {
  const std::string tmp = to + ".restore";
  std::error_code ec;
  fs::remove(tmp, ec);
  if (Status s = copy_file(from, tmp); !s) return s;
  if (owner && ::chown(tmp.c_str(), owner->st_uid, owner->st_gid) != 0) {
    const int err = errno;
    fs::remove(tmp, ec);
    return make_error("io", "cannot give " + tmp + " to its owner: " + errno_text(err));
  }
  if (std::rename(tmp.c_str(), to.c_str()) != 0) {
    const int err = errno;
    fs::remove(tmp, ec);
    return make_error("io", "cannot rename " + tmp + " to " + to + ": " + errno_text(err));
  }
  return {};
}

}  // namespace

Result<RestoreReport> restore_data_dir(const std::string& backup, const DataDirFiles& to,
                                       const RestoreOptions& options) {
  auto fail = [](const std::string& what) { return make_error("restore_failed", what); };
  std::error_code ec;
  const fs::path dir(backup);
  const std::string backup_db = (dir / kDatabase).string();
  if (!is_nonempty_file(backup_db))
    return fail("no database at " + backup_db + ": is " + backup +
                " a backup made by 'mamori backup'?");

  // The backup first: readable, not newer than this build, its id its own.
  RestoreReport report;
  {
    Db db;
    // immutable: nothing is written beside the backup, not even side files.
    if (Status s =
            db.open(file_uri(backup_db) + "?immutable=1", SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
        !s)
      return fail("cannot open " + backup_db + ": " + s.error().message);
    auto facts = inspect(db);
    if (!facts) return fail(backup_db + " is unusable: " + facts.error().message);
    report.schema_version = facts->schema_version;
    report.data_dir_id = facts->id;
  }
  if (report.schema_version > SqliteStore::kSchemaVersion)
    return fail(backup_db + " has schema version " + std::to_string(report.schema_version) +
                ", newer than this build's " + std::to_string(SqliteStore::kSchemaVersion) +
                ": restore it with the version of mamori that made it");
  const bool has_journals =
      fs::is_directory(dir / kActivityDir, ec) && fs::is_directory(dir / kProfilesDir, ec);
  if (report.schema_version >= 6 && !has_journals)
    return fail(backup + " has no " + kActivityDir + "/ and " + kProfilesDir +
                "/ beside its database of schema version " + std::to_string(report.schema_version) +
                ": the activity log and the profiles are missing");
  const std::string backup_id = read_id((dir / kIdFile).string());
  if (!backup_id.empty() && backup_id != report.data_dir_id)
    return fail(backup_db + " does not belong to " + (dir / kIdFile).string() + " (ids " +
                report.data_dir_id + " and " + backup_id + ")");

  const bool created = !fs::exists(to.data_dir, ec);
  fs::create_directories(to.data_dir, ec);
  if (ec) return fail("cannot create " + to.data_dir + ": " + ec.message());
  if (created) ::chmod(to.data_dir.c_str(), 0750);
  // The data dir's lock, taken as its owner would (a lock file made here
  // must stay openable by the service), held until the end.
  std::optional<DataDirLock> lock;
  {
    OwnerFileIdentity as_owner(to.data_dir);
    auto l = DataDirLock::acquire(to.data_dir);
    if (!l) {
      if (l.error().code == "data_dir_in_use")
        return make_error("data_dir_in_use",
                          l.error().message + ": stop it before restoring; nothing was changed");
      return fail(l.error().message);
    }
    lock.emplace(std::move(*l));
  }
  const fs::path target(to.data_dir);
  const std::string db = (target / kDatabase).string();
  if (is_nonempty_file(db) && !options.replace)
    return fail(to.data_dir + " holds a database already (" + db +
                "); --force replaces it with the backup's");

  std::optional<struct stat> owner;
  if (::geteuid() == 0) {
    struct stat st {};
    if (::stat(to.data_dir.c_str(), &st) == 0 && st.st_uid != 0) owner = st;
  }
  // The new database, then the old one's log removed (it would be replayed
  // into the new one), then the swap.
  const std::string staged = db + ".restore";
  fs::remove(staged, ec);
  if (Status s = copy_file(backup_db, staged); !s) return fail(s.error().message);
  if (owner && ::chown(staged.c_str(), owner->st_uid, owner->st_gid) != 0)
    return fail("cannot give " + staged + " to its owner: " + errno_text());
  for (const char* side : {"-wal", "-shm"}) {
    fs::remove(db + side, ec);
    if (ec) return fail("cannot remove " + db + side + ": " + ec.message());
  }
  // The journals; a backup from before them has their rows in its database,
  // which the next start moves into new ones.
  for (const char* name : {kActivityDir, kProfilesDir}) {
    if (has_journals) {
      if (Status s = install_tree((dir / name).string(), (target / name).string(), owner); !s)
        return fail(s.error().message);
    } else {
      fs::remove_all(target / name, ec);
      if (ec) return fail("cannot remove " + (target / name).string() + ": " + ec.message());
    }
  }
  report.journals_restored = has_journals;
  if (std::rename(staged.c_str(), db.c_str()) != 0)
    return fail("cannot rename " + staged + " to " + db + ": " + errno_text());

  const std::string id_path = (target / kIdFile).string();
  if (!report.data_dir_id.empty()) {
    const std::string staged_id = id_path + ".restore";
    if (Status s = write_small_file(staged_id, report.data_dir_id + "\n"); !s)
      return fail(s.error().message);
    if (owner && ::chown(staged_id.c_str(), owner->st_uid, owner->st_gid) != 0)
      return fail("cannot give " + staged_id + " to its owner: " + errno_text());
    if (std::rename(staged_id.c_str(), id_path.c_str()) != 0)
      return fail("cannot rename " + staged_id + " to " + id_path + ": " + errno_text());
  } else {
    fs::remove(id_path, ec);  // the store gives the database an id at its next start
  }
  if (fs::exists(dir / kKeyFile, ec)) {
    if (Status s = install_file((dir / kKeyFile).string(), to.key_path(), owner); !s)
      return fail(s.error().message);
    report.key_restored = true;
  }
  if (fs::exists(dir / kPwnedFile, ec)) {
    if (Status s = install_file((dir / kPwnedFile).string(), to.pwned_path(), owner); !s)
      return fail(s.error().message);
    report.pwned_restored = true;
  }
  if (Status s = sync_path(to.data_dir, true); !s) return fail(s.error().message);
  return report;
}

Result<MigrateReport> migrate_data_dir(const std::string& data_dir) {
  auto fail = [](const std::string& what) { return make_error("migrate_failed", what); };
  const std::string db = (fs::path(data_dir) / kDatabase).string();
  if (!is_nonempty_file(db)) return fail("no database at " + db + ": nothing to migrate");
  OwnerFileIdentity as_owner(data_dir);
  MigrateReport report;
  {
    Db check;
    if (Status s = check.open(db, SQLITE_OPEN_READONLY); !s)
      return fail("cannot open " + db + ": " + s.error().message);
    auto version = check.value("PRAGMA user_version");
    if (!version) return fail("cannot read " + db + ": " + version.error().message);
    report.from_version = std::atoi(version->c_str());
  }
  if (report.from_version > SqliteStore::kSchemaVersion)
    return fail(db + " has schema version " + std::to_string(report.from_version) +
                ", newer than this build's " + std::to_string(SqliteStore::kSchemaVersion));
  // Opening the store upgrades it (the tables moved out into the journals
  // first) and checks its id.
  auto store = EmbeddedStore::open(data_dir);
  if (!store) return store.error();
  store->reset();
  report.to_version = SqliteStore::kSchemaVersion;
  return report;
}

}  // namespace mamori::store
