// Engine::observe() and the observation sink: the hot state shared between
// nodes (a node counts the others' observations, and tells its own).
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "engine/engine.h"
#include "engine_harness.h"
#include "state/observation.h"

namespace mamori::engine {
namespace {

using testing::EngineHarness;
using testing::ip;
using testing::kT0;
using testing::seconds;

class Recorder : public state::ObservationSink {
 public:
  void observed(const state::Observation& o) override {
    std::lock_guard lock(mu_);
    seen.push_back(o);
  }
  std::mutex mu_;
  std::vector<state::Observation> seen;
};

state::Observation remote_failure(std::string account, std::string from, TimePoint t,
                                  std::string pwhash = "") {
  state::Observation o;
  o.kind = state::ObservationKind::kFailure;
  o.account = std::move(account);
  o.ip = ip(from);
  o.time = t;
  o.pwhash = std::move(pwhash);
  return o;
}

TEST(SharedObservations, RemoteFailuresCountTowardsTheLocalThreshold) {
  EngineHarness h;  // brute_force: 10 failures an hour
  for (int i = 0; i < 9; ++i)
    h.engine().observe(remote_failure("alice", "203.0.113.5", kT0 + seconds(i)));
  EXPECT_EQ(h.engine().blocks().size(), 0u);  // counted, nothing decided
  const Decision d = h.fail("alice", "203.0.113.5", kT0 + seconds(10));
  EXPECT_EQ(d.action(), Action::kDeny) << testing::describe(d);
  EXPECT_TRUE(d.has(Reason::kBruteForce)) << testing::describe(d);
}

TEST(SharedObservations, RemoteObservationsOverAThresholdDecideNothing) {
  EngineHarness h;
  Recorder sink;
  h.engine().set_observation_sink(&sink);
  // 30 distinct accounts from one IP: credential_stuffing's threshold (20)
  // and brute_force's (10) passed, by observations alone.
  for (int i = 0; i < 30; ++i)
    h.engine().observe(
        remote_failure("user" + std::to_string(i), "198.51.100.9", kT0 + seconds(i)));
  for (int i = 0; i < 12; ++i)
    h.engine().observe(remote_failure("bob", "198.51.100.10", kT0 + seconds(i)));
  EXPECT_EQ(h.engine().blocks().size(), 0u);
  EXPECT_EQ(h.engine().incidents().open_count(), 0u);
  EXPECT_EQ(h.engine().locks().size(), 0u);
  EXPECT_TRUE(sink.seen.empty());  // a remote observation is not told on
  auto activity = h.store().activity("bob", TimePoint{}, 10);
  ASSERT_TRUE(activity);
  EXPECT_TRUE(activity->empty());
  // The next local failure from the source is refused as on one node.
  const Decision d = h.fail("user99", "198.51.100.9", kT0 + seconds(40));
  EXPECT_TRUE(d.has(Reason::kCredentialStuffing)) << testing::describe(d);
}

TEST(SharedObservations, AllowListedSourcesAreNotCounted) {
  EngineHarness h;
  h.add_list(store::ListKind::kAllow, "203.0.113.0/24", kT0, seconds(30));
  for (int i = 0; i < 12; ++i)
    h.engine().observe(remote_failure("alice", "203.0.113.5", kT0 + seconds(i)));
  // The entry has expired: a local failure counts alone.
  const Decision d = h.fail("alice", "203.0.113.5", kT0 + seconds(60));
  EXPECT_EQ(d.action(), Action::kAllow) << testing::describe(d);
}

TEST(SharedObservations, LocalEventsAreToldToTheSink) {
  Recorder sink;  // outlives the engine
  EngineHarness h;
  h.engine().set_observation_sink(&sink);
  h.fail("alice", "203.0.113.5", kT0, "pw1");
  h.succeed("carol", "203.0.113.6", kT0 + seconds(1));
  h.attempt("dave", "203.0.113.7", kT0 + seconds(2));  // an attempt moves no window
  h.sync();  // carol's profile written: told once committed
  ASSERT_EQ(sink.seen.size(), 3u);
  EXPECT_EQ(sink.seen[0].kind, state::ObservationKind::kFailure);
  EXPECT_EQ(sink.seen[0].account, "alice");
  EXPECT_EQ(sink.seen[0].pwhash, "pw1");
  EXPECT_EQ(sink.seen[0].ip, ip("203.0.113.5"));
  EXPECT_EQ(sink.seen[0].time, kT0);
  EXPECT_EQ(sink.seen[1].kind, state::ObservationKind::kSuccess);
  EXPECT_EQ(sink.seen[1].account, "carol");
  EXPECT_EQ(sink.seen[2].kind, state::ObservationKind::kProfile);
  EXPECT_EQ(sink.seen[2].account, "carol");
  EXPECT_EQ(sink.seen[2].time, kT0 + seconds(1));
}

TEST(SharedObservations, AnotherNodesProfileChangeDropsTheCachedCopy) {
  EngineHarness h;
  h.succeed("erin", "203.0.113.8", kT0);
  h.sync();
  // Written behind the engine's back, as another node would.
  auto stored = h.store().profile("erin");
  ASSERT_TRUE(stored);
  store::AccountProfile p = *stored;
  p.countries = {"NZ"};
  ASSERT_TRUE(h.store().wait(h.store().put_profile("erin", p)).ok());
  EXPECT_TRUE(h.engine().account("erin")->profile.countries.empty());  // the cached copy
  state::Observation changed;
  changed.kind = state::ObservationKind::kProfile;
  changed.account = "erin";
  changed.time = kT0 + seconds(1);
  h.engine().observe(changed);
  EXPECT_EQ(h.engine().account("erin")->profile.countries, std::vector<std::string>{"NZ"});
}

TEST(SharedObservations, RemoteSendsCountAgainstTheMailQuota) {
  EngineConfig config;
  config.mail_volume.threshold = 100;
  EngineHarness h(config);
  Recorder sink;
  h.engine().set_observation_sink(&sink);
  state::Observation sent;
  sent.kind = state::ObservationKind::kMailSent;
  sent.account = "shop";
  sent.ip = ip("192.0.2.1");
  sent.time = kT0;
  sent.count = 90;
  h.engine().observe(sent);
  Event e = EngineHarness::event(EventType::kMailSent, "shop", "192.0.2.2", kT0 + seconds(1));
  e.recipient_count = 20;
  e.protocol = "smtp";
  const Decision over = h.process(e).decision;
  EXPECT_TRUE(over.has(Reason::kMailVolume)) << testing::describe(over);
  EXPECT_TRUE(sink.seen.empty());  // refused: not counted, not told
  e.recipient_count = 10;
  const Decision fits = h.process(e).decision;
  EXPECT_FALSE(fits.has(Reason::kMailVolume)) << testing::describe(fits);
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].kind, state::ObservationKind::kMailSent);
  EXPECT_EQ(sink.seen[0].count, 10u);
}

TEST(SharedObservations, RemoteMessagesCountTheirDistinctRecipients) {
  EngineConfig config;
  config.message_fanout.threshold = 5;
  EngineHarness h(config);
  Recorder sink;
  h.engine().set_observation_sink(&sink);
  state::Observation sent;
  sent.kind = state::ObservationKind::kMessage;
  sent.account = "mika";
  sent.ip = ip("192.0.2.1");
  sent.time = kT0;
  sent.recipients = {"friend-1", "friend-2", "friend-3", "friend-1"};
  sent.count = 4;
  h.engine().observe(sent);  // three distinct, nothing decided
  EXPECT_EQ(h.engine().locks().size(), 0u);
  EXPECT_TRUE(sink.seen.empty());
  Event e = EngineHarness::event(EventType::kMessageSent, "mika", "192.0.2.2", kT0 + seconds(1));
  e.recipients = {"friend-2", "friend-4"};  // one new: four, under the threshold
  EXPECT_FALSE(h.process(e).decision.has(Reason::kMessageFanout));
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].kind, state::ObservationKind::kMessage);
  EXPECT_EQ(sink.seen[0].recipients, e.recipients);
  e.recipients = {"friend-5"};  // the fifth distinct one
  const Decision over = h.process(e).decision;
  EXPECT_TRUE(over.has(Reason::kMessageFanout)) << testing::describe(over);
  EXPECT_EQ(sink.seen.size(), 2u);  // refused, its recipients counted all the same
}

}  // namespace
}  // namespace mamori::engine
