#ifndef MAMORI_STORE_POSTGRESQL_PG_URL_H_
#define MAMORI_STORE_POSTGRESQL_PG_URL_H_

#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori::store::postgresql {

// A PostgreSQL connection URL as libpq reads it
// (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAM=VALUE&...]),
// checked before use: what a config or a command line gave.
struct PgUrl {
  std::string text;      // as given: for libpq only, never logged (it may hold a password)
  std::string redacted;  // the same with any password replaced by "***": for messages
  std::string database;  // the database named in it
};

// Validates `text`: the scheme (postgresql:// or postgres://), a host, a
// port of 1-65535 when given, a database, and parameters libpq knows.
// Fails with `invalid_url`, whose message shows the URL redacted.
Result<PgUrl> parse_pg_url(std::string_view text);

// `text` with the password of its user part and of a `password=` parameter
// replaced by "***". Works on text parse_pg_url refuses too.
std::string redact_pg_url(std::string_view text);

// Whether `text` looks like a PostgreSQL URL (its scheme), to tell one from a
// data dir on a command line.
bool is_pg_url(std::string_view text);

}  // namespace mamori::store::postgresql

#endif  // MAMORI_STORE_POSTGRESQL_PG_URL_H_
