#include "server/decision_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"

namespace mamori::server {
namespace {

engine::Alert denied_login() {
  engine::Alert a;
  a.event_id = "018e0b6f5a2000000001";
  a.type = EventType::kLoginResult;
  a.account = "alice";
  a.ip = *IpAddress::parse("203.0.113.5");
  a.protocol = "imap";
  a.time = from_unix_ms(1'795'435'200'000);
  a.decision.add(Action::kDeny, Reason::kBruteForce, 80);
  a.incident_id = "inc-1";
  a.where.country = "JP";
  a.where.city = "Tokyo";
  a.where.asn = 2516;
  return a;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Polls until `path` has `n` lines (the writer is a background thread).
std::vector<std::string> wait_for_lines(const std::string& path, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<std::string> lines = lines_of(path);
  while (lines.size() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    lines = lines_of(path);
  }
  return lines;
}

TEST(DecisionLog, ALineHasEveryFieldOfTheDecision) {
  EXPECT_EQ(DecisionLog::format(denied_login()),
            R"({"time":"2026-11-23T12:00:00.000Z","event_id":"018e0b6f5a2000000001",)"
            R"("type":"login_result","account":"alice","ip":"203.0.113.5","protocol":"imap",)"
            R"("action":"deny","reasons":["brute_force"],"risk":80,"incident_id":"inc-1",)"
            R"("location":{"country":"JP","city":"Tokyo","asn":2516}})");
  engine::Alert bare = denied_login();
  bare.protocol.clear();
  bare.incident_id.clear();
  bare.where = {};
  EXPECT_EQ(DecisionLog::format(bare),
            R"({"time":"2026-11-23T12:00:00.000Z","event_id":"018e0b6f5a2000000001",)"
            R"("type":"login_result","account":"alice","ip":"203.0.113.5","action":"deny",)"
            R"("reasons":["brute_force"],"risk":80})");
}

TEST(DecisionLog, OffUntilAPathIsSet) {
  DecisionLog log;
  EXPECT_FALSE(log.enabled());
  mamori::testing::TempDir tmp;
  const std::string path = tmp.path() + "/decisions.jsonl";
  ASSERT_TRUE(log.set_path(path).ok());
  EXPECT_TRUE(log.enabled());
  log.record(denied_login());
  EXPECT_EQ(wait_for_lines(path, 1).size(), 1u);
  ASSERT_TRUE(log.set_path("").ok());
  EXPECT_FALSE(log.enabled());
}

TEST(DecisionLog, ReopenAfterARenameWritesANewFile) {
  mamori::testing::TempDir tmp;
  const std::string path = tmp.path() + "/decisions.jsonl";
  DecisionLog log;
  ASSERT_TRUE(log.set_path(path).ok());
  log.record(denied_login());
  ASSERT_EQ(wait_for_lines(path, 1).size(), 1u);
  std::filesystem::rename(path, path + ".1");
  ASSERT_TRUE(log.reopen().ok());
  engine::Alert second = denied_login();
  second.account = "bob";
  log.record(second);
  const std::vector<std::string> now = wait_for_lines(path, 1);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0].find(R"("account":"bob")"), std::string::npos) << now[0];
  EXPECT_EQ(lines_of(path + ".1").size(), 1u);
  EXPECT_EQ(log.written(), 2u);
}

TEST(DecisionLog, AnUnopenablePathIsRefusedWithTheReasonAndTheOldFileStays) {
  mamori::testing::TempDir tmp;
  const std::string path = tmp.path() + "/decisions.jsonl";
  DecisionLog log;
  ASSERT_TRUE(log.set_path(path).ok());
  const Status s = log.set_path(tmp.path() + "/missing/decisions.jsonl");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "decision log " + tmp.path() +
                                   "/missing/decisions.jsonl: cannot open: No such file or "
                                   "directory");
  EXPECT_EQ(log.path(), path);
  log.record(denied_login());
  EXPECT_EQ(wait_for_lines(path, 1).size(), 1u);
}

TEST(DecisionLog, WritesWhatIsQueuedBeforeItStops) {
  mamori::testing::TempDir tmp;
  const std::string path = tmp.path() + "/decisions.jsonl";
  {
    DecisionLog log(100'000);
    ASSERT_TRUE(log.set_path(path).ok());
    for (int i = 0; i < 1000; ++i) log.record(denied_login());
  }
  EXPECT_EQ(lines_of(path).size(), 1000u);
}

}  // namespace
}  // namespace mamori::server
