#ifndef MAMORI_TESTS_UNIT_TESTING_SQLITE_WRITE_LOCK_H_
#define MAMORI_TESTS_UNIT_TESTING_SQLITE_WRITE_LOCK_H_

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

namespace mamori::testing {

// Holds the write lock of a SQLite database from a connection of its own
// (BEGIN IMMEDIATE) until release() or destruction: a store on that file
// whose busy timeout runs out fails its commits meanwhile, as it would on a
// full disk, through the same path.
class SqliteWriteLock {
 public:
  explicit SqliteWriteLock(const std::string& db_path) {
    EXPECT_EQ(sqlite3_open(db_path.c_str(), &db_), SQLITE_OK);
    exec("BEGIN IMMEDIATE");
  }
  ~SqliteWriteLock() {
    release();
    sqlite3_close(db_);
  }
  SqliteWriteLock(const SqliteWriteLock&) = delete;
  SqliteWriteLock& operator=(const SqliteWriteLock&) = delete;

  void release() {
    if (held_) exec("ROLLBACK");
    held_ = false;
  }

 private:
  void exec(const char* sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err != nullptr ? err : "");
    sqlite3_free(err);
  }

  sqlite3* db_ = nullptr;
  bool held_ = true;
};

}  // namespace mamori::testing

#endif  // MAMORI_TESTS_UNIT_TESTING_SQLITE_WRITE_LOCK_H_
