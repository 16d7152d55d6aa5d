#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine_harness.h"

namespace mamori::engine::testing {
namespace {

// The `i`th address of the IPv6 network 2001:db8:77:1::/64.
IpAddress flood_address(std::uint64_t i) {
  std::array<std::uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x77, 0x00, 0x01};
  for (int k = 0; k < 8; ++k) b[15 - k] = std::uint8_t((i + 1) >> (8 * k));
  return IpAddress::from_bytes(b);
}

// One failed login for `account` from each of `n` addresses of the flood's
// /64, one a millisecond from `start`. Returns the decision of each.
std::vector<Decision> flood(EngineHarness& h, std::string_view account, std::uint64_t n,
                            TimePoint start, int failures_each = 1) {
  std::vector<Decision> out;
  out.reserve(n * std::size_t(failures_each));
  Event e = EngineHarness::event(EventType::kLoginResult, account, "2001:db8:77:1::", start);
  for (std::uint64_t i = 0; i < n; ++i) {
    e.ip = flood_address(i);
    for (int k = 0; k < failures_each; ++k) {
      e.time = start + milliseconds(std::int64_t(i) * failures_each + k);
      e.pwhash = "flood-" + std::to_string(k);
      out.push_back(h.process(e).decision);
    }
  }
  return out;
}

// The flood of issue 17: with a 16 MB budget, 334k failures from one IPv6 /64
// on a dummy account, each from a different address of the /64, evicted
// alice's brute-force counter, so her attacker was denied at the 19th wrong
// password instead of the 10th. One-shot keys must evict one-shot keys
// first, never a counter one failure short of firing.
TEST(HotState, AFloodOf334kOneShotFailuresFromOneSlash64DoesNotEvictAlicesBruteForceCounter) {
  EngineConfig cfg;
  cfg.memory_budget_bytes = std::size_t(16) << 20;
  EngineHarness h(cfg);
  for (int i = 0; i < 9; ++i)
    EXPECT_ALLOWED(h.fail("alice", "203.0.113.5", kT0 + seconds(i), "pw" + std::to_string(i)));

  flood(h, "dummy", 334'000, kT0 + seconds(10));
  // The flood turned the budget over (two entries a failure: the account+IP
  // window and the IP's).
  const HotStateStats s = h.engine().hot_state();
  EXPECT_LE(s.bytes, s.budget_bytes);
  EXPECT_GT(s.evictions, s.entries) << s.entries << " entries";

  // Her attacker is denied at the 10th failure.
  EXPECT_DECISION(h.fail("alice", "203.0.113.5", kT0 + minutes(10), "pw9"), Action::kDeny,
                  Reason::kBruteForce);
}

// The same with every address of the flood failing twice (two distinct
// passwords): its keys are no longer one-shot, but still far from firing
// (2 of 10), and a counter at 9 of 10 outranks them.
TEST(HotState, AFloodOfTwoShotFailuresDoesNotEvictACounterCloseToFiring) {
  EngineConfig cfg;
  cfg.memory_budget_bytes = 1 << 20;  // the smallest the config allows
  EngineHarness h(cfg);
  for (int i = 0; i < 9; ++i)
    EXPECT_ALLOWED(h.fail("alice", "203.0.113.5", kT0 + seconds(i), "pw" + std::to_string(i)));
  flood(h, "dummy", 30'000, kT0 + seconds(10), 2);
  const HotStateStats s = h.engine().hot_state();
  EXPECT_GT(s.evictions, 3 * s.entries) << s.entries << " entries";
  EXPECT_DECISION(h.fail("alice", "203.0.113.5", kT0 + minutes(10), "pw9"), Action::kDeny,
                  Reason::kBruteForce);
}

// An attack from many distinct addresses must not grow the hot state past its
// budget, and must not make the engine forget a block.
TEST(HotState, StaysWithinBudgetAndKeepsBlocksUnderAFloodOfDistinctIps) {
  EngineConfig cfg;
  cfg.memory_budget_bytes = 1 << 20;  // the smallest the config allows
  EngineHarness h(cfg);
  for (int i = 0; i < 10; ++i)
    h.fail("alice", "203.0.113.5", kT0 + seconds(i), "pw" + std::to_string(i));
  ASSERT_TRUE(decided(h.attempt("alice", "203.0.113.5", kT0 + seconds(11)), Action::kDeny,
                      Reason::kBruteForce));

  // 8,000 addresses in distinct /24s, one failure each: several times what
  // the budget holds.
  for (int i = 0; i < 8000; ++i) {
    const std::string from = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1";
    h.fail("user" + std::to_string(i), from, kT0 + seconds(20) + milliseconds(i));
    const HotStateStats s = h.engine().hot_state();
    ASSERT_LE(s.bytes, s.budget_bytes) << "after " << i + 1 << " failures";
  }
  const HotStateStats s = h.engine().hot_state();
  EXPECT_EQ(s.budget_bytes, cfg.memory_budget_bytes);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.entries, 0u);
  // The block survived the pressure.
  EXPECT_DECISION(h.attempt("alice", "203.0.113.5", kT0 + minutes(5)), Action::kDeny,
                  Reason::kBruteForce);
}

// Maintenance drops the windows that have emptied, so counts that went
// quiet neither hold memory nor keep the rank they had when they were close
// to firing; windows still within their time stay, with their counts.
TEST(HotState, MaintenanceDropsTheWindowsThatHaveEmptied) {
  EngineHarness h;
  for (int i = 0; i < 9; ++i)
    h.fail("bob", "203.0.113.6", kT0 + seconds(i), "b" + std::to_string(i));
  for (int i = 0; i < 300; ++i)
    h.fail("user" + std::to_string(i),
           "10." + std::to_string(i / 200) + "." + std::to_string(i % 200) + ".1",
           kT0 + seconds(i));
  const std::size_t before = h.engine().hot_state().entries;
  const std::size_t bytes = h.engine().hot_state().bytes;
  ASSERT_GT(before, 600u);

  // Ten minutes on, nothing has emptied but the credential-stuffing windows
  // (kept: they share their entries with windows that have not).
  h.engine().maintain(kT0 + minutes(15));
  EXPECT_EQ(h.engine().hot_state().entries, before);
  EXPECT_DECISION(h.fail("bob", "203.0.113.6", kT0 + minutes(16), "b9"), Action::kDeny,
                  Reason::kBruteForce);

  // Past the longest window (ip_failures', 24 h) every window has emptied;
  // the networks seen from one address only keep their mark (their
  // address's entry is gone, so they are worth nothing).
  h.engine().maintain(kT0 + hours(25));
  EXPECT_LE(h.engine().hot_state().entries, 302u);
  EXPECT_LT(h.engine().hot_state().bytes, bytes);
}

// Blocks, account locks and list entries live outside the evictable hot
// windows: a flood many times the budget evicts windows (a brute-force count
// of one is forgotten; one at 9 of 10 is not) but none of them.
TEST(HotState, EvictionForgetsWindowsButNeverBlocksLocksOrListEntries) {
  EngineConfig cfg;
  cfg.memory_budget_bytes = 1 << 20;  // the smallest the config allows
  // The flood below is also a distributed_stuffing wave; at this smallest
  // budget that detector's tables (about 150 KB here) cost the brute-force
  // window at 9 its place. This test is about the windows it had before.
  cfg.distributed_stuffing.enabled = false;
  EngineHarness h(cfg);
  h.lock("carol", false, kT0);
  h.add_list(store::ListKind::kDeny, "198.51.100.0/24", kT0);
  h.add_list(store::ListKind::kDeny, "account:mallory", kT0);
  h.add_list(store::ListKind::kAllow, "192.0.2.7", kT0);
  // A brute-force block, a credential-stuffing block, and a brute-force
  // window one failure short of its threshold.
  for (int i = 0; i < 10; ++i)
    h.fail("alice", "203.0.113.5", kT0 + seconds(i), "pw" + std::to_string(i));
  for (int i = 0; i < 20; ++i)
    h.fail("victim" + std::to_string(i), "203.0.113.9", kT0 + seconds(i));
  for (int i = 0; i < 9; ++i)
    h.fail("bob", "203.0.113.6", kT0 + seconds(i), "b" + std::to_string(i));
  h.fail("dave", "203.0.113.8", kT0, "d0");
  ASSERT_TRUE(decided(h.attempt("alice", "203.0.113.5", kT0 + seconds(30)), Action::kDeny,
                      Reason::kBruteForce));
  ASSERT_TRUE(decided(h.attempt("anyone", "203.0.113.9", kT0 + seconds(30)), Action::kDeny,
                      Reason::kCredentialStuffing));

  // 20,000 failures from distinct addresses (distinct /24s) on distinct
  // accounts: several times what the budget holds.
  for (int i = 0; i < 20000; ++i) {
    const std::string from = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1";
    h.fail("user" + std::to_string(i), from, kT0 + seconds(40) + milliseconds(i));
    const HotStateStats s = h.engine().hot_state();
    ASSERT_LE(s.bytes, s.budget_bytes) << "after " << i + 1 << " failures";
  }
  const TimePoint later = kT0 + minutes(5);
  EXPECT_GT(h.engine().hot_state().evictions, 1000u);

  // Dave's one-shot window was evicted: nine more failures make nine, not ten.
  for (int i = 1; i < 10; ++i)
    EXPECT_FALSE(
        h.fail("dave", "203.0.113.8", later, "d" + std::to_string(i)).has(Reason::kBruteForce))
        << i;
  // Bob's window, one short of firing, was not.
  EXPECT_DECISION(h.fail("bob", "203.0.113.6", later, "b9"), Action::kDeny, Reason::kBruteForce);
  // Blocks, locks and list entries were not.
  EXPECT_DECISION(h.attempt("alice", "203.0.113.5", later), Action::kDeny, Reason::kBruteForce);
  EXPECT_DECISION(h.attempt("someone", "203.0.113.9", later), Action::kDeny,
                  Reason::kCredentialStuffing);
  EXPECT_DECISION(h.attempt("carol", "192.0.2.200", later), Action::kDeny, Reason::kAccountLocked);
  EXPECT_DECISION(h.attempt("frank", "198.51.100.77", later), Action::kDeny, Reason::kDenyList);
  EXPECT_DECISION(h.attempt("mallory", "192.0.2.201", later), Action::kDeny, Reason::kDenyList);
  // The allow-listed address is still never counted: 30 failures, still allowed.
  for (int i = 0; i < 30; ++i)
    h.fail("erin", "192.0.2.7", later + seconds(i), "e" + std::to_string(i));
  EXPECT_ALLOWED(h.attempt("erin", "192.0.2.7", later + minutes(1)));
}

}  // namespace
}  // namespace mamori::engine::testing
