#include "store/journal/frame.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace mamori::store::journal {
namespace {

std::string frames(const std::vector<std::string>& payloads) {
  std::string out;
  for (const std::string& p : payloads) append_frame(out, p);
  return out;
}

std::vector<std::string> read_all(FrameReader& r) {
  std::vector<std::string> got;
  std::string_view payload;
  std::uint64_t offset = 0;
  while (r.next(payload, offset)) got.emplace_back(payload);
  return got;
}

// The CRC-32 of zlib and gzip (reflected, polynomial 0xEDB88320), bit by
// bit: the definition journals written by any build are checked against.
std::uint32_t reference_crc32(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

TEST(Frame, HeaderIsLengthThenZlibCrcLittleEndian) {
  std::string out;
  append_frame(out, "hello");
  ASSERT_EQ(out.size(), 13u);
  EXPECT_EQ(out.substr(0, 4), std::string("\x05\x00\x00\x00", 4));
  EXPECT_EQ(frame_crc("hello"), 0x3610a686u);
  EXPECT_EQ(out.substr(4, 4), std::string("\x86\xa6\x10\x36", 4));
  EXPECT_EQ(out.substr(8), "hello");
  EXPECT_EQ(frame_crc("123456789"), 0xCBF43926u);  // CRC-32's check value
}

// Every length through the vectorised paths' block sizes and alignments.
TEST(Frame, CrcIsZlibsCrc32AtEveryLengthAndAlignment) {
  std::string data(1100, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = char((i * 131 + 7) % 251);
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t n = 0; n + offset <= data.size(); n += (n < 300 ? 1 : 37)) {
      const std::string_view piece(data.data() + offset, n);
      ASSERT_EQ(frame_crc(piece), reference_crc32(piece)) << "length " << n << " offset " << offset;
    }
  }
}

TEST(Frame, ReadsRecordsWithTheirOffsets) {
  const std::string data = frames({"a", "bcd", std::string(300, 'x')});
  FrameReader r(data, 1000);
  std::string_view payload;
  std::uint64_t offset = 0;
  ASSERT_TRUE(r.next(payload, offset));
  EXPECT_EQ(payload, "a");
  EXPECT_EQ(offset, 1000u);
  ASSERT_TRUE(r.next(payload, offset));
  EXPECT_EQ(payload, "bcd");
  EXPECT_EQ(offset, 1009u);
  ASSERT_TRUE(r.next(payload, offset));
  EXPECT_EQ(payload.size(), 300u);
  EXPECT_EQ(offset, 1020u);
  EXPECT_FALSE(r.next(payload, offset));
  EXPECT_EQ(r.end(), FrameEnd::kClean);
  EXPECT_EQ(r.offset(), 1000u + data.size());
}

TEST(Frame, TornPayloadEndsTheJournalAtItsOffset) {
  std::string data = frames({"first", "second"});
  const std::uint64_t second = 13;
  data.resize(data.size() - 2);
  FrameReader r(data);
  EXPECT_EQ(read_all(r), std::vector<std::string>{"first"});
  EXPECT_EQ(r.end(), FrameEnd::kTorn);
  EXPECT_EQ(r.offset(), second);
}

TEST(Frame, ShortHeaderIsTorn) {
  std::string data = frames({"first"});
  data += std::string("\x06\x00\x00", 3);
  FrameReader r(data);
  EXPECT_EQ(read_all(r).size(), 1u);
  EXPECT_EQ(r.end(), FrameEnd::kTorn);
  EXPECT_EQ(r.offset(), 13u);
}

TEST(Frame, BadCrcIsCorrupt) {
  std::string data = frames({"first", "second", "third"});
  data[13 + 8] ^= 1;  // a bit of "second"
  FrameReader r(data);
  EXPECT_EQ(read_all(r), std::vector<std::string>{"first"});
  EXPECT_EQ(r.end(), FrameEnd::kCorrupt);
  EXPECT_EQ(r.offset(), 13u);
}

TEST(Frame, ZeroLengthAndOversizedLengthsAreCorrupt) {
  // A run of zeroes, as a file system may leave after a power cut: a zero
  // length's CRC (0) would match, so the length itself is refused.
  const std::string zeroes(64, '\0');
  FrameReader z(zeroes);
  EXPECT_TRUE(read_all(z).empty());
  EXPECT_EQ(z.end(), FrameEnd::kCorrupt);

  std::string big(8, '\0');
  const std::uint32_t len = kMaxFramePayload + 1;
  std::memcpy(big.data(), &len, 4);
  big += std::string(100, 'x');
  FrameReader b(big);
  EXPECT_TRUE(read_all(b).empty());
  EXPECT_EQ(b.end(), FrameEnd::kCorrupt);
}

TEST(Frame, BeginEndFrameWritesInPlace) {
  std::string out = "prefix";
  const std::size_t start = begin_frame(out);
  out += "payload";
  end_frame(out, start);
  std::string expected = "prefix";
  append_frame(expected, "payload");
  EXPECT_EQ(out, expected);
}

class FrameFile : public ::testing::Test {
 protected:
  void write_file(const std::string& data) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd_, 0);
    ASSERT_EQ(::write(fd_, data.data(), data.size()), ssize_t(data.size()));
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }
  mamori::testing::TempDir dir_;
  std::string path_ = dir_.path() + "/journal";
  int fd_ = -1;
};

TEST_F(FrameFile, ScanReadsRecordsAcrossItsBufferBoundaries) {
  // Records of up to 300 KiB so that several straddle the 1 MiB reads.
  std::vector<std::string> payloads;
  std::string data;
  for (int i = 0; i < 40; ++i) {
    payloads.push_back(std::string(std::size_t(1 + i * 7919 % 300'000), char('a' + i % 26)));
    append_frame(data, payloads.back());
  }
  write_file(data);
  std::vector<std::string> got;
  std::vector<std::uint64_t> offsets;
  auto scan = scan_frames(fd_, 0, data.size(), path_, "store_read_failed",
                          [&](std::uint64_t offset, std::string_view p) -> Result<bool> {
                            got.emplace_back(p);
                            offsets.push_back(offset);
                            return true;
                          });
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  EXPECT_EQ(scan->end, FrameEnd::kClean);
  EXPECT_EQ(scan->valid_end, data.size());
  EXPECT_EQ(scan->records, payloads.size());
  EXPECT_EQ(got, payloads);
  // Each offset reads back the same record.
  std::string buf;
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    std::string_view p;
    ASSERT_TRUE(read_frame_at(fd_, offsets[i], buf, p, path_, "store_read_failed").ok());
    EXPECT_EQ(p, payloads[i]);
  }
}

TEST_F(FrameFile, ScanReportsATornTailAndStopsEarlyOnRequest) {
  std::string data = frames({"one", "two", "three"});
  const std::uint64_t good = data.size();
  data += frames({std::string(5000, 'z')}).substr(0, 2000);
  write_file(data);
  auto scan = scan_frames(fd_, 0, ~std::uint64_t{0}, path_, "store_read_failed",
                          [](std::uint64_t, std::string_view) -> Result<bool> { return true; });
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->end, FrameEnd::kTorn);
  EXPECT_EQ(scan->valid_end, good);
  EXPECT_EQ(scan->records, 3u);

  int seen = 0;
  auto first =
      scan_frames(fd_, 0, data.size(), path_, "store_read_failed",
                  [&](std::uint64_t, std::string_view) -> Result<bool> { return ++seen < 2; });
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(first->valid_end, 11u + 11u);
}

TEST_F(FrameFile, ReadAtRefusesAWrongOffsetOrACorruptRecord) {
  std::string data = frames({"alpha", std::string(2000, 'b')});
  write_file(data);
  std::string buf;
  std::string_view p;
  EXPECT_FALSE(read_frame_at(fd_, 3, buf, p, path_, "store_read_failed").ok());
  EXPECT_FALSE(read_frame_at(fd_, data.size(), buf, p, path_, "store_read_failed").ok());
  ASSERT_TRUE(read_frame_at(fd_, 13, buf, p, path_, "store_read_failed").ok());
  EXPECT_EQ(p.size(), 2000u);
  const char flip = 'c';
  ASSERT_EQ(::pwrite(fd_, &flip, 1, 13 + 8 + 1500), 1);
  Status s = read_frame_at(fd_, 13, buf, p, path_, "store_read_failed");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store_read_failed");
  EXPECT_NE(s.error().message.find("offset 13"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace mamori::store::journal
