// [detections.distributed_stuffing]: its defaults (those of
// examples/mamori.toml), every key, and the checks.
#include <gtest/gtest.h>

#include <string>

#include "server/config.h"
#include "testing/config_parsing.h"

namespace mamori::server {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

using mamori::testing::contains;
using mamori::testing::parse_error;
using mamori::testing::parse_ok;
using mamori::testing::source_dir;

TEST(ParseConfig, DistributedStuffingDefaultsAreTheExamples) {
  const engine::DistributedStuffingConfig d = parse_ok("").engine.distributed_stuffing;
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.window, hours(1));
  EXPECT_EQ(d.prefix_v4, 16);
  EXPECT_EQ(d.prefix_v6, 48);
  EXPECT_EQ(d.prefix_threshold, 20u);
  EXPECT_EQ(d.asn_threshold, 40u);
  EXPECT_EQ(d.fingerprint_threshold, 50u);
  EXPECT_EQ(d.min_failure_percent, 50u);
  EXPECT_EQ(d.min_hot_sources, 2u);
  EXPECT_EQ(d.deny_failure_percent, 95u);
  EXPECT_EQ(d.narrow_threshold, 5u);
  EXPECT_EQ(d.block, hours(1));
  EXPECT_EQ(d.raise_for, hours(1));
  auto example = load_config(source_dir() + "/examples/mamori.toml");
  ASSERT_TRUE(example.ok()) << example.error().message;
  const engine::DistributedStuffingConfig& x = example->engine.distributed_stuffing;
  EXPECT_EQ(x.enabled, d.enabled);
  EXPECT_EQ(x.window, d.window);
  EXPECT_EQ(x.prefix_v4, d.prefix_v4);
  EXPECT_EQ(x.prefix_v6, d.prefix_v6);
  EXPECT_EQ(x.prefix_threshold, d.prefix_threshold);
  EXPECT_EQ(x.asn_threshold, d.asn_threshold);
  EXPECT_EQ(x.fingerprint_threshold, d.fingerprint_threshold);
  EXPECT_EQ(x.min_failure_percent, d.min_failure_percent);
  EXPECT_EQ(x.min_hot_sources, d.min_hot_sources);
  EXPECT_EQ(x.deny_failure_percent, d.deny_failure_percent);
  EXPECT_EQ(x.narrow_threshold, d.narrow_threshold);
  EXPECT_EQ(x.block, d.block);
  EXPECT_EQ(x.raise_for, d.raise_for);
}

TEST(ParseConfig, DistributedStuffingEveryKey) {
  const engine::DistributedStuffingConfig c = parse_ok(R"(
[detections.distributed_stuffing]
enabled = false
window = "30m"
prefix_v4 = 20
prefix_v6 = 40
prefix_threshold = 30
asn_threshold = 60
fingerprint_threshold = 80
min_failure_percent = 70
min_hot_sources = 3
deny_failure_percent = 99
narrow_threshold = 8
block = "2h"
raise_for = "3h"
)")
                                                  .engine.distributed_stuffing;
  EXPECT_FALSE(c.enabled);
  EXPECT_EQ(c.window, minutes(30));
  EXPECT_EQ(c.prefix_v4, 20);
  EXPECT_EQ(c.prefix_v6, 40);
  EXPECT_EQ(c.prefix_threshold, 30u);
  EXPECT_EQ(c.asn_threshold, 60u);
  EXPECT_EQ(c.fingerprint_threshold, 80u);
  EXPECT_EQ(c.min_failure_percent, 70u);
  EXPECT_EQ(c.min_hot_sources, 3u);
  EXPECT_EQ(c.deny_failure_percent, 99u);
  EXPECT_EQ(c.narrow_threshold, 8u);
  EXPECT_EQ(c.block, hours(2));
  EXPECT_EQ(c.raise_for, hours(3));
}

TEST(ParseConfig, DistributedStuffingRefusalsNameFileLineAndKey) {
  std::string msg = parse_error("[detections.distributed_stuffing]\nprefix_v4 = 25\n");
  EXPECT_TRUE(contains(
      msg, "test.toml:2: detections.distributed_stuffing.prefix_v4 must be between 8 and 24"))
      << msg;
  msg = parse_error("[detections.distributed_stuffing]\n\nprefix_v6 = 96\n");
  EXPECT_TRUE(contains(
      msg, "test.toml:3: detections.distributed_stuffing.prefix_v6 must be between 16 and 64"))
      << msg;
  msg = parse_error("[detections.distributed_stuffing]\nmin_failure_percent = 0\n");
  EXPECT_TRUE(contains(
      msg, "detections.distributed_stuffing.min_failure_percent must be between 1 and 100"))
      << msg;
  msg = parse_error("[detections.distributed_stuffing]\ndeny_failure_percent = 101\n");
  EXPECT_TRUE(contains(msg, "detections.distributed_stuffing.deny_failure_percent")) << msg;
  msg = parse_error("[detections.distributed_stuffing]\nmin_hot_sources = 17\n");
  EXPECT_TRUE(
      contains(msg, "detections.distributed_stuffing.min_hot_sources must be between 1 and 16"))
      << msg;
  msg = parse_error("[detections.distributed_stuffing]\nraise_for = \"500ms\"\n");
  EXPECT_TRUE(contains(msg, "detections.distributed_stuffing.raise_for must be between 1s")) << msg;
  msg = parse_error("[detections.distributed_stuffing]\nenabled = 1\n");
  EXPECT_TRUE(contains(msg, "detections.distributed_stuffing.enabled must be true or false"))
      << msg;
  msg = parse_error("[detections.distributed_stuffing]\n\nnarrow_threshold = 200\n");
  EXPECT_TRUE(contains(msg,
                       "test.toml:3: detections.distributed_stuffing.narrow_threshold must not be "
                       "above detections.credential_stuffing.network_threshold (100)"))
      << msg;
  msg = parse_error("[detections.distributed_stuffing]\nprefix = 16\n");
  EXPECT_TRUE(contains(msg, "detections.distributed_stuffing.prefix is not a known setting"))
      << msg;
}

}  // namespace
}  // namespace mamori::server
