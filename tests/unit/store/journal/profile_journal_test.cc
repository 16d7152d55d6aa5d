#include "store/journal/profile_journal.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "store/profile_codec.h"
#include "testing/temp_dir.h"

namespace mamori::store::journal {
namespace {

namespace fs = std::filesystem;

// A profile whose version shows in its country list and its last login.
AccountProfile version(int v) {
  AccountProfile p;
  p.countries = {"JP", "v" + std::to_string(v)};
  p.asns = {std::uint32_t(v)};
  p.devices.push_back({"ua:Chrome/Windows", "", "Mozilla/5.0", from_unix_ms(v), from_unix_ms(v)});
  return p;
}

int version_of(const Result<AccountProfile>& p) {
  EXPECT_TRUE(p.ok()) << p.error().message;
  if (!p.ok() || p->asns.empty()) return -1;
  return int(p->asns.front());
}

ProfileJournalOptions manual(std::uint64_t gc_min_bytes = 1 << 20) {
  ProfileJournalOptions o;
  o.background_indexer = false;
  o.gc_min_bytes = gc_min_bytes;
  return o;
}

class ProfileJournalTest : public ::testing::Test {
 protected:
  std::string dir() const { return tmp_.path() + "/profiles"; }
  std::unique_ptr<ProfileJournal> open(ProfileJournalOptions o = manual()) {
    auto j = ProfileJournal::open(dir(), clock_, std::move(o));
    EXPECT_TRUE(j.ok()) << j.error().message;
    return j.ok() ? std::move(*j) : nullptr;
  }
  static void put(ProfileJournal& j, const std::vector<std::pair<std::string, int>>& batch) {
    for (const auto& [account, v] : batch) ASSERT_TRUE(j.stage(account, version(v)).ok());
    ASSERT_TRUE(j.write_staged().ok());
    j.publish_staged();
  }
  std::vector<std::string> generations() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir()))
      if (e.path().filename().string().starts_with("gen-")) v.push_back(e.path().filename());
    std::sort(v.begin(), v.end());
    return v;
  }
  mamori::testing::TempDir tmp_;
  ManualClock clock_{from_unix_ms(1'800'000'000'000)};
};

TEST_F(ProfileJournalTest, TheLatestVersionWins) {
  auto j = open();
  ASSERT_TRUE(j);
  put(*j, {{"alice", 1}, {"bob", 1}});
  put(*j, {{"alice", 2}});
  put(*j, {{"alice", 3}, {"alice", 4}});  // two in one batch: the later one
  auto check = [&](const char* when) {
    EXPECT_EQ(version_of(j->profile("alice")), 4) << when;
    EXPECT_EQ(version_of(j->profile("bob")), 1) << when;
    auto none = j->profile("carol");
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty()) << when;
  };
  check("in the tail");
  ASSERT_TRUE(j->index().ok());
  EXPECT_EQ(j->stats().runs, 1u);
  check("indexed");
  put(*j, {{"bob", 5}});
  EXPECT_EQ(version_of(j->profile("bob")), 5);
  j.reset();
  j = open();
  ASSERT_TRUE(j);
  EXPECT_EQ(version_of(j->profile("bob")), 5);
  EXPECT_EQ(version_of(j->profile("alice")), 4);
  // The whole profile comes back.
  auto p = j->profile("alice");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(encode_profile(*p), encode_profile(version(4)));
}

TEST_F(ProfileJournalTest, AFingerprintCollisionReadsTheRightAccount) {
  ProfileJournalOptions o = manual();
  o.fingerprint = [](std::string_view) { return std::uint64_t{7}; };
  o.key_scheme = 77;
  auto j = open(o);
  ASSERT_TRUE(j);
  put(*j, {{"alice", 1}, {"bob", 2}});
  put(*j, {{"alice", 3}});
  put(*j, {{"bob", 4}, {"carol", 5}});
  EXPECT_EQ(version_of(j->profile("alice")), 3);
  EXPECT_EQ(version_of(j->profile("bob")), 4);
  EXPECT_EQ(version_of(j->profile("carol")), 5);
  EXPECT_TRUE(j->profile("dave")->empty());
}

TEST_F(ProfileJournalTest, GarbageCollectionKeepsTheLatestOfEachAccount) {
  auto j = open(manual(/*gc_min_bytes=*/16 * 1024));
  ASSERT_TRUE(j);
  // 50 accounts, 10 versions each: nine in ten superseded.
  for (int v = 1; v <= 10; ++v) {
    std::vector<std::pair<std::string, int>> batch;
    for (int a = 0; a < 50; ++a) batch.push_back({"user" + std::to_string(a), v * 100 + a});
    put(*j, batch);
  }
  const std::uint64_t before = j->stats().bytes;
  ASSERT_GE(before, 16u * 1024);
  ASSERT_TRUE(j->index().ok());  // decides and copies
  EXPECT_EQ(j->stats().generation, 1u) << "the writer switches at its next batch";
  EXPECT_EQ(generations(), (std::vector<std::string>{"gen-00000001", "gen-00000002"}));
  for (int a = 0; a < 50; ++a)
    EXPECT_EQ(version_of(j->profile("user" + std::to_string(a))), 1000 + a);
  put(*j, {{"user7", 2007}});  // switches, then writes to the new generation
  EXPECT_EQ(j->stats().generation, 2u);
  EXPECT_EQ(j->stats().collections, 1u);
  EXPECT_LT(j->stats().bytes, before / 5);
  std::ifstream current(dir() + "/CURRENT");
  std::string name;
  current >> name;
  EXPECT_EQ(name, "gen-00000002");
  ASSERT_TRUE(j->index().ok());  // deletes the old generation
  EXPECT_EQ(generations(), (std::vector<std::string>{"gen-00000002"}));
  for (int a = 0; a < 50; ++a)
    EXPECT_EQ(version_of(j->profile("user" + std::to_string(a))), a == 7 ? 2007 : 1000 + a);
  j.reset();
  j = open(manual(16 * 1024));
  ASSERT_TRUE(j);
  EXPECT_EQ(j->stats().generation, 2u);
  for (int a = 0; a < 50; ++a)
    EXPECT_EQ(version_of(j->profile("user" + std::to_string(a))), a == 7 ? 2007 : 1000 + a);
}

TEST_F(ProfileJournalTest, NoCollectionWhileMostVersionsAreLive) {
  auto j = open(manual(8 * 1024));
  ASSERT_TRUE(j);
  std::vector<std::pair<std::string, int>> batch;
  for (int a = 0; a < 200; ++a) batch.push_back({"user" + std::to_string(a), a});
  put(*j, batch);
  put(*j, {{"user1", 1001}, {"user2", 1002}});
  ASSERT_TRUE(j->index().ok());
  put(*j, {{"user3", 1003}});
  EXPECT_EQ(j->stats().generation, 1u);
  EXPECT_EQ(generations(), (std::vector<std::string>{"gen-00000001"}));
  EXPECT_EQ(j->stats().runs, 1u) << "the look merged the runs into one";
}

TEST_F(ProfileJournalTest, OpenDeletesAGenerationThatIsNotCurrent) {
  {
    auto j = open(manual(16 * 1024));
    ASSERT_TRUE(j);
    for (int v = 0; v < 10; ++v) {
      std::vector<std::pair<std::string, int>> batch;
      for (int a = 0; a < 50; ++a) batch.push_back({"user" + std::to_string(a), v});
      put(*j, batch);
    }
    ASSERT_TRUE(j->index().ok());
    // Closed before the writer switched: the copy is abandoned.
    EXPECT_EQ(generations().size(), 2u);
  }
  auto j = open(manual(16 * 1024));
  ASSERT_TRUE(j);
  EXPECT_EQ(generations(), (std::vector<std::string>{"gen-00000001"}));
  EXPECT_EQ(j->stats().generation, 1u);
  EXPECT_EQ(version_of(j->profile("user3")), 9);
}

TEST_F(ProfileJournalTest, AMissingCurrentBesideGenerationsIsRefused) {
  {
    auto j = open();
    ASSERT_TRUE(j);
    put(*j, {{"alice", 1}});
  }
  fs::remove(dir() + "/CURRENT");
  auto r = ProfileJournal::open(dir(), clock_, manual());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store_open_failed");
  EXPECT_NE(r.error().message.find("CURRENT"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir() + "/gen-00000001/journal")) << "nothing deleted";
}

TEST_F(ProfileJournalTest, RefusesAnAccountNameItCannotStore) {
  auto j = open();
  ASSERT_TRUE(j);
  std::string out = "kept";
  Status s = ProfileJournal::encode(std::string(70'000, 'a'), version(1), out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "invalid_profile");
  EXPECT_EQ(out, "kept");
}

// The writer keeps changing profiles while the background indexer collects
// garbage: the versions appended while a copy runs are carried over at the
// switch, and every account reads its last version throughout.
TEST_F(ProfileJournalTest, CollectionsUnderAWriterLoseNoVersion) {
  ProfileJournalOptions o;
  o.index_every = std::chrono::milliseconds(1);
  o.gc_min_bytes = 32 * 1024;
  auto j = open(o);
  ASSERT_TRUE(j);
  constexpr int kAccounts = 64;
  std::vector<std::atomic<int>> latest(kAccounts);
  for (auto& l : latest) l = -1;
  std::atomic<bool> stop{false}, failed{false};
  std::thread reader([&] {
    while (!stop && !failed) {
      for (int a = 0; a < kAccounts && !failed; ++a) {
        const int before = latest[std::size_t(a)].load();
        auto p = j->profile("user" + std::to_string(a));
        const int got = p.ok() && !p->asns.empty() ? int(p->asns.front()) : -1;
        if (!p.ok() || got < before) {
          ADD_FAILURE() << "user" << a << " read " << got << " after " << before
                        << " was published";
          failed = true;
        }
      }
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int v = 0;
  while ((j->stats().collections < 3 || j->stats().delta_copied == 0) &&
         std::chrono::steady_clock::now() < deadline && !failed) {
    bool ok = true;
    for (int i = 0; i < 16; ++i, ++v)
      ok = ok && j->stage("user" + std::to_string(v % kAccounts), version(v)).ok();
    ok = ok && j->write_staged().ok();
    if (!ok) {
      ADD_FAILURE() << "a write failed";
      failed = true;
      break;
    }
    j->publish_staged();
    for (int i = v - 16; i < v; ++i) latest[std::size_t(i % kAccounts)] = i;
  }
  stop = true;
  reader.join();
  EXPECT_GE(j->stats().collections, 3u);
  EXPECT_GT(j->stats().delta_copied, 0u) << "no version was appended during a copy";
  for (int a = 0; a < kAccounts; ++a)
    EXPECT_EQ(version_of(j->profile("user" + std::to_string(a))), latest[std::size_t(a)].load());
  const std::uint64_t generation = j->stats().generation;
  j.reset();
  j = open(manual());
  ASSERT_TRUE(j);
  EXPECT_EQ(j->stats().generation, generation);
  for (int a = 0; a < kAccounts; ++a)
    EXPECT_EQ(version_of(j->profile("user" + std::to_string(a))), latest[std::size_t(a)].load());
}

}  // namespace
}  // namespace mamori::store::journal
