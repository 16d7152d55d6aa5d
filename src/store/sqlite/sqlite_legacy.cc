// The tables that schema 6 moved out of SQLite: `activity` and `profiles`,
// read once, row by row, by the upgrade that hands them to the journals
// (SqliteStoreOptions::move_legacy_rows).

#include <memory>
#include <string>

#include "store/profile_codec.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_store.h"

namespace mamori::store::sqlite {

namespace {

Result<ActivityRecord> read_activity(sqlite3_stmt* st) {
  Row row(st);
  ActivityRecord r;
  r.event_id = row.text();
  r.time = row.time();
  r.account = row.text();
  const std::string type = row.text();
  auto t = event_type_from_string(type);
  if (!t) return read_error("unknown event type '" + type + "' in activity");
  r.type = *t;
  const std::string ip = row.text();
  auto parsed = IpAddress::parse(ip);
  if (!parsed) return read_error("bad ip '" + ip + "' in activity");
  r.ip = *parsed;
  r.country = row.text();
  r.city = row.text();
  r.user_agent = row.text();
  r.device_id = row.text();
  r.protocol = row.text();
  if (row.next_is_null()) {
    row.skip();
  } else {
    r.success = row.boolean();
  }
  const std::string action = row.text();
  auto a = action_from_string(action);
  if (!a) return read_error("unknown action '" + action + "' in activity");
  r.action = *a;
  r.reasons = split(row.text());
  return r;
}

class SqliteLegacyRows final : public LegacyRows {
 public:
  SqliteLegacyRows(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  Result<std::uint64_t> activity_count() override { return count("activity"); }
  Result<std::uint64_t> profile_count() override { return count("profiles"); }

  Status for_each_activity(const std::function<Status(const ActivityRecord&)>& fn) override {
    return each(
        "SELECT event_id, time_ms, account, type, ip, country, city, user_agent, device_id,"
        " protocol, success, action, reasons FROM activity ORDER BY time_ms, seq",
        [&](sqlite3_stmt* st) -> Status {
          auto r = read_activity(st);
          if (!r) return open_error(path_, r.error().message);
          return fn(*r);
        });
  }

  Status for_each_profile(
      const std::function<Status(std::string_view, const AccountProfile&)>& fn) override {
    return each("SELECT account, data FROM profiles", [&](sqlite3_stmt* st) -> Status {
      Row row(st);
      const std::string account = row.text();
      auto p = decode_profile(row.text_view());
      if (!p)
        return open_error(path_, "bad profile of account " + account + ": " + p.error().message);
      return fn(account, *p);
    });
  }

 private:
  Result<std::uint64_t> count(const std::string& table) {
    auto v = exec_value(db_, ("SELECT count(*) FROM " + table).c_str());
    if (!v) return open_error(path_, v.error().message);
    return std::uint64_t(std::stoull(*v));
  }

  template <typename OnRow>
  Status each(const char* sql, OnRow on_row) {
    sqlite3_stmt* st = nullptr;
    if (int rc = sqlite3_prepare_v2(db_, sql, -1, &st, nullptr); rc != SQLITE_OK)
      return open_error(path_, db_message(db_, rc));
    Status s;
    for (;;) {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        s = open_error(path_, db_message(db_, rc));
        break;
      }
      if (s = on_row(st); !s) break;
    }
    sqlite3_finalize(st);
    return s;
  }

  sqlite3* db_;
  const std::string path_;
};

}  // namespace

std::unique_ptr<LegacyRows> legacy_rows(sqlite3* db, std::string path) {
  return std::make_unique<SqliteLegacyRows>(db, std::move(path));
}

}  // namespace mamori::store::sqlite
