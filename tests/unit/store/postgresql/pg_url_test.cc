#include "store/postgresql/pg_url.h"

#include <gtest/gtest.h>

namespace mamori::store::postgresql {
namespace {

TEST(PgUrl, AcceptsAUrlWithUserHostPortAndDatabase) {
  auto url = parse_pg_url("postgresql://mamori@127.0.0.1:5432/mamori");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->database, "mamori");
  EXPECT_EQ(url->redacted, "postgresql://mamori@127.0.0.1:5432/mamori");
  EXPECT_TRUE(parse_pg_url("postgres://db.example/mamori?sslmode=require"));
}

TEST(PgUrl, RefusesWhatLibpqWouldNotConnectWith) {
  for (const char* bad :
       {"mysql://mamori@127.0.0.1/mamori", "host=127.0.0.1 dbname=mamori",
        "postgresql://mamori@127.0.0.1:99999/mamori", "postgresql://mamori@127.0.0.1:54x2/mamori",
        "postgresql://mamori@127.0.0.1:5432", "postgresql:///mamori",
        "postgresql://127.0.0.1/mamori?no_such_param=1", "postgresql://127.0.0.1/ma mori", ""}) {
    auto url = parse_pg_url(bad);
    EXPECT_FALSE(url) << bad;
    if (!url) {
      EXPECT_EQ(url.error().code, "invalid_url") << bad;
    }
  }
}

TEST(PgUrl, NeverShowsThePassword) {
  EXPECT_EQ(redact_pg_url("postgresql://mamori:s3cret@db:5432/mamori"),
            "postgresql://mamori:***@db:5432/mamori");
  EXPECT_EQ(redact_pg_url("postgresql://db/mamori?sslmode=require&password=s3cret"),
            "postgresql://db/mamori?sslmode=require&password=***");
  EXPECT_EQ(redact_pg_url("postgresql://mamori@db/mamori"), "postgresql://mamori@db/mamori");
  auto url = parse_pg_url("postgresql://mamori:s3cret@db:5432/mamori");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->redacted.find("s3cret"), std::string::npos);
  auto bad = parse_pg_url("postgresql://mamori:s3cret@db:0/mamori");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find("s3cret"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("mamori:***@db:0"), std::string::npos) << bad.error().message;
}

TEST(PgUrl, TellsAUrlFromADataDir) {
  EXPECT_TRUE(is_pg_url("postgresql://db/mamori"));
  EXPECT_TRUE(is_pg_url("postgres://db/mamori"));
  EXPECT_FALSE(is_pg_url("/var/lib/mamori"));
  EXPECT_FALSE(is_pg_url("./postgresql"));
}

}  // namespace
}  // namespace mamori::store::postgresql
