// A source restarted from a position saved before its last batch (a crash
// between that batch's commit and its position's save) counts each line once.
#include "protocols/logs/log_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "protocols/logs/file_follower.h"
#include "protocols/logs/line_ids.h"
#include "store/memory/memory_store.h"
#include "testing/temp_dir.h"

namespace mamori::logs {
namespace {

// 2026-12-07T12:00:00Z; the lines are of an hour before.
const TimePoint kNow = from_unix_ms(1'796'644'800'000);

std::string login(const std::string& account, int session) {
  return "Dec  7 11:00:00 mail dovecot: imap-login: Login: user=<" + account +
         ">, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, mpid=" + std::to_string(session) +
         ", TLS, session=<s" + std::to_string(session) + ">\n";
}

std::string failures(const std::string& account, int attempts, int session) {
  return "Dec  7 11:00:00 mail dovecot: imap-login: Disconnected: Connection closed (auth "
         "failed, " +
         std::to_string(attempts) + " attempts in 2 secs): user=<" + account +
         ">, method=PLAIN, rip=192.0.2.8, lip=192.0.2.1, TLS, session=<f" +
         std::to_string(session) + ">\n";
}

class LogSourceRestart : public ::testing::Test {
 protected:
  LogSourceRestart() : clock_(kNow), engine_(engine::EngineConfig{}, store_, 7) {
    path_ = dir_.path() + "/mail.log";
    auto p = PositionStore::open(dir_.path() + "/logs");
    EXPECT_TRUE(p);
    positions_ = std::move(*p);
    config_.path = path_;
    config_.format.name = "dovecot";
  }

  void append(const std::string& text) {
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out << text;
  }

  // Runs a source until its position is saved at the file's end, then
  // stops it. Returns the events it counted as already stored.
  std::uint64_t run_to_the_end() {
    auto format = LogFormat::make(config_.format, clock_);
    EXPECT_TRUE(format);
    LogSourceOptions options;
    options.poll_interval = std::chrono::milliseconds(20);
    LogSource source(config_, std::make_unique<FileFollower>(path_, config_.max_line_bytes),
                     std::move(*format), engine_, store_, *positions_, clock_, options);
    source.start();
    const auto size = std::filesystem::file_size(path_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      FilePosition at;
      auto saved = positions_->get(path_);
      if (saved && FilePosition::parse(*saved, at) && at.offset == size) break;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "the position was not saved at the file's end (" << size << ")";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    source.stop();
    return source.already_stored();
  }

  std::size_t entries(const std::string& account) {
    auto a = store_.activity(account, kNow - std::chrono::hours(24), 1000);
    EXPECT_TRUE(a);
    return a ? a->size() : 0;
  }

  testing::TempDir dir_;
  std::string path_;
  ManualClock clock_;
  store::MemoryStore store_;
  engine::Engine engine_;
  std::unique_ptr<PositionStore> positions_;
  LogSourceConfig config_;
};

TEST_F(LogSourceRestart, LinesAfterAnOldSavedPositionWhoseEventsAreStoredAreSkipped) {
  append(login("alice", 1) + login("bob", 2) + login("alice", 3) + login("bob", 4));
  EXPECT_EQ(run_to_the_end(), 0u);
  const std::string before = *positions_->get(path_);

  // A batch of six events (one line reports three failures) is committed...
  append(failures("alice", 3, 5) + login("bob", 6) + login("alice", 7) + login("carol", 8));
  EXPECT_EQ(run_to_the_end(), 0u);
  EXPECT_EQ(entries("alice"), 2u + 3u + 1u);
  // ... and the process is killed before its position is saved.
  ASSERT_TRUE(positions_->put(path_, before));
  append(login("carol", 9) + failures("bob", 2, 10));

  EXPECT_EQ(run_to_the_end(), 6u);
  EXPECT_EQ(entries("alice"), 2u + 3u + 1u);
  EXPECT_EQ(entries("bob"), 2u + 1u + 2u);
  EXPECT_EQ(entries("carol"), 2u);
}

TEST_F(LogSourceRestart, EventsAreRecordedUnderTheirLinesIds) {
  append(failures("dave", 2, 1));
  run_to_the_end();
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  const std::string origin = std::to_string(st.st_ino) + ":0";
  const std::string text = failures("dave", 2, 1).substr(0, failures("dave", 2, 1).size() - 1);
  auto a = store_.activity("dave", kNow - std::chrono::hours(24), 10);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 2u);
  std::set<std::string> ids{(*a)[0].event_id, (*a)[1].event_id};
  const TimePoint line_time = (*a)[0].time;  // Dec 7 11:00:00 local
  EXPECT_EQ(ids, (std::set<std::string>{line_event_id(path_, origin, text, 0, line_time),
                                        line_event_id(path_, origin, text, 1, line_time)}));
}

// Lines after the saved position that were never processed are processed:
// the check does not skip what the activity log lacks.
TEST_F(LogSourceRestart, LinesNotStoredBeforeAreProcessedAfterARestart) {
  append(login("erin", 1));
  run_to_the_end();
  append(login("erin", 2) + login("erin", 3));
  EXPECT_EQ(run_to_the_end(), 0u);
  EXPECT_EQ(entries("erin"), 3u);
}

}  // namespace
}  // namespace mamori::logs
