#include "protocols/logs/file_follower.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "protocols/logs/journal_reader.h"
#include "protocols/logs/positions.h"
#include "testing/temp_dir.h"

namespace mamori::logs {
namespace {

void append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << text;
}

std::vector<std::string> read_all(FileFollower& f) {
  std::vector<std::string> lines;
  auto n = f.read(1 << 20, [&](const RawLine& l) { lines.emplace_back(l.text); });
  EXPECT_TRUE(n);
  return lines;
}

using Lines = std::vector<std::string>;

TEST(FileFollower, ReadsAppendedLinesAndWaitsForAPartialOne) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/mail.log";
  append(log, "one\ntwo\nthr");
  FileFollower f(log, 1024);
  ASSERT_TRUE(f.restore(std::nullopt));
  EXPECT_EQ(read_all(f), (Lines{"one", "two"}));
  EXPECT_EQ(f.lag_bytes(), 3u);
  EXPECT_EQ(read_all(f), Lines{});
  append(log, "ee\nfour\n");
  EXPECT_EQ(read_all(f), (Lines{"three", "four"}));
  EXPECT_EQ(f.lag_bytes(), 0u);
}

TEST(FileFollower, MissingFileIsReadOnceItAppears) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/later.log";
  FileFollower f(log, 1024);
  ASSERT_TRUE(f.restore(std::nullopt));
  EXPECT_EQ(read_all(f), Lines{});
  append(log, "a\n");
  EXPECT_EQ(read_all(f), Lines{"a"});
}

TEST(FileFollower, RotationByRenameFinishesTheOldFileFirst) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/mail.log";
  append(log, "1\n2\n");
  FileFollower f(log, 1024);
  ASSERT_TRUE(f.restore(std::nullopt));
  EXPECT_EQ(read_all(f), (Lines{"1", "2"}));
  append(log, "3\n");
  std::filesystem::rename(log, log + ".1");
  append(log + ".1", "4\n");  // the writer has not reopened yet
  append(log, "5\n6\n");
  EXPECT_EQ(read_all(f), (Lines{"3", "4", "5", "6"}));
  append(log, "7\n");
  EXPECT_EQ(read_all(f), Lines{"7"});
}

TEST(FileFollower, CopytruncateStartsAgainFromTheStart) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/mail.log";
  append(log, "line one\nline two\n");
  FileFollower f(log, 1024);
  ASSERT_TRUE(f.restore(std::nullopt));
  EXPECT_EQ(read_all(f), (Lines{"line one", "line two"}));
  std::filesystem::copy_file(log, log + ".1");
  ASSERT_EQ(::truncate(log.c_str(), 0), 0);
  EXPECT_EQ(read_all(f), Lines{});
  append(log, "line three\n");
  EXPECT_EQ(read_all(f), Lines{"line three"});
}

TEST(FileFollower, TruncatedAndRefilledPastTheOffsetIsNoticedByTheFingerprint) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/mail.log";
  append(log, "a1\na2\n");
  FileFollower f(log, 1024);
  ASSERT_TRUE(f.restore(std::nullopt));
  EXPECT_EQ(read_all(f), (Lines{"a1", "a2"}));
  ASSERT_EQ(::truncate(log.c_str(), 0), 0);
  append(log, "b1\nb2\nb3\n");  // longer than before: the size alone does not show it
  EXPECT_EQ(read_all(f), (Lines{"b1", "b2", "b3"}));
}

TEST(FileFollower, RestoreResumesAfterTheLastDeliveredLine) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/mail.log";
  append(log, "1\n2\n3");
  std::string saved;
  {
    FileFollower f(log, 1024);
    ASSERT_TRUE(f.restore(std::nullopt));
    EXPECT_EQ(read_all(f), (Lines{"1", "2"}));
    saved = f.position();
  }
  append(log, "\n4\n");
  FileFollower g(log, 1024);
  auto r = g.restore(saved);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "");
  EXPECT_EQ(read_all(g), (Lines{"3", "4"}));
}

TEST(FileFollower, RestoreAfterARotationWhileStoppedReadsTheRotatedRest) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/mail.log";
  append(log, "1\n2\n");
  std::string saved;
  {
    FileFollower f(log, 1024);
    ASSERT_TRUE(f.restore(std::nullopt));
    EXPECT_EQ(read_all(f), (Lines{"1", "2"}));
    saved = f.position();
  }
  append(log, "3\n");
  std::filesystem::rename(log, log + ".1");
  append(log, "4\n");
  FileFollower g(log, 1024);
  auto r = g.restore(saved);
  ASSERT_TRUE(r);
  EXPECT_NE(r->find(".1"), std::string::npos);
  EXPECT_EQ(read_all(g), (Lines{"3", "4"}));
}

TEST(FileFollower, RestoreOfAReplacedFileStartsFromItsStart) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/mail.log";
  append(log, "old 1\nold 2\n");
  std::string saved;
  {
    FileFollower f(log, 1024);
    ASSERT_TRUE(f.restore(std::nullopt));
    read_all(f);
    saved = f.position();
  }
  std::filesystem::remove(log);
  append(log, "new 1\nnew 2\nnew 3\n");
  FileFollower g(log, 1024);
  auto r = g.restore(saved);
  ASSERT_TRUE(r);
  EXPECT_NE(*r, "");
  EXPECT_EQ(read_all(g), (Lines{"new 1", "new 2", "new 3"}));
}

TEST(FileFollower, LinesOverTheLimitAreSkippedAndCounted) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/mail.log";
  append(log, "short\n" + std::string(100, 'x') + "\nafter\n" + std::string(50, 'y'));
  FileFollower f(log, 32);
  ASSERT_TRUE(f.restore(std::nullopt));
  EXPECT_EQ(read_all(f), (Lines{"short", "after"}));
  EXPECT_EQ(f.too_long(), 1u);
  append(log, std::string(200'000, 'z') + "\nend\n");  // longer than a read's chunk
  EXPECT_EQ(read_all(f), Lines{"end"});
  EXPECT_EQ(f.too_long(), 2u);
}

// A line's origin (its file's inode and its start's offset) is the same when
// it is read again from an earlier saved position, partial line included.
TEST(FileFollower, OriginIsTheInodeAndOffsetOnEveryRead) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/mail.log";
  append(log, "one\ntwo\nthr");
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  const std::string inode = std::to_string(st.st_ino);
  using Origins = std::vector<std::pair<std::string, std::string>>;
  auto origins = [](FileFollower& f) {
    Origins out;
    EXPECT_TRUE(f.read(1 << 20, [&](const RawLine& l) {
      out.emplace_back(std::string(l.text), std::string(l.origin));
    }));
    return out;
  };
  FileFollower first(log, 1024);
  ASSERT_TRUE(first.restore(std::nullopt));
  EXPECT_EQ(origins(first), (Origins{{"one", inode + ":0"}, {"two", inode + ":4"}}));
  const std::string saved = first.position();
  append(log, "ee\nfour\n");
  EXPECT_EQ(origins(first), (Origins{{"three", inode + ":8"}, {"four", inode + ":14"}}));

  FileFollower again(log, 1024);
  ASSERT_TRUE(again.restore(saved));
  EXPECT_EQ(origins(again), (Origins{{"three", inode + ":8"}, {"four", inode + ":14"}}));
}

TEST(FilePosition, TextRoundTrip) {
  FilePosition p{42, 1000, 256, 0xdeadbeefULL}, q;
  ASSERT_TRUE(FilePosition::parse(p.text(), q));
  EXPECT_EQ(q.inode, 42u);
  EXPECT_EQ(q.offset, 1000u);
  EXPECT_EQ(q.fingerprint_bytes, 256u);
  EXPECT_EQ(q.fingerprint, 0xdeadbeefULL);
  EXPECT_FALSE(FilePosition::parse("file 1 2 3", q));
  EXPECT_FALSE(FilePosition::parse("journal s=abc", q));
}

TEST(PositionStore, PutIsReadBackByANewStore) {
  testing::TempDir dir;
  {
    auto s = PositionStore::open(dir.path() + "/logs");
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->put("/var/log/mail.log", "file 1 2 3 4"));
    ASSERT_TRUE((*s)->put("journal:ssh.service", "journal s=1;i=2"));
    ASSERT_TRUE((*s)->put("/var/log/mail.log", "file 1 9 3 4"));
  }
  auto s = PositionStore::open(dir.path() + "/logs");
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->get("/var/log/mail.log"), "file 1 9 3 4");
  EXPECT_EQ((*s)->get("journal:ssh.service"), "journal s=1;i=2");
  EXPECT_EQ((*s)->get("/other"), std::nullopt);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/logs/positions.tmp"));
}

TEST(PositionStore, ACorruptFileIsRefused) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/logs");
  append(dir.path() + "/logs/positions", "garbage without a tab\n");
  auto s = PositionStore::open(dir.path() + "/logs");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "positions_unreadable");
}

TEST(JournalFields, MessageAndTheSendersTime) {
  auto f = journal_fields("MESSAGE=Failed password for root from 192.0.2.1 port 22 ssh2",
                          "_SOURCE_REALTIME_TIMESTAMP=1733546496123456", 1733546497000000);
  EXPECT_EQ(f.message, "Failed password for root from 192.0.2.1 port 22 ssh2");
  ASSERT_TRUE(f.time);
  EXPECT_EQ(to_unix_ms(*f.time), 1733546496123);
  auto g = journal_fields("MESSAGE=x", "", 1733546497000000);
  EXPECT_EQ(to_unix_ms(*g.time), 1733546497000);
  auto h = journal_fields("OTHER=x", "_SOURCE_REALTIME_TIMESTAMP=zz", 0);
  EXPECT_EQ(h.message, "");
  EXPECT_FALSE(h.time);
}

TEST(JournalMatch, UnitOrIdentifier) {
  EXPECT_EQ(JournalMatch::for_setting("dovecot.service").text(), "_SYSTEMD_UNIT=dovecot.service");
  EXPECT_EQ(JournalMatch::for_setting("sshd").text(), "SYSLOG_IDENTIFIER=sshd");
}

}  // namespace
}  // namespace mamori::logs
