// SqliteStore's activity log (ActivityLog): the `activity` table.

#include <array>
#include <string>

#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_store.h"

namespace mamori::store {

namespace sqlite {

namespace {

#define MAMORI_ACTIVITY_COLUMNS                                                           \
  "event_id, time_ms, account, type, ip, country, city, user_agent, device_id, protocol," \
  " success, action, reasons"

constexpr StatementSql kWriterSql[] = {
    {kInsertActivity,
     "INSERT INTO activity (event_id, time_ms, account, type, ip, country, city, user_agent,"
     " device_id, protocol, success, action, reasons)"
     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    {kPruneActivity, "DELETE FROM activity WHERE time_ms < ?"},
};

constexpr StatementSql kReadSql[] = {
    {kActivity,
     "SELECT " MAMORI_ACTIVITY_COLUMNS " FROM activity WHERE account = ? AND time_ms >= ?"
     " ORDER BY time_ms DESC, seq DESC LIMIT ?"},
    // The newest ?2, oldest first: SQLite sorts them (spilling to a temp
    // file past its cache), the caller holds one row at a time.
    {kFailedLoginsSince,
     "SELECT time_ms, account, ip FROM (SELECT seq, time_ms, account, ip FROM activity"
     " WHERE time_ms >= ?1 AND type = 'login_result' AND success = 0"
     " ORDER BY time_ms DESC, seq DESC LIMIT ?2) ORDER BY time_ms, seq"},
};

#undef MAMORI_ACTIVITY_COLUMNS

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

}  // namespace

RoleSql activity_sql() { return {kWriterSql, kReadSql}; }

AppendActivityOp::AppendActivityOp(const ActivityRecord& r)
    : time(r.time), ip(r.ip), type(r.type), success(r.success), action(r.action) {
  const std::array<std::string_view, kReasons> fields = {
      r.event_id, r.account, r.country, r.city, r.user_agent, r.device_id, r.protocol};
  std::size_t size = r.reasons.size();
  for (std::string_view f : fields) size += f.size();
  for (const std::string& reason : r.reasons) size += reason.size();
  text.reserve(size);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    text += fields[i];
    end[i] = static_cast<std::uint32_t>(text.size());
  }
  append_joined(text, r.reasons);
  end[kReasons] = static_cast<std::uint32_t>(text.size());
}

Status apply_write(const Writer& w, const AppendActivityOp& op) {
  using F = AppendActivityOp;
  const std::string ip = op.ip.to_string();
  return w.exec(kInsertActivity, "append_activity", [&](Binder& b) {
    b.text(op.field(F::kEventId)).time(op.time).text(op.field(F::kAccount));
    b.text(to_string(op.type)).text(ip).text(op.field(F::kCountry));
    b.text(op.field(F::kCity)).text(op.field(F::kUserAgent));
    b.text(op.field(F::kDeviceId)).text(op.field(F::kProtocol));
    if (op.success) {
      b.boolean(*op.success);
    } else {
      b.null();
    }
    b.text(to_string(op.action)).text(op.field(F::kReasons));
  });
}

Status apply_write(const Writer& w, const PruneActivityOp& op) {
  return w.exec(kPruneActivity, "prune", [&](Binder& b) { b.time(op.before); });
}

}  // namespace sqlite

WriteTicket SqliteStore::append_activity(const ActivityRecord& r) {
  return commits_.enqueue(sqlite::AppendActivityOp(r));
}

WriteTicket SqliteStore::prune_activity(TimePoint before) {
  return commits_.enqueue(sqlite::PruneActivityOp{before});
}

Result<std::vector<ActivityRecord>> SqliteStore::activity(std::string_view account, TimePoint since,
                                                          std::size_t limit) {
  std::vector<ActivityRecord> rows;
  Status s = with_read_stmt(sqlite::kActivity, [&](sqlite3_stmt* st) -> Status {
    const int rc =
        sqlite::Binder(st).text(account).time(since).int64(sqlite::limit_param(limit)).rc();
    if (rc != SQLITE_OK) return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_activity);
  });
  if (!s) return s.error();
  return rows;
}

Status SqliteStore::failed_logins_since(TimePoint since, std::size_t limit,
                                        const std::function<void(const ActivityRecord&)>& fn) {
  ActivityRecord r;
  r.type = EventType::kLoginResult;
  r.success = false;
  return with_read_stmt(sqlite::kFailedLoginsSince, [&](sqlite3_stmt* st) -> Status {
    const int rc = sqlite::Binder(st).time(since).int64(sqlite::limit_param(limit)).rc();
    if (rc != SQLITE_OK) return sqlite::read_error(nullptr, rc);
    return sqlite::for_each_row(st, [&](sqlite3_stmt* row) -> Status {
      sqlite::Row cols(row);
      r.time = cols.time();
      r.account = cols.text_view();
      const std::string_view ip = cols.text_view();
      auto parsed = IpAddress::parse(ip);
      if (!parsed) return sqlite::read_error("bad ip '" + std::string(ip) + "' in activity");
      r.ip = *parsed;
      fn(r);
      return {};
    });
  });
}

}  // namespace mamori::store
