#include "engine/failing_ips.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/credential_stuffing.h"
#include "engine/ip_failures.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

struct Detectors {
  state::MemoryBudget budget{std::size_t(1) << 30};
  FailingIps ips{budget};
  FailingNetworks networks{budget};
  IpFailures ip_failures{ips};
  CredentialStuffing stuffing{ips, networks};

  std::vector<Finding> fail(const std::string& account, const IpAddress& ip, TimePoint t) {
    Event e;
    e.type = EventType::kLoginResult;
    e.success = false;
    e.account = account;
    e.ip = ip;
    e.time = t;
    std::vector<Finding> out;
    ip_failures.on_failure(IpFailuresConfig{}, e, out);
    stuffing.on_failure(CredentialStuffingConfig{}, e, out);
    return out;
  }
};

bool has(const std::vector<Finding>& findings, Reason r) {
  for (const Finding& f : findings)
    if (f.reason == r) return true;
  return false;
}

// ip_failures and credential_stuffing keep one entry per failing IP between
// them: an attack from many addresses costs one slot per address for both.
TEST(FailingIps, BothDetectorsShareOneEntryPerIp) {
  Detectors d;
  constexpr std::uint32_t kIps = 5'000;
  for (std::uint32_t i = 0; i < kIps; ++i) {
    const IpAddress ip = IpAddress::from_v4(0x0a000000 + (i << 8));  // one per /24
    EXPECT_TRUE(d.fail("user" + std::to_string(i % 7), ip, kT0 + seconds(i)).empty());
    EXPECT_TRUE(d.fail("user" + std::to_string(i % 7 + 1), ip, kT0 + seconds(i)).empty());
  }
  EXPECT_EQ(d.ips.size(), kIps);
}

// Sharing the entry changes neither count: one IP failing on distinct
// accounts is denied for stuffing at 20 accounts and delayed for its
// failures at 100.
TEST(FailingIps, EachDetectorKeepsItsOwnCount) {
  Detectors d;
  const IpAddress ip = *IpAddress::parse("203.0.113.66");
  for (int i = 0; i < 100; ++i) {
    const auto findings = d.fail("user" + std::to_string(i), ip, kT0 + seconds(i));
    EXPECT_EQ(has(findings, Reason::kCredentialStuffing), i + 1 >= 20) << i;
    EXPECT_EQ(has(findings, Reason::kIpFailures), i + 1 >= 100) << i;
  }
  EXPECT_EQ(d.ips.size(), 1u);
}

}  // namespace
}  // namespace mamori::engine::testing
