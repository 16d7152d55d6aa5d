#include "store/postgresql/pg_connection.h"

namespace mamori::store::postgresql {

namespace {

std::string trimmed(const char* m) {
  std::string s = m != nullptr ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string error_message(const PGconn* conn) { return trimmed(PQerrorMessage(conn)); }
std::string error_message(const PGresult* r) { return trimmed(PQresultErrorMessage(r)); }

Result<Conn> connect(const PgUrl& url, const char* code, std::chrono::seconds timeout) {
  const std::string t = std::to_string(timeout.count() < 2 ? 2 : timeout.count());
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {url.text.c_str(), t.c_str(), "mamorid", nullptr};
  Conn c(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!c) return make_error(code, "PostgreSQL " + url.redacted + ": out of memory");
  if (PQstatus(c.get()) != CONNECTION_OK)
    return make_error(code, "PostgreSQL " + url.redacted + ": " + error_message(c.get()));
  return c;
}

}  // namespace mamori::store::postgresql
