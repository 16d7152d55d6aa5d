// SqliteStore's outbox (OutboxStore): the `outbox` table.

#include <string>

#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_store.h"

namespace mamori::store {

namespace sqlite {

namespace {

constexpr StatementSql kWriterSql[] = {
    {kEnqueueOutbox,
     "INSERT OR IGNORE INTO outbox (id, channel, destination, payload, created_ms, attempts,"
     " next_attempt_ms, last_error, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')"},
    {kOutboxDelivered,
     "UPDATE outbox SET state = 'delivered', done_ms = ?2, last_error = ''"
     " WHERE id = ?1 AND state = 'pending'"},
    {kOutboxRetry,
     "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3"
     " WHERE id = ?1 AND state = 'pending'"},
    {kOutboxFailed,
     "UPDATE outbox SET state = 'failed', attempts = attempts + 1, done_ms = ?2, last_error = ?3"
     " WHERE id = ?1 AND state = 'pending'"},
    {kPruneOutbox, "DELETE FROM outbox WHERE state != 'pending' AND done_ms < ?"},
};

constexpr StatementSql kReadSql[] = {
    {kDueOutbox,
     "SELECT id, channel, destination, payload, created_ms, attempts, next_attempt_ms, last_error,"
     " state, done_ms FROM outbox WHERE state = 'pending' AND next_attempt_ms <= ?"
     " ORDER BY next_attempt_ms, id LIMIT ?"},
    {kOutboxCounts,
     "SELECT state, channel, count(*), min(next_attempt_ms) FROM outbox"
     " WHERE state IN ('pending', 'failed') GROUP BY state, channel"},
};

Result<OutboxItem> read_outbox_item(sqlite3_stmt* st) {
  Row row(st);
  OutboxItem i;
  i.id = row.text();
  const std::string channel = row.text();
  auto c = outbox_channel_from_string(channel);
  if (!c) return read_error("unknown channel '" + channel + "' in outbox item " + i.id);
  i.channel = *c;
  i.destination = row.text();
  i.payload = row.text();
  i.created = row.time();
  i.attempts = row.int64();
  i.next_attempt = row.time();
  i.last_error = row.text();
  const std::string state = row.text();
  auto s = outbox_state_from_string(state);
  if (!s) return read_error("unknown state '" + state + "' in outbox item " + i.id);
  i.state = *s;
  if (row.next_is_null()) {
    row.skip();
  } else {
    i.done = row.time();
  }
  return i;
}

}  // namespace

RoleSql outbox_sql() { return {kWriterSql, kReadSql}; }

Status apply_write(const Writer& w, const EnqueueOutboxOp& op) {
  const OutboxItem& i = op.item;
  return w.exec(kEnqueueOutbox, "enqueue_outbox", [&](Binder& b) {
    b.text(i.id).text(to_string(i.channel)).text(i.destination).text(i.payload);
    b.time(i.created).int64(i.attempts).time(i.next_attempt).text(i.last_error);
  });
}

Status apply_write(const Writer& w, const OutboxDeliveredOp& op) {
  return w.exec(kOutboxDelivered, "outbox_delivered",
                [&](Binder& b) { b.text(op.id).time(op.when); });
}

Status apply_write(const Writer& w, const OutboxRetryOp& op) {
  return w.exec(kOutboxRetry, "outbox_retry",
                [&](Binder& b) { b.text(op.id).time(op.next_attempt).text(op.error); });
}

Status apply_write(const Writer& w, const OutboxFailedOp& op) {
  return w.exec(kOutboxFailed, "outbox_failed",
                [&](Binder& b) { b.text(op.id).time(op.when).text(op.error); });
}

Status apply_write(const Writer& w, const PruneOutboxOp& op) {
  return w.exec(kPruneOutbox, "prune", [&](Binder& b) { b.time(op.before); });
}

}  // namespace sqlite

WriteTicket SqliteStore::enqueue_outbox(OutboxItem item) {
  return commits_.enqueue(sqlite::EnqueueOutboxOp{std::move(item)});
}
WriteTicket SqliteStore::outbox_delivered(std::string id, TimePoint when) {
  return commits_.enqueue(sqlite::OutboxDeliveredOp{std::move(id), when});
}
WriteTicket SqliteStore::outbox_retry(std::string id, TimePoint next_attempt, std::string error) {
  return commits_.enqueue(sqlite::OutboxRetryOp{std::move(id), next_attempt, std::move(error)});
}
WriteTicket SqliteStore::outbox_failed(std::string id, TimePoint when, std::string error) {
  return commits_.enqueue(sqlite::OutboxFailedOp{std::move(id), when, std::move(error)});
}
WriteTicket SqliteStore::prune_outbox(TimePoint before) {
  return commits_.enqueue(sqlite::PruneOutboxOp{before});
}

Result<std::vector<OutboxItem>> SqliteStore::due_outbox(TimePoint now, std::size_t limit) {
  std::vector<OutboxItem> rows;
  Status s = with_read_stmt(sqlite::kDueOutbox, [&](sqlite3_stmt* st) -> Status {
    const int rc = sqlite::Binder(st).time(now).int64(sqlite::limit_param(limit)).rc();
    if (rc != SQLITE_OK) return sqlite::read_error(nullptr, rc);
    return sqlite::collect(st, rows, sqlite::read_outbox_item);
  });
  if (!s) return s.error();
  return rows;
}

Result<OutboxCounts> SqliteStore::outbox_counts() {
  OutboxCounts counts;
  Status s = with_read_stmt(sqlite::kOutboxCounts, [&](sqlite3_stmt* st) -> Status {
    for (;;) {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) return {};
      if (rc != SQLITE_ROW) return sqlite::read_error(sqlite3_db_handle(st), rc);
      sqlite::Row row(st);
      const std::string state = row.text();
      const std::string channel = row.text();
      const std::int64_t n = row.int64();
      auto c = outbox_channel_from_string(channel);
      if (!c) return sqlite::read_error("unknown channel '" + channel + "' in outbox");
      const auto i = static_cast<std::size_t>(*c);
      if (state == "pending") {
        counts.pending[i] = n;
        const TimePoint next = row.time();
        if (!counts.next_attempt || next < *counts.next_attempt) counts.next_attempt = next;
      } else {
        counts.failed[i] = n;
      }
    }
  });
  if (!s) return s.error();
  return counts;
}

}  // namespace mamori::store
