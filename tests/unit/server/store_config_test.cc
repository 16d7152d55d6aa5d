// [store] backend and [postgresql]: which durable store a node opens.

#include <gtest/gtest.h>

#include <string>

#include "server/config.h"
#include "testing/config_parsing.h"

namespace mamori::server {
namespace {

using mamori::testing::contains;
using mamori::testing::parse_error;
using mamori::testing::parse_ok;

TEST(StoreConfig, TheEmbeddedStoreIsTheDefault) {
  const Config c = parse_ok("");
  EXPECT_EQ(c.store_backend, "sqlite");
  EXPECT_EQ(c.postgresql_pool, 8);
  EXPECT_TRUE(c.postgresql_url.empty());
}

TEST(StoreConfig, PostgresqlTakesItsUrlAndPool) {
  const Config c = parse_ok(
      "[store]\nbackend = \"postgresql\"\n\n"
      "[postgresql]\nurl = \"postgresql://mamori@db.internal:5433/mamori\"\npool = 16\n");
  EXPECT_EQ(c.store_backend, "postgresql");
  EXPECT_EQ(c.postgresql_url, "postgresql://mamori@db.internal:5433/mamori");
  EXPECT_EQ(c.postgresql_pool, 16);
}

TEST(StoreConfig, RefusesAnUnknownBackendAMissingUrlAndABadPool) {
  EXPECT_TRUE(contains(parse_error("[store]\nbackend = \"mysql\"\n"), "store.backend"))
      << "backend";
  const std::string missing = parse_error("[store]\nbackend = \"postgresql\"\n");
  EXPECT_TRUE(contains(missing, "postgresql.url is required")) << missing;
  const std::string pool = parse_error(
      "[store]\nbackend = \"postgresql\"\n[postgresql]\nurl = \"postgresql://h/db\"\npool = 0\n");
  EXPECT_TRUE(contains(pool, "postgresql.pool")) << pool;
  EXPECT_TRUE(contains(parse_error("[postgresql]\nurl = \"postgresql://h/db\"\nport = 1\n"),
                       "postgresql.port is not a known setting"));
}

TEST(StoreConfig, ABadUrlIsNamedWithItsLineAndNeverShowsThePassword) {
  const std::string msg = parse_error(
      "[store]\nbackend = \"postgresql\"\n\n[postgresql]\n"
      "url = \"postgresql://mamori:hunter2@db:70000/mamori\"\n");
  EXPECT_TRUE(contains(msg, "test.toml:5")) << msg;
  EXPECT_TRUE(contains(msg, "postgresql.url")) << msg;
  EXPECT_TRUE(contains(msg, "mamori:***@db:70000")) << msg;
  EXPECT_FALSE(contains(msg, "hunter2")) << msg;
}

TEST(StoreConfig, ChangingTheStoreNeedsARestartAndTheMessageHidesThePassword) {
  const Config a = parse_ok(
      "[store]\nbackend = \"postgresql\"\n[postgresql]\nurl = \"postgresql://u:pw1@a/db\"\n");
  const Config b = parse_ok(
      "[store]\nbackend = \"postgresql\"\n[postgresql]\nurl = \"postgresql://u:pw2@b/db\"\n");
  const auto changes = changes_needing_restart(a, b);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], "postgresql.url changed: needs a restart; keeping postgresql://u:***@a/db");
  EXPECT_EQ(changes_needing_restart(a, parse_ok("")).size(), 2u);  // backend and url
}

}  // namespace
}  // namespace mamori::server
