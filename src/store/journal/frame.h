#ifndef MAMORI_STORE_JOURNAL_FRAME_H_
#define MAMORI_STORE_JOURNAL_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori::store::journal {

// The framing of a journal record:
//
//   [u32 payload length][u32 crc32 of the payload][payload]
//
// little-endian, the CRC the CRC-32 of zlib and gzip (libdeflate computes it). A journal is records
// back to back; a reader stops at the first record that is short (a torn tail: the process or the
// machine stopped mid-write, or the disk filled up) or whose length or CRC is wrong (garbage), and
// that record's offset is the end of the valid journal. A payload is 1 to kMaxFramePayload bytes: a
// length of 0 is refused, so a stretch of zeroes (what some file systems leave after a power cut)
// never reads as records.
inline constexpr std::size_t kFrameHeaderBytes = 8;
inline constexpr std::uint32_t kMaxFramePayload = 1u << 20;

// The CRC-32 of `data` (zlib's crc32, the check value of "123456789" is
// 0xCBF43926).
std::uint32_t frame_crc(std::string_view data);

// Appends one framed record holding `payload`.
// REQUIRES: 1 <= payload.size() <= kMaxFramePayload
void append_frame(std::string& out, std::string_view payload);

// For an encoder that writes the payload in place: begin_frame() appends a
// header to fill and returns where the frame begins; the caller appends the
// payload; end_frame() fills the header in.
// REQUIRES (end_frame): 1 <= out.size() - start - kFrameHeaderBytes <= kMaxFramePayload
std::size_t begin_frame(std::string& out);
void end_frame(std::string& out, std::size_t start);

// What stopped a reader.
enum class FrameEnd : std::uint8_t {
  kClean,    // the data ended at a record boundary
  kTorn,     // a header or payload shorter than it says: a torn write
  kCorrupt,  // a length of 0 or over kMaxFramePayload, or a CRC that does not match
};
std::string_view to_string(FrameEnd e);

// The length a frame header announces (not checked). REQUIRES: 8 bytes.
std::uint32_t frame_payload_length(const char* header);

// Checks one whole frame at the start of `data` and gives its payload.
// kClean: `payload` is set and the frame is payload.size() + 8 bytes long.
FrameEnd parse_frame(std::string_view data, std::string_view& payload);

// Reads the records of a buffer in order. Thread-compatible.
class FrameReader {
 public:
  // `base` is the file offset of data[0]; offsets are reported in file terms.
  explicit FrameReader(std::string_view data, std::uint64_t base = 0) : data_(data), base_(base) {}

  // The next record's payload and its offset (the start of its header).
  // False at the end of the data or at the first bad record; end() says
  // which, and offset() is then where the valid records end.
  bool next(std::string_view& payload, std::uint64_t& offset);

  std::uint64_t offset() const { return base_ + pos_; }
  FrameEnd end() const { return end_; }

 private:
  std::string_view data_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
  FrameEnd end_ = FrameEnd::kClean;
};

// Where reading a file's records stopped.
struct FrameScan {
  std::uint64_t valid_end = 0;  // offset after the last good record
  FrameEnd end = FrameEnd::kClean;
  std::uint64_t records = 0;  // records handed to the callback
};

// Reads the records of the file `fd` from offset `from` (a record boundary)
// up to `to` in order, through a buffer of about 1 MiB (a record may span
// two reads), calling fn(offset, payload) for each; stops early when fn
// returns false. A bad record is not an error: the scan stops and reports
// it. Fails with `code` on a read error or when fn fails (fn's error).
Result<FrameScan> scan_frames(
    int fd, std::uint64_t from, std::uint64_t to, std::string_view path, std::string_view code,
    const std::function<Result<bool>(std::uint64_t offset, std::string_view payload)>& fn);

// Reads the one record at `offset` of `fd` into `buf` and points `payload`
// at it. Fails with `code` naming the file and offset when the record is
// short, too long or fails its CRC (it is corrupt, or `offset` is wrong).
Status read_frame_at(int fd, std::uint64_t offset, std::string& buf, std::string_view& payload,
                     std::string_view path, std::string_view code);

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_FRAME_H_
