#include "store/journal/frame.h"

#include <libdeflate.h>

#include <algorithm>
#include <cstring>

#include "store/journal/file_util.h"

namespace mamori::store::journal {

namespace {

void put_u32(char* p, std::uint32_t v) {
  p[0] = char(v);
  p[1] = char(v >> 8);
  p[2] = char(v >> 16);
  p[3] = char(v >> 24);
}

std::uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t(u[0]) | std::uint32_t(u[1]) << 8 | std::uint32_t(u[2]) << 16 |
         std::uint32_t(u[3]) << 24;
}

}  // namespace

std::uint32_t frame_crc(std::string_view data) {
  return libdeflate_crc32(0, data.data(), data.size());
}

void append_frame(std::string& out, std::string_view payload) {
  const std::size_t start = begin_frame(out);
  out.append(payload);
  end_frame(out, start);
}

std::size_t begin_frame(std::string& out) {
  const std::size_t start = out.size();
  out.append(kFrameHeaderBytes, '\0');
  return start;
}

void end_frame(std::string& out, std::size_t start) {
  const std::size_t len = out.size() - start - kFrameHeaderBytes;
  char* h = out.data() + start;
  put_u32(h, std::uint32_t(len));
  put_u32(h + 4, frame_crc(std::string_view(h + kFrameHeaderBytes, len)));
}

std::string_view to_string(FrameEnd e) {
  switch (e) {
    case FrameEnd::kClean:
      return "clean";
    case FrameEnd::kTorn:
      return "torn";
    case FrameEnd::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

std::uint32_t frame_payload_length(const char* header) { return get_u32(header); }

FrameEnd parse_frame(std::string_view data, std::string_view& payload) {
  if (data.size() < kFrameHeaderBytes) return FrameEnd::kTorn;
  const std::uint32_t len = get_u32(data.data());
  if (len == 0 || len > kMaxFramePayload) return FrameEnd::kCorrupt;
  if (data.size() - kFrameHeaderBytes < len) return FrameEnd::kTorn;
  const std::string_view p = data.substr(kFrameHeaderBytes, len);
  if (frame_crc(p) != get_u32(data.data() + 4)) return FrameEnd::kCorrupt;
  payload = p;
  return FrameEnd::kClean;
}

bool FrameReader::next(std::string_view& payload, std::uint64_t& offset) {
  if (end_ != FrameEnd::kClean || pos_ == data_.size()) return false;
  const FrameEnd e = parse_frame(data_.substr(pos_), payload);
  if (e != FrameEnd::kClean) {
    end_ = e;
    return false;
  }
  offset = base_ + pos_;
  pos_ += kFrameHeaderBytes + payload.size();
  return true;
}

Result<FrameScan> scan_frames(
    int fd, std::uint64_t from, std::uint64_t to, std::string_view path, std::string_view code,
    const std::function<Result<bool>(std::uint64_t offset, std::string_view payload)>& fn) {
  constexpr std::size_t kChunk = 1u << 20;
  FrameScan scan;
  scan.valid_end = from;
  std::string buf;
  // buf holds the file's bytes [buf_base, buf_base + buf.size()).
  std::uint64_t buf_base = from;
  std::uint64_t next_read = from;
  for (;;) {
    // Drop what was consumed, keep a partial record, read more.
    const std::size_t consumed = std::size_t(scan.valid_end - buf_base);
    buf.erase(0, consumed);
    buf_base = scan.valid_end;
    const bool at_eof = next_read >= to;
    if (!at_eof) {
      // Enough for the partial record at the front, at least one chunk.
      std::size_t want = kChunk;
      if (buf.size() >= kFrameHeaderBytes) {
        const std::uint32_t len = frame_payload_length(buf.data());
        const std::size_t need = kFrameHeaderBytes + len;
        if (len <= kMaxFramePayload && need > buf.size() + want) want = need - buf.size();
      }
      want = std::size_t(std::min<std::uint64_t>(want, to - next_read));
      const std::size_t old = buf.size();
      buf.resize(old + want);
      std::size_t got = 0;
      if (Status s = pread_full(fd, buf.data() + old, want, next_read, got, path, code); !s)
        return s.error();
      buf.resize(old + got);
      next_read += got;
      if (got < want) to = next_read;  // the file is shorter than `to`
    }
    FrameReader reader(buf, buf_base);
    std::string_view payload;
    std::uint64_t offset = 0;
    while (reader.next(payload, offset)) {
      auto more = fn(offset, payload);
      if (!more) return more.error();
      ++scan.records;
      scan.valid_end = reader.offset();
      if (!*more) return scan;
    }
    scan.valid_end = reader.offset();
    if (reader.end() == FrameEnd::kCorrupt) {
      scan.end = FrameEnd::kCorrupt;
      return scan;
    }
    if (next_read >= to) {
      // Nothing more to read: the data ended at a record boundary or inside one.
      scan.end = reader.end();
      return scan;
    }
  }
}

Status read_frame_at(int fd, std::uint64_t offset, std::string& buf, std::string_view& payload,
                     std::string_view path, std::string_view code) {
  // One read for the usual record (a few hundred bytes), a second for a long one.
  constexpr std::size_t kGuess = 512;
  if (buf.size() < kGuess) buf.resize(kGuess);
  std::size_t got = 0;
  if (Status s = pread_full(fd, buf.data(), kGuess, offset, got, path, code); !s) return s;
  auto bad = [&](std::string_view what) {
    return make_error(std::string(code), std::string(path) + ": record at offset " +
                                             std::to_string(offset) + " is " + std::string(what));
  };
  if (got < kFrameHeaderBytes) return bad("past the end of the file");
  const std::uint32_t len = frame_payload_length(buf.data());
  if (len == 0 || len > kMaxFramePayload) return bad("corrupt (bad length)");
  const std::size_t total = kFrameHeaderBytes + len;
  if (total > got && got == kGuess) {
    buf.resize(total);
    std::size_t more = 0;
    if (Status s = pread_full(fd, buf.data() + got, total - got, offset + got, more, path, code);
        !s)
      return s;
    got += more;
  }
  const FrameEnd e = parse_frame(std::string_view(buf.data(), std::min(got, total)), payload);
  if (e == FrameEnd::kTorn) return bad("cut short");
  if (e == FrameEnd::kCorrupt) return bad("corrupt (bad CRC)");
  return {};
}

}  // namespace mamori::store::journal
