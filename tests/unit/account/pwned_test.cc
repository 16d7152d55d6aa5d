#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "account/password_checker.h"
#include "account/pwned_import.h"
#include "account/pwned_store.h"
#include "testing/temp_dir.h"

namespace mamori::account {
namespace {

std::string hex_upper(const Sha1Digest& d) {
  static constexpr char k[] = "0123456789ABCDEF";
  std::string out;
  for (auto b : d) {
    out += k[b >> 4];
    out += k[b & 15];
  }
  return out;
}

// Random hashes with counts; some share a 5-digit prefix.
std::map<std::string, std::uint32_t> make_set(int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::map<std::string, std::uint32_t> out;
  for (int i = 0; i < n; ++i) {
    std::string s = "pw" + std::to_string(rng());
    std::string h = hex_upper(Sha1::digest(s));
    if (i % 7 == 0 && !out.empty()) h.replace(0, 5, out.begin()->first.substr(0, 5));
    out[h] = 1 + rng() % 100000;
  }
  out[hex_upper(Sha1::digest("password"))] = 9'999'999;
  return out;
}

void write_lines(const std::string& path, const std::vector<std::pair<std::string, std::uint32_t>>& rows,
                 const std::string& eol) {
  std::ofstream f(path, std::ios::binary);
  for (const auto& [h, c] : rows) f << h << ':' << c << eol;
}

void check_store(const std::string& path, const std::map<std::string, std::uint32_t>& want) {
  auto s = PwnedStore::open(path);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)->size(), want.size());
  for (const auto& [h, c] : want) {
    Sha1Digest d;
    for (int i = 0; i < 20; ++i) d[std::size_t(i)] = std::uint8_t(std::stoi(h.substr(std::size_t(2 * i), 2), nullptr, 16));
    EXPECT_EQ((*s)->count(d), c) << h;
    const std::uint32_t bucket = std::uint32_t(std::stoul(h.substr(0, 5), nullptr, 16));
    EXPECT_TRUE((*s)->contains_suffix(bucket, h.substr(5)));
  }
  EXPECT_EQ((*s)->count(Sha1::digest("surely not in the set 1234")), 0u);
  // A range answers exactly the set's hashes with that prefix, in order.
  const std::string prefix = want.begin()->first.substr(0, 5);
  std::vector<std::string> expected;
  for (const auto& [h, c] : want)
    if (h.starts_with(prefix)) expected.push_back(h.substr(5) + ":" + std::to_string(c));
  std::vector<std::string> got;
  for (const auto& e : (*s)->range(std::uint32_t(std::stoul(prefix, nullptr, 16))))
    got.push_back(e.suffix + ":" + std::to_string(e.count));
  EXPECT_EQ(got, expected);
  EXPECT_GE(got.size(), 2u);
}

TEST(PwnedImport, SortedInputStreamsStraightThrough) {
  testing::TempDir tmp;
  auto set = make_set(3000, 1);
  write_lines(tmp.path() + "/in.txt", {set.begin(), set.end()}, "\r\n");
  PwnedImportOptions o{tmp.path() + "/in.txt", tmp.path() + "/pwned.bin", "", 24 * 1024, nullptr};
  auto st = import_pwned(o);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(st->input_sorted);
  EXPECT_EQ(st->runs, 0u);
  EXPECT_EQ(st->lines, set.size());
  check_store(o.output, set);
}

TEST(PwnedImport, UnsortedGzipInputIsSortedInBoundedRunsAndDuplicatesSummed) {
  testing::TempDir tmp;
  auto set = make_set(5000, 2);
  std::vector<std::pair<std::string, std::uint32_t>> rows(set.begin(), set.end());
  // A sorted head, then shuffled, then a duplicate split in two lines.
  std::shuffle(rows.begin() + 500, rows.end(), std::mt19937(3));
  const auto dup = rows[1000];
  rows.push_back({dup.first, 5});
  set[dup.first] += 5;
  std::string text;
  for (const auto& [h, c] : rows) text += h + ":" + std::to_string(c) + "\n";
  gzFile gz = gzopen((tmp.path() + "/in.txt.gz").c_str(), "wb");
  gzwrite(gz, text.data(), unsigned(text.size()));
  gzclose(gz);
  std::vector<std::string> progress;
  PwnedImportOptions o{tmp.path() + "/in.txt.gz", tmp.path() + "/pwned.bin", "", 24 * 1024,
                       [&](const std::string& l) { progress.push_back(l); }};
  auto st = import_pwned(o);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_FALSE(st->input_sorted);
  EXPECT_GE(st->runs, 3u);  // 4500 unsorted lines in runs of 1024
  EXPECT_EQ(st->records, set.size());
  ASSERT_FALSE(progress.empty());
  EXPECT_NE(progress.back().find("done"), std::string::npos);
  check_store(o.output, set);
  // No temporary files are left.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 2);
}

TEST(PwnedImport, ABadLineFailsNamingItAndKeepsTheOldStore) {
  testing::TempDir tmp;
  auto set = make_set(100, 4);
  write_lines(tmp.path() + "/good.txt", {set.begin(), set.end()}, "\n");
  PwnedImportOptions o{tmp.path() + "/good.txt", tmp.path() + "/pwned.bin", "", 1 << 20, nullptr};
  ASSERT_TRUE(import_pwned(o));
  std::ofstream(tmp.path() + "/bad.txt") << hex_upper(Sha1::digest("a")) << ":1\nnot a line\n";
  o.input = tmp.path() + "/bad.txt";
  auto st = import_pwned(o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "pwned_import_failed");
  EXPECT_NE(st.error().message.find("bad.txt:2"), std::string::npos);
  check_store(o.output, set);
  o.input = tmp.path() + "/missing.txt";
  EXPECT_FALSE(import_pwned(o));
}

TEST(PwnedImport, ParsesALineOfEitherCaseAndHoldsAHugeCount) {
  const std::string h = hex_upper(Sha1::digest("password"));
  auto upper = parse_pwned_line(h + ":10434004");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->hash, Sha1::digest("password"));
  EXPECT_EQ(upper->count, 10434004u);
  std::string lower = h;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return char(std::tolower(c)); });
  auto l = parse_pwned_line(lower + ":0");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->hash, upper->hash);
  EXPECT_EQ(l->count, 0u);
  EXPECT_EQ(parse_pwned_line(h + ":4294967295")->count, 4294967295u);
  EXPECT_EQ(parse_pwned_line(h + ":4294967296")->count, 4294967295u);
  EXPECT_EQ(parse_pwned_line(h + ":99999999999999999999999")->count, 4294967295u);
}

TEST(PwnedImport, RefusesALineThatIsNotHashColonCount) {
  const std::string h = hex_upper(Sha1::digest("password"));
  for (const std::string& bad :
       {std::string(), h, h + ":", h + ":1\r", h + ": 1", h + ":-1", h + ":1x", h.substr(1) + ":1",
        h + "0:1", "G" + h.substr(1) + ":1", h.substr(0, 39) + ":" + ":1"})
    EXPECT_FALSE(parse_pwned_line(bad)) << bad;
}

TEST(PwnedStore, RefusesFilesThatAreNotStores) {
  testing::TempDir tmp;
  std::ofstream(tmp.path() + "/x.bin") << "hello";
  auto s = PwnedStore::open(tmp.path() + "/x.bin");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "pwned_store_error");
  PwnedStoreHolder holder(tmp.path() + "/absent.bin");
  EXPECT_TRUE(holder.reload());
  EXPECT_EQ(holder.get(), nullptr);
}

TEST(PasswordChecker, WeakPersonalBreachedAndStrong) {
  testing::TempDir tmp;
  auto set = make_set(10, 5);
  set[hex_upper(Sha1::digest("Tr0ub4dor&3"))] = 42;
  write_lines(tmp.path() + "/in.txt", {set.begin(), set.end()}, "\n");
  ASSERT_TRUE(import_pwned({tmp.path() + "/in.txt", tmp.path() + "/pwned.bin", "", 1 << 20, nullptr}));
  PwnedStoreHolder holder(tmp.path() + "/pwned.bin");
  ASSERT_TRUE(holder.reload());
  PasswordChecker checker(PasswordPolicy{}, &holder);

  auto weak = checker.check("password", "", {});
  EXPECT_EQ(weak.score, 0);
  EXPECT_TRUE(weak.breached);
  EXPECT_EQ(weak.breach_count, 9'999'999u);
  EXPECT_FALSE(weak.acceptable);
  EXPECT_FALSE(weak.feedback.empty());

  auto breached = checker.check("Tr0ub4dor&3", "", {});
  EXPECT_TRUE(breached.breached);
  EXPECT_EQ(breached.breach_count, 42u);
  EXPECT_FALSE(breached.acceptable);

  const std::string personal_pw = "Kurosawa-Hanako-1987";
  auto generic = checker.check(personal_pw, "", {});
  auto personal = checker.check(personal_pw, "kurosawa.hanako@example.jp", {"Example Shop"});
  EXPECT_LT(personal.guesses_log10, generic.guesses_log10);
  bool mentions = false;
  for (const auto& f : personal.feedback) mentions |= f.find("personal details") != std::string::npos;
  EXPECT_TRUE(mentions);
  for (const auto& f : personal.feedback) EXPECT_EQ(f.find("urosawa"), std::string::npos);

  auto strong = checker.check("correct-walrus-tangerine-oboe-57", "alice", {});
  EXPECT_EQ(strong.score, 4);
  EXPECT_FALSE(strong.breached);
  EXPECT_TRUE(strong.acceptable);

  auto short_pw = checker.check("x9#Lq", "", {});
  EXPECT_FALSE(short_pw.acceptable);
}

TEST(PasswordChecker, ScoreThresholds) {
  EXPECT_EQ(score_for_guesses_log10(2.9), 0);
  EXPECT_EQ(score_for_guesses_log10(3), 1);
  EXPECT_EQ(score_for_guesses_log10(7.9), 2);
  EXPECT_EQ(score_for_guesses_log10(9), 3);
  EXPECT_EQ(score_for_guesses_log10(10), 4);
}

}  // namespace
}  // namespace mamori::account
