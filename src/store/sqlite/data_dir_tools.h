#ifndef MAMORI_STORE_SQLITE_DATA_DIR_TOOLS_H_
#define MAMORI_STORE_SQLITE_DATA_DIR_TOOLS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "core/result.h"

namespace mamori::store {

// The data dir's maintenance by an operator's tool (`mamori backup`,
// `restore`, `db migrate`), beside or without the daemon.

// Where a data dir's files are: the directory (`mamori.db`, `mamori.id`) and
// the two files that may live elsewhere by configuration.
struct DataDirFiles {
  std::string data_dir;
  std::string key_file;    // the TOTP key; empty: <data_dir>/totp.key
  std::string pwned_file;  // the breached-password store; empty: <data_dir>/pwned.bin

  std::string key_path() const;
  std::string pwned_path() const;
};

struct BackupOptions {
  // Copy the breached-password store too (it can be large, and `mamori
  // pwned import` rebuilds it from its source file).
  bool include_pwned = false;
};

struct BackupReport {
  int schema_version = 0;
  std::string data_dir_id;
  std::uint64_t database_bytes = 0;
  bool journals_copied = false;  // activity/ and profiles/ (false: a data dir before them)
  std::uint64_t journal_bytes = 0;
  bool key_copied = false;  // false: the data dir had no key file
  bool pwned_copied = false;
  std::chrono::milliseconds took{0};
};

// Writes a copy of a data dir to the new directory `out`, from which
// `mamorid --data-dir OUT` starts as it would from the original: `mamori.db`,
// `mamori.id`, the journals `activity/` and `profiles/`, `totp.key` (the
// configured key file, under this name) and, when asked, `pwned.bin`.
//
// The journals are copied after the database, beside a daemon that appends
// to them: their index runs are immutable and copied whole (a merge or a
// retention drop that removes one meanwhile is followed), each journal file
// up to the size it has when its copy starts, which holds every entry
// acknowledged before the backup began; a record torn at that end is cut
// off when the copy is opened, as after a crash.
//
// The database is copied with SQLite's online backup inside one read
// transaction, so the copy is one snapshot: every write committed before the
// call began is in it, and no half of a transaction. It runs beside a daemon
// that writes meanwhile (a WAL reader does not stop the writer; the daemon's
// log grows until the copy is done) and on the data dir of a stopped one. It
// takes no lock. The copy is checked (PRAGMA quick_check) and its id written
// from the copied database, so the two always agree.
//
// Run as root on a data dir owned by another user (the service's), the
// database is opened with that user's file identity, so that SQLite's
// side files (-wal, -shm) it may create there stay the service's. The
// backup's files are the caller's, mode 0600, in a 0700 directory.
//
// `out` is built as a temporary directory beside it and renamed at the end:
// a failed or interrupted backup leaves no `out`. Fails with
// `backup_failed`, naming the file and the cause; `out` existing already is
// an error.
Result<BackupReport> backup_data_dir(const DataDirFiles& from, const std::string& out,
                                     const BackupOptions& options);

struct RestoreOptions {
  // Replace a database the data dir holds already (without it a data dir
  // with a database is refused).
  bool replace = false;
};

struct RestoreReport {
  int schema_version = 0;  // the backup's, before any upgrade at the next start
  std::string data_dir_id;
  bool journals_restored = false;
  bool key_restored = false;
  bool pwned_restored = false;
};

// Puts a backup made by backup_data_dir into a data dir (created if
// missing). Checks the backup first (its database readable, not newer than
// this build, its id matching its mamori.id, the journals present with a
// database of schema 6 or later), then holds the data dir's lock
// (DataDirLock) throughout, so a data dir that a running mamorid holds is
// refused with `data_dir_in_use` and nothing is changed, and no daemon starts
// on a half-restored one. The old database's WAL is removed with it. Each
// file is written beside its place, flushed and renamed over it; when run as
// root the files are given to the data dir's owner. The journal dirs are
// replaced whole (a backup from before them removes them: its database holds
// their rows, which the next start moves into new ones). Fails with
// `restore_failed` (or `data_dir_in_use`), naming the file and the cause.
// An interrupted restore leaves a mix: run it again with `replace`.
Result<RestoreReport> restore_data_dir(const std::string& backup, const DataDirFiles& to,
                                       const RestoreOptions& options);

struct MigrateReport {
  int from_version = 0;
  int to_version = 0;
};

// Upgrades the data dir's database to this build's schema (what mamorid does
// at start), holding the data dir's lock: a data dir a running mamorid holds
// is refused with `data_dir_in_use`. Run as root on a data dir owned by
// another user, it works with that user's file identity. Fails with
// `migrate_failed` (no database, or one newer than this build) or the
// store's open error.
Result<MigrateReport> migrate_data_dir(const std::string& data_dir);

}  // namespace mamori::store

#endif  // MAMORI_STORE_SQLITE_DATA_DIR_TOOLS_H_
