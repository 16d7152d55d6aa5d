#include "store/postgresql/pg_schema.h"

#include <gtest/gtest.h>

#include <string>

#include "store/postgresql/pg_statements.h"
#include "store/record_changes.h"

namespace mamori::store::postgresql {
namespace {

TimePoint at(std::int64_t ms) { return from_unix_ms(ms); }

TEST(PgPartitions, NamesEachUtcDay) {
  EXPECT_EQ(utc_day(at(0)), 0);
  EXPECT_EQ(utc_day(at(86'399'999)), 0);
  EXPECT_EQ(utc_day(at(86'400'000)), 1);
  EXPECT_EQ(utc_day(at(-1)), -1);
  EXPECT_EQ(activity_partition_name(0), "activity_p19700101");
  // 2026-12-07 is day 20794.
  EXPECT_EQ(activity_partition_name(20794), "activity_p20261207");
  EXPECT_EQ(activity_partition_name(utc_day(at(1796601600000))), "activity_p20261207");
  EXPECT_EQ(activity_partition_name(20513), "activity_p20260301");
}

TEST(PgPartitions, ReadsBackOnlyTheNamesItMakes) {
  for (std::int64_t day : {0, 19000, 20794, 20876, 30000})
    EXPECT_EQ(activity_partition_day(activity_partition_name(day)), day);
  for (const char* other :
       {"activity", "activity_p2026120", "activity_p20261232", "activity_p20260230",
        "activity_pabcdefgh", "profiles", "activity_p202612071"})
    EXPECT_FALSE(activity_partition_day(other)) << other;
}

TEST(PgPartitions, CreatesADayFromMidnightToMidnightUtc) {
  EXPECT_EQ(create_activity_partition_sql(20794),
            "CREATE TABLE IF NOT EXISTS activity_p20261207 PARTITION OF activity FOR VALUES FROM "
            "('2026-12-07 00:00:00+00') TO ('2026-12-08 00:00:00+00')");
  EXPECT_NE(create_activity_partition_sql(20818).find("TO ('2027-01-01 00:00:00+00')"),
            std::string::npos);
}

TEST(PgSchema, EveryVersionHasItsMigration) {
  ASSERT_EQ(pg_migrations().size(), static_cast<std::size_t>(kPgSchemaVersion));
  const std::string first = pg_migrations()[0];
  for (const char* table : {"accounts", "list_entries", "incidents", "incident_accounts", "blocks",
                            "totp", "outbox", "profiles", "activity"})
    EXPECT_NE(first.find(std::string("CREATE TABLE ") + table + " ("), std::string::npos) << table;
  EXPECT_NE(first.find("PARTITION BY RANGE (at)"), std::string::npos);
  // 1 -> 2: the SQLite store's schema 7.
  EXPECT_NE(std::string(pg_migrations()[1]).find("CREATE TABLE owner_actions ("),
            std::string::npos);
  // 2 -> 3: the SQLite store's schema 8, and the operator actions' fields
  // in the activity log.
  const std::string third = pg_migrations()[2];
  EXPECT_NE(third.find("CREATE TABLE audit ("), std::string::npos);
  EXPECT_NE(third.find("ALTER TABLE incidents ADD COLUMN closed_ms BIGINT"), std::string::npos);
  EXPECT_NE(third.find("ALTER TABLE activity ADD COLUMN actor"), std::string::npos);
}

// The parameters each write queues fill its statement's placeholders.
int placeholders(const char* sql) {
  int highest = 0;
  for (const char* p = sql; *p != '\0'; ++p) {
    if (*p != '$') continue;
    const int n = std::atoi(p + 1);
    if (n > highest) highest = n;
  }
  return highest;
}

TEST(PgStatements, WritesQueueAParameterForEachPlaceholder) {
  ActivityRecord a;
  a.reasons = {"new_device", "new_location"};
  EXPECT_EQ(activity_params(a).size(),
            std::size_t(placeholders(statement_sql(kAppendActivityStmt))));
  Incident i;
  i.sources = {"203.0.113.5", "198.51.100.0/24"};
  EXPECT_EQ(incident_params(i).size(), std::size_t(placeholders(statement_sql(kPutIncidentStmt))));
  EXPECT_EQ(*incident_params(i)[4], "203.0.113.5,198.51.100.0/24");
  EXPECT_EQ(incident_account_params("x", IncidentAccount{}).size(),
            std::size_t(placeholders(statement_sql(kPutIncidentAccountStmt))));
  TotpRecord t;
  t.sealed_secret = {0x00, 0xab, 0xff};
  t.recovery_codes.push_back(TotpRecoveryCode{{0x12, 0x34}, from_unix_ms(5)});
  auto p = totp_params(t);
  EXPECT_EQ(p.size(), std::size_t(placeholders(statement_sql(kPutTotpStmt))));
  EXPECT_EQ(*p[1], "00abff");
  EXPECT_EQ(*p[6], "1234:5");
  EXPECT_FALSE(p[5]) << "no confirmation time: NULL";
  for (int id = 0; id < kStatementCount; ++id)
    EXPECT_EQ(std::string(statement_name(id)), "s" + std::to_string(id));
}

TEST(PgStatements, AnIncidentKeepsWhenItWasClosed) {
  Incident i;
  EXPECT_FALSE(incident_params(i)[7]) << "open: NULL";
  i.closed = from_unix_ms(1234);
  EXPECT_EQ(*incident_params(i)[7], "1234");
  EXPECT_NE(std::string(statement_sql(kPutIncidentStmt)).find("closed_ms = excluded.closed_ms"),
            std::string::npos);
  for (int id : {kIncidentStmt, kIncidentsStmt, kIncidentsForAccountStmt})
    EXPECT_NE(std::string(statement_sql(id)).find("closed_ms FROM"), std::string::npos) << id;
}

TEST(PgStatements, AnOperatorActionKeepsItsActorAndNoteInTheActivityLog) {
  ActivityRecord a;
  a.type = EventType::kOperatorAction;
  a.reasons = {"account_lock"};
  a.actor = "support-desk";
  a.note = "ticket 12, spam";
  const Params p = activity_params(a);
  EXPECT_EQ(*p[3], "operator_action");
  EXPECT_EQ(*p[13], "support-desk");
  EXPECT_EQ(*p[14], "ticket 12, spam");
  EXPECT_NE(std::string(statement_sql(kActivityStmt)).find("actor, note FROM"), std::string::npos);
}

TEST(PgStatements, AuditRecordsAndTheirQuery) {
  AuditRecord r;
  r.id = "a1";
  r.time = from_unix_ms(42);
  r.details = "{}";
  const Params p = audit_params(r);
  EXPECT_EQ(p.size(), std::size_t(placeholders(statement_sql(kAppendAuditStmt))));
  EXPECT_EQ(*p[1], "42");
  AuditQuery q;
  EXPECT_EQ(audit_query_params(q).size(), std::size_t(placeholders(statement_sql(kAuditStmt))));
  EXPECT_EQ(*audit_query_params(q)[0], "-9223372036854775808") << "no since: from the first";
  EXPECT_EQ(*audit_query_params(q)[1], "9223372036854775807") << "no until: to the last";
  q.since = from_unix_ms(10);
  q.until = from_unix_ms(20);
  q.actor = "support-desk";
  q.before = "a9";
  q.limit = 5;
  const Params qp = audit_query_params(q);
  EXPECT_EQ(*qp[0], "10");
  EXPECT_EQ(*qp[1], "20");
  EXPECT_EQ(*qp[2], "support-desk");
  EXPECT_EQ(*qp[3], "");
  EXPECT_EQ(*qp[5], "a9");
  EXPECT_EQ(*qp[6], "5");
  const std::string sql = statement_sql(kAuditStmt);
  EXPECT_NE(sql.find("ORDER BY time_ms DESC, id DESC"), std::string::npos) << sql;
}

TEST(PgStatements, AnOwnerActionDoneBeforeKeepsItsFirstRecord) {
  const std::string put = statement_sql(kPutOwnerActionStmt);
  EXPECT_EQ(placeholders(put.c_str()), 3);
  EXPECT_NE(put.find("ON CONFLICT (action_key) DO NOTHING"), std::string::npos) << put;
  // A claim not kept yet counts as done until its lease ($2) ends.
  EXPECT_EQ(placeholders(statement_sql(kOwnerActionStmt)), 2);
}

TEST(PgStatements, AClaimForWritesIsKeptOrReleasedByItsTime) {
  const std::string claim = statement_sql(kClaimOwnerActionForWritesStmt);
  EXPECT_EQ(placeholders(claim.c_str()), 4);
  EXPECT_NE(claim.find("WHERE NOT owner_actions.confirmed"), std::string::npos) << claim;
  EXPECT_NE(claim.find("RETURNING"), std::string::npos) << claim;
  EXPECT_EQ(placeholders(statement_sql(kConfirmOwnerActionStmt)), 2);
  const std::string release = statement_sql(kReleaseOwnerActionStmt);
  EXPECT_EQ(placeholders(release.c_str()), 2);
  EXPECT_NE(release.find("AND NOT confirmed"), std::string::npos) << release;
}

TEST(PgStatements, AProfileWriteReplacesOnlyTheVersionItWasBuiltOn) {
  const std::string put = statement_sql(kPutProfileIfStmt);
  EXPECT_EQ(placeholders(put.c_str()), 4);
  EXPECT_NE(put.find("WHERE profiles.version = $4"), std::string::npos) << put;
  EXPECT_EQ(placeholders(statement_sql(kProfileStmt)), 1);
}

TEST(PgStatements, ActivityOfASuccessOrNoneAndLimits) {
  ActivityRecord a;
  EXPECT_FALSE(activity_params(a)[10]) << "no success: NULL";
  a.success = false;
  EXPECT_EQ(*activity_params(a)[10], "f");
  EXPECT_EQ(limit_text(25), "25");
  EXPECT_EQ(limit_text(static_cast<std::size_t>(-1)), "9223372036854775807");
}

TEST(RecordChanges, CarriesKindAndKeyAndRefusesOtherText) {
  using Kind = RecordChange::Kind;
  auto c = parse_record_change(encode_record_change(Kind::kBlock, "account_ip:alice|203.0.113.5"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, Kind::kBlock);
  EXPECT_EQ(c->key, "account_ip:alice|203.0.113.5");
  EXPECT_EQ(encode_record_change(Kind::kLock, "alice"), "lock:alice");
  auto l = parse_record_change("lock:user:with:colons");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->key, "user:with:colons");
  for (const char* bad : {"", "lock", "lock:", "table:x", "block:no_scope_separator"})
    EXPECT_FALSE(parse_record_change(bad)) << bad;
}

}  // namespace
}  // namespace mamori::store::postgresql
