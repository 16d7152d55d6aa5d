#ifndef MAMORI_STORE_POSTGRESQL_PG_CONNECTION_H_
#define MAMORI_STORE_POSTGRESQL_PG_CONNECTION_H_

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <string>

#include "core/result.h"
#include "store/postgresql/pg_url.h"

namespace mamori::store::postgresql {

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Connects to `url` (blocking, at most `timeout`, at least 2 s as libpq
// counts). Fails with `code`, the message naming the URL redacted.
Result<Conn> connect(const PgUrl& url, const char* code,
                     std::chrono::seconds timeout = std::chrono::seconds(2));

// libpq's last error of `conn`, without its trailing newline.
std::string error_message(const PGconn* conn);
std::string error_message(const PGresult* r);

}  // namespace mamori::store::postgresql

#endif  // MAMORI_STORE_POSTGRESQL_PG_CONNECTION_H_
