// [state] backend and [redis]: the hot state shared over a Redis Cluster.
#include <gtest/gtest.h>

#include "server/config.h"
#include "testing/config_parsing.h"

namespace mamori::server {
namespace {

using mamori::testing::contains;
using mamori::testing::parse_error;
using mamori::testing::parse_ok;

TEST(RedisConfig, DefaultIsTheMemoryBackend) {
  const Config c = parse_ok("");
  EXPECT_FALSE(c.redis_state);
  EXPECT_EQ(c.redis.key_prefix, "mamori");
  EXPECT_EQ(c.redis.every, std::chrono::milliseconds(100));
}

TEST(RedisConfig, ReadsEveryKey) {
  const Config c = parse_ok(
      "[state]\nbackend = \"redis\"\n"
      "[redis]\nnodes = [\"127.0.0.1:7000\", \"[::1]:7001\"]\npassword = \"s3cret\"\n"
      "key_prefix = \"shop\"\nsync_every = \"50ms\"\nretention = \"2h\"\nqueue_mb = 8\n"
      "timeout_ms = 250\n");
  EXPECT_TRUE(c.redis_state);
  ASSERT_EQ(c.redis.cluster.seeds.size(), 2u);
  EXPECT_EQ(c.redis.cluster.seeds[1], "[::1]:7001");
  EXPECT_EQ(c.redis.cluster.connection.password, "s3cret");
  EXPECT_EQ(c.redis.key_prefix, "shop");
  EXPECT_EQ(c.redis.every, std::chrono::milliseconds(50));
  EXPECT_EQ(c.redis_retention, std::chrono::hours(2));
  EXPECT_EQ(c.redis.queue_bytes, std::size_t(8) << 20);
  EXPECT_EQ(c.redis.cluster.connection.command_timeout, std::chrono::milliseconds(250));
}

TEST(RedisConfig, UnknownBackendIsRefused) {
  const std::string msg = parse_error("[state]\nbackend = \"memcached\"\n");
  EXPECT_TRUE(contains(msg, "state.backend")) << msg;
}

TEST(RedisConfig, RedisBackendNeedsNodes) {
  const std::string msg = parse_error("[state]\nbackend = \"redis\"\n");
  EXPECT_TRUE(contains(msg, "redis.nodes")) << msg;
}

TEST(RedisConfig, MalformedNodeAndPrefixAreRefused) {
  std::string msg = parse_error("[redis]\nnodes = [\"127.0.0.1\"]\n");
  EXPECT_TRUE(contains(msg, "redis.nodes")) << msg;
  EXPECT_TRUE(contains(msg, "HOST:PORT")) << msg;
  msg = parse_error("[redis]\nnodes = [\"h:1\"]\nkey_prefix = \"a{b}\"\n");
  EXPECT_TRUE(contains(msg, "redis.key_prefix")) << msg;
  msg = parse_error("[redis]\nnodes = [\"h:1\"]\nsync_every = \"1ms\"\n");
  EXPECT_TRUE(contains(msg, "redis.sync_every")) << msg;
}

TEST(RedisConfig, TlsUsesTheSystemCasByDefault) {
  EXPECT_EQ(parse_ok("[redis]\nnodes = [\"h:1\"]\n").redis.cluster.connection.tls, nullptr);
  const Config c =
      parse_ok("[redis]\nnodes = [\"h:1\"]\ntls = true\nserver_name = \"redis.internal\"\n");
  ASSERT_NE(c.redis.cluster.connection.tls, nullptr);
  EXPECT_EQ(c.redis.cluster.connection.tls->server_name(), "redis.internal");
}

TEST(RedisConfig, BadTlsSettingsAreRefusedNamingTheFile) {
  std::string msg =
      parse_error("[redis]\nnodes = [\"h:1\"]\ntls = true\nca_file = \"/nonexistent/ca.crt\"\n");
  EXPECT_TRUE(contains(msg, "redis.tls")) << msg;
  EXPECT_TRUE(contains(msg, "/nonexistent/ca.crt")) << msg;
  msg = parse_error("[redis]\nnodes = [\"h:1\"]\ntls = true\ncert_file = \"/nonexistent/c.crt\"\n");
  EXPECT_TRUE(contains(msg, "cert_file and key_file go together")) << msg;
  msg =
      parse_error("[redis]\nnodes = [\"h:1\"]\nca_file = \"/etc/ssl/certs/ca-certificates.crt\"\n");
  EXPECT_TRUE(contains(msg, "need tls = true")) << msg;
}

}  // namespace
}  // namespace mamori::server
