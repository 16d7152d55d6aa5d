#ifndef MAMORI_STORE_POSTGRESQL_PG_SCHEMA_H_
#define MAMORI_STORE_POSTGRESQL_PG_SCHEMA_H_

#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace mamori::store::postgresql {

// The schema of the PostgreSQL store: the tables of the SQLite store's
// records and outbox (store/sqlite/sqlite_schema.cc: same columns, times in
// milliseconds since the epoch, flags as booleans), `profiles` (one
// profile_codec text per account) and `activity`, partitioned by day on its
// `at` column (one partition a UTC day, activity_pYYYYMMDD).
//
// Versioned migrations: kMigrations[v] takes the schema from version v to
// v + 1; `schema_version` holds one row per version applied. Version 5 gives
// each profile the version of the write that stored it
// (store/profile_store.h) and owner actions their claims not yet kept.
inline constexpr int kPgSchemaVersion = 5;
std::span<const char* const> pg_migrations();

// What migrate() did.
struct MigrationOutcome {
  int from = 0, to = 0;
};

// Creates `schema_version` if missing and applies the migrations the
// database lacks, all in one transaction under an advisory lock (nodes
// starting together migrate once). A database newer than this build is
// refused. Fails with `store_open_failed`, naming `where` (the URL,
// redacted).
Result<MigrationOutcome> migrate(PGconn* conn, const std::string& where);
// The schema version of the database (0: none), without changing anything.
Result<int> schema_version(PGconn* conn, const std::string& where);

// ---- activity partitions ----

// The UTC day (days since 1970-01-01) of `t`.
std::int64_t utc_day(TimePoint t);
// "activity_p20261207" for the day of 2026-12-07.
std::string activity_partition_name(std::int64_t day);
// The day of a partition name activity_partition_name() made; none for any
// other name.
std::optional<std::int64_t> activity_partition_day(std::string_view name);
// The statement creating the partition of `day` if it does not exist.
std::string create_activity_partition_sql(std::int64_t day);

// Runs `sql` (no parameters, no result wanted); fails with `code`.
Status exec_command(PGconn* conn, const std::string& sql, const char* code);

}  // namespace mamori::store::postgresql

#endif  // MAMORI_STORE_POSTGRESQL_PG_SCHEMA_H_
