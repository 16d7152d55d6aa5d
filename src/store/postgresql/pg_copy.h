#ifndef MAMORI_STORE_POSTGRESQL_PG_COPY_H_
#define MAMORI_STORE_POSTGRESQL_PG_COPY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/postgresql/pg_url.h"

namespace mamori::store::postgresql {

struct CopyOptions {
  // Copy into a database that already holds records: a record with the key
  // of one copied is replaced by the data dir's, the others are kept, and
  // an activity entry already there (same event id, account and time) is not
  // copied again, so a copy run twice leaves what one run left.
  bool merge = false;
  // Called after each table (done = true) and every 10,000 rows of a long one.
  std::function<void(std::string_view table, std::uint64_t rows, bool done)> progress;
};

struct CopyReport {
  std::vector<std::pair<std::string, std::uint64_t>> rows;  // per table, in copy order
  int schema_from = 0, schema_to = 0;
};

// `mamori store copy`: every durable record of the data dir `data_dir` (the
// SQLite tables: accounts, lists, incidents and their accounts, blocks,
// TOTP, outbox, owner actions, audit records, operator accounts; the
// activity journal; the profile journal) into the PostgreSQL database at
// `url`, migrated to the current schema first. The data dir is opened as
// mamorid opens it (its lock taken: a running daemon's is refused). The copy
// is one transaction: cut short, it leaves nothing. A target that holds
// records is refused
// (`store_not_empty`) unless options.merge. Fails with `store_open_failed`, `data_dir_in_use`,
// `store_read_failed` or `store_write_failed`.
Result<CopyReport> copy_data_dir(const std::string& data_dir, const PgUrl& url,
                                 const CopyOptions& options);

// `mamori db migrate --store URL`: the schema migrations the database lacks.
struct MigrateOutcome {
  int from = 0, to = 0;
};
Result<MigrateOutcome> migrate_database(const PgUrl& url);

}  // namespace mamori::store::postgresql

#endif  // MAMORI_STORE_POSTGRESQL_PG_COPY_H_
