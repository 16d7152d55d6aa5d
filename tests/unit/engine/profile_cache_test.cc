// The login path's profile cache: profiles kept in memory within the budget,
// read from the store when not cached, and two accounts whose table keys
// collide never mixed up.
#include "engine/profile_cache.h"

#include <gtest/gtest.h>

#include <string>

#include "engine_harness.h"
#include "store/memory/memory_store.h"

namespace mamori::engine::testing {
namespace {

store::AccountProfile with_device(const std::string& key) {
  store::AccountProfile p;
  store::KnownDevice d;
  d.key = key;
  d.user_agent = "UA of " + key;
  d.first_seen = d.last_seen = kT0;
  p.devices.push_back(d);
  return p;
}

std::uint64_t everyone_collides(std::string_view) { return 42; }

struct ProfileCacheTest : ::testing::Test {
  TempDir dir;
  std::unique_ptr<store::EmbeddedStore> store = std::move(*store::EmbeddedStore::open(dir.path()));
};

TEST_F(ProfileCacheTest, AccountsWhoseKeysCollideKeepTheirOwnProfiles) {
  state::MemoryBudget budget(64 << 20);
  ProfileCache cache(*store, budget, &everyone_collides);
  ASSERT_TRUE(store->wait(cache.put("alice@example.com", with_device("id:alice"))).ok());
  ASSERT_TRUE(store->wait(cache.put("bob@example.com", with_device("id:bob"))).ok());
  EXPECT_EQ(cache.size(), 1u);  // one slot, taken in turns

  auto a = cache.get("alice@example.com");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->devices.size(), 1u);
  EXPECT_EQ(a->devices[0].key, "id:alice");

  // alice now holds the slot; bob's update reads bob's profile from the store.
  auto t = cache.modify("bob@example.com", [](store::AccountProfile& p, TimePoint& persisted) {
    p.countries.push_back("JP");
    persisted = kT0;
    return true;
  });
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(store->wait(*t).ok());
  auto b = cache.get("bob@example.com");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->devices.size(), 1u);
  EXPECT_EQ(b->devices[0].key, "id:bob");
  EXPECT_EQ(b->countries, (std::vector<std::string>{"JP"}));
  a = cache.get("alice@example.com");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->devices[0].key, "id:alice");
  EXPECT_TRUE(a->countries.empty());
  // The store has each account's own profile too.
  EXPECT_EQ(store->profile("alice@example.com")->devices[0].key, "id:alice");
  EXPECT_EQ(store->profile("bob@example.com")->countries, (std::vector<std::string>{"JP"}));
}

TEST_F(ProfileCacheTest, AProfileIsReadFromTheStoreOnceThenServedFromMemory) {
  state::MemoryBudget budget(64 << 20);
  store::AccountProfile one = with_device("id:one"), two = with_device("id:two");
  ASSERT_TRUE(store->wait(store->put_profile("carol@example.com", one)).ok());
  ProfileCache cache(*store, budget);
  auto first = cache.get("carol@example.com");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->devices[0].key, "id:one");
  // Written behind the cache's back: the cached copy is what the engine sees.
  ASSERT_TRUE(store->wait(store->put_profile("carol@example.com", two)).ok());
  EXPECT_EQ(cache.get("carol@example.com")->devices[0].key, "id:one");
  // modify() works on that copy in place and writes the result through.
  auto t = cache.modify("carol@example.com", [](store::AccountProfile& p, TimePoint&) {
    p.asns.push_back(64500);
    return true;
  });
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(store->wait(*t).ok());
  auto stored = store->profile("carol@example.com");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->devices[0].key, "id:one");
  EXPECT_EQ(stored->asns, (std::vector<std::uint32_t>{64500}));
  // Nothing to write: no ticket.
  auto none = cache.modify("carol@example.com", [](store::AccountProfile&, TimePoint&) { return false; });
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

TEST_F(ProfileCacheTest, ProfilesStayWithinTheBudgetAndEvictedOnesComeBackFromTheStore) {
  state::MemoryBudget budget(256 << 10);
  ProfileCache cache(*store, budget);
  store::WriteTicket last = 0;
  for (int i = 0; i < 5000; ++i)
    last = cache.put("user" + std::to_string(i) + "@example.com",
                     with_device("id:" + std::to_string(i)));
  ASSERT_TRUE(store->wait(last).ok());
  EXPECT_LE(budget.used(), budget.limit());
  EXPECT_GT(budget.evictions(), 0u);
  EXPECT_LT(cache.size(), 5000u);
  for (int i : {0, 1, 2499, 4999}) {
    auto p = cache.get("user" + std::to_string(i) + "@example.com");
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->devices.size(), 1u);
    EXPECT_EQ(p->devices[0].key, "id:" + std::to_string(i));
  }
}

TEST_F(ProfileCacheTest, AnotherNodesChangeDropsTheCopyUnlessThisNodesWriteIsStillQueued) {
  state::MemoryBudget budget(64 << 20);
  ProfileCache cache(*store, budget);
  store::AccountProfile one = with_device("id:one"), two = with_device("id:two");
  ASSERT_TRUE(store->wait(store->put_profile("dan@example.com", one)).ok());
  EXPECT_EQ(cache.get("dan@example.com")->devices[0].key, "id:one");
  // Another node writes it; told so, the cache reads the stored one again.
  ASSERT_TRUE(store->wait(store->put_profile("dan@example.com", two)).ok());
  EXPECT_EQ(cache.get("dan@example.com")->devices[0].key, "id:one");
  EXPECT_TRUE(cache.invalidate("dan@example.com", store->committed()));
  EXPECT_EQ(cache.get("dan@example.com")->devices[0].key, "id:two");
  EXPECT_EQ(cache.invalidated(), 1u);
  // This node's own write, committed at ticket t: a change told with the
  // store committed only up to before t leaves the copy (its write is the
  // newer); once t is committed, the copy goes.
  const store::WriteTicket t = cache.put("dan@example.com", with_device("id:three"));
  ASSERT_TRUE(store->wait(t).ok());
  EXPECT_FALSE(cache.invalidate("dan@example.com", t - 1));
  EXPECT_EQ(cache.get("dan@example.com")->devices[0].key, "id:three");
  EXPECT_TRUE(cache.invalidate("dan@example.com", t));
  // Accounts not cached: nothing to drop.
  EXPECT_FALSE(cache.invalidate("nobody@example.com", store->committed()));
  EXPECT_EQ(cache.invalidated(), 2u);
}

TEST_F(ProfileCacheTest, AMergedWriteDropsTheCopyOnlyIfNothingWasWrittenOnItSince) {
  state::MemoryBudget budget(64 << 20);
  ProfileCache cache(*store, budget);
  // (The embedded store keeps the versions it is given.)
  store::AccountProfile p = with_device("id:one");
  p.version = 7;
  ASSERT_TRUE(store->wait(cache.put("eve@example.com", p)).ok());
  EXPECT_FALSE(cache.merged("eve@example.com", 6));  // an older write's
  EXPECT_EQ(cache.invalidated(), 0u);
  EXPECT_TRUE(cache.merged("eve@example.com", 7));
  EXPECT_EQ(cache.invalidated(), 1u);
  EXPECT_FALSE(cache.merged("eve@example.com", 7));  // gone already
}

TEST_F(ProfileCacheTest, OnAStoreInMemoryAChangedProfileIsWrittenWhenItsCopyLeaves) {
  store::MemoryStore memory;
  state::MemoryBudget budget(64 << 20);
  auto learn = [](std::string country) {
    return [country](store::AccountProfile& p, TimePoint& persisted) {
      p.countries.push_back(country);
      persisted = kT0;
      return true;
    };
  };
  {
    ProfileCache cache(memory, budget, &everyone_collides);
    auto t = cache.modify("frank@example.com", learn("JP"));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, 0u);  // nothing written yet
    EXPECT_TRUE(memory.profile("frank@example.com")->countries.empty());
    EXPECT_EQ(cache.get("frank@example.com")->countries, (std::vector<std::string>{"JP"}));
    // Another account takes the one slot: frank's profile is written as it is.
    ASSERT_TRUE(cache.modify("grace@example.com", learn("FR")).ok());
    EXPECT_EQ(memory.profile("frank@example.com")->countries, (std::vector<std::string>{"JP"}));
    EXPECT_TRUE(memory.profile("grace@example.com")->countries.empty());
    // Read back from the store, changed again, then the cache goes: written.
    ASSERT_TRUE(cache.modify("frank@example.com", learn("DE")).ok());
    EXPECT_EQ(memory.profile("grace@example.com")->countries, (std::vector<std::string>{"FR"}));
    // A profile read and not changed is not written over what is stored.
    ASSERT_TRUE(cache.get("grace@example.com").ok());
    store::AccountProfile elsewhere;
    elsewhere.countries = {"US"};
    memory.put_profile("grace@example.com", elsewhere);
  }
  EXPECT_EQ(memory.profile("frank@example.com")->countries, (std::vector<std::string>{"JP", "DE"}));
  EXPECT_EQ(memory.profile("grace@example.com")->countries, (std::vector<std::string>{"US"}));
  // put() writes at once, as on every store.
  ProfileCache cache(memory, budget);
  cache.put("heidi@example.com", with_device("id:heidi"));
  EXPECT_EQ(memory.profile("heidi@example.com")->devices.size(), 1u);
}

}  // namespace
}  // namespace mamori::engine::testing
