// SqliteStore's profiles (ProfileStore): the `profiles` table, and the
// filter of the accounts that have a row in it.

#include <algorithm>
#include <string>

#include "core/hash.h"
#include "core/log.h"
#include "store/profile_codec.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_store.h"

namespace mamori::store {

namespace sqlite {

namespace {

constexpr StatementSql kWriterSql[] = {
    {kPutProfile, "INSERT OR REPLACE INTO profiles (account, data) VALUES (?, ?)"},
};

constexpr StatementSql kReadSql[] = {
    {kProfile, "SELECT data FROM profiles WHERE account = ?"},
};

}  // namespace

RoleSql profile_sql() { return {kWriterSql, kReadSql}; }

Status apply_write(const Writer& w, const PutProfileOp& op) {
  return w.exec(kPutProfile, "put_profile", [&](Binder& b) { b.text(op.account).text(op.data); });
}

}  // namespace sqlite

WriteTicket SqliteStore::put_profile(std::string account, const AccountProfile& profile) {
  profile_filter_->add(hash_bytes(account));
  return commits_.enqueue(sqlite::PutProfileOp{std::move(account), encode_profile(profile)});
}

Result<AccountProfile> SqliteStore::profile(std::string_view account) {
  if (!profile_filter_->may_contain(hash_bytes(account))) {
    profile_reads_skipped_.fetch_add(1, std::memory_order_relaxed);
    return AccountProfile{};
  }
  std::vector<std::string> rows;
  Status s = with_read_stmt(sqlite::kProfile, [&](sqlite3_stmt* st) -> Status {
    if (int rc = sqlite::Binder(st).text(account).rc(); rc != SQLITE_OK)
      return sqlite::read_error(nullptr, rc);
    return sqlite::collect(
        st, rows, [](sqlite3_stmt* row) -> Result<std::string> { return sqlite::Row(row).text(); });
  });
  if (!s) return s.error();
  if (rows.empty()) return AccountProfile{};
  auto p = decode_profile(rows.front());
  if (!p)
    return sqlite::read_error("bad profile of account " + std::string(account) + ": " +
                              p.error().message);
  return p;
}

// On the writer's connection, before the writer thread starts.
Status SqliteStore::fill_profile_filter() {
  auto rows = sqlite::exec_value(writer_db_, "SELECT count(*) FROM profiles");
  if (!rows) return rows.error();
  const auto count = std::size_t(std::stoull(*rows));
  profile_filter_ = std::make_unique<BloomFilter>(std::max(kMinProfileFilter, 2 * count));
  sqlite3_stmt* st = nullptr;
  if (int rc = sqlite3_prepare_v2(writer_db_, "SELECT account FROM profiles", -1, &st, nullptr);
      rc != SQLITE_OK)
    return sqlite::read_error(writer_db_, rc);
  const Status s = sqlite::for_each_row(st, [&](sqlite3_stmt* row) {
    profile_filter_->add(hash_bytes(sqlite::Row(row).text_view()));
    return Status{};
  });
  sqlite3_finalize(st);
  if (s && count > 0)
    log_info("store: " + std::to_string(count) + " profiles indexed (" +
             std::to_string(profile_filter_->memory_bytes() >> 10) + " KiB filter)");
  return s;
}

}  // namespace mamori::store
