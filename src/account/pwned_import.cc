#include "account/pwned_import.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <queue>
#include <vector>

#include "account/pwned_store.h"
#include "core/clock.h"

namespace mamori::account {

namespace {

namespace fs = std::filesystem;

// A hash and its count, as held while sorting (24 bytes).
struct Rec {
  std::array<std::uint8_t, 20> hash;
  std::uint32_t count;
  bool operator<(const Rec& o) const { return std::memcmp(hash.data(), o.hash.data(), 20) < 0; }
};
static_assert(sizeof(Rec) == 24);

Error import_error(const std::string& what) { return make_error("pwned_import_failed", what); }
Error io_error(const std::string& path, const char* doing) {
  return import_error("cannot " + std::string(doing) + " " + path + ": " + std::strerror(errno));
}

void put_le64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
void put_le32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
         std::uint32_t(p[3]) << 24;
}

std::uint32_t add_sat(std::uint32_t a, std::uint32_t b) {
  const std::uint64_t s = std::uint64_t(a) + b;
  return s > 0xffffffffu ? 0xffffffffu : std::uint32_t(s);
}

// A file written through a large buffer.
class Writer {
 public:
  Status open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return io_error(path, "create");
    buf_.reserve(kBuf);
    return {};
  }
  ~Writer() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status write(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    if (buf_.size() + n > kBuf)
      if (Status s = flush(); !s) return s;
    if (n >= kBuf) return write_all(b, n);  // large writes skip the buffer (no copy)
    buf_.insert(buf_.end(), b, b + n);
    return {};
  }
  Status flush() {
    if (Status s = write_all(buf_.data(), buf_.size()); !s) return s;
    buf_.clear();
    return {};
  }
  Status pwrite_at(const void* p, std::size_t n, std::uint64_t off) {
    if (Status s = flush(); !s) return s;
    if (::pwrite(fd_, p, n, off_t(off)) != ssize_t(n)) return io_error(path_, "write");
    return {};
  }
  Status sync_close() {
    if (Status s = flush(); !s) return s;
    if (::fsync(fd_) != 0) return io_error(path_, "sync");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return io_error(path_, "close");
    return {};
  }
  int fd() const { return fd_; }

 private:
  Status write_all(const std::uint8_t* p, std::size_t n) {
    std::size_t off = 0;
    while (off < n) {
      const ssize_t w = ::write(fd_, p + off, n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return io_error(path_, "write");
      }
      off += std::size_t(w);
    }
    return {};
  }
  static constexpr std::size_t kBuf = 1 << 20;
  std::string path_;
  int fd_ = -1;
  std::vector<std::uint8_t> buf_;
};

// Writes the store: header and index placeholders, then records in order.
class StoreWriter {
 public:
  Status open(const std::string& path) {
    if (Status s = out_.open(path); !s) return s;
    index_.assign(PwnedFormat::kBuckets + 1, 0);
    std::vector<std::uint8_t> zeros(PwnedFormat::kRecordsOffset, 0);
    return out_.write(zeros.data(), zeros.size());
  }
  // REQUIRES: hashes in non-decreasing order. Equal hashes are merged.
  Status add(const Rec& r) {
    if (have_last_ && std::memcmp(last_.hash.data(), r.hash.data(), 20) == 0) {
      last_.count = add_sat(last_.count, r.count);
      return {};
    }
    if (have_last_)
      if (Status s = emit(last_); !s) return s;
    last_ = r;
    have_last_ = true;
    return {};
  }
  Status finish() {
    if (have_last_)
      if (Status s = emit(last_); !s) return s;
    have_last_ = false;
    // index_[b] holds bucket b's count; turn it into start offsets.
    std::uint64_t start = 0;
    std::vector<std::uint8_t> idx(8 * (PwnedFormat::kBuckets + 1));
    for (std::size_t b = 0; b <= PwnedFormat::kBuckets; ++b) {
      const std::uint64_t n = b < PwnedFormat::kBuckets ? index_[b] : 0;
      put_le64(idx.data() + 8 * b, start);
      start += n;
    }
    std::uint8_t h[PwnedFormat::kHeaderBytes] = {};
    std::memcpy(h, PwnedFormat::kMagic, 8);
    put_le32(h + 8, PwnedFormat::kVersion);
    put_le32(h + 12, PwnedFormat::kPrefixBits);
    put_le32(h + 16, PwnedFormat::kRecordBytes);
    put_le64(h + 24, records_);
    put_le64(h + 32, PwnedFormat::kIndexOffset);
    put_le64(h + 40, PwnedFormat::kRecordsOffset);
    if (Status s = out_.pwrite_at(idx.data(), idx.size(), PwnedFormat::kIndexOffset); !s) return s;
    if (Status s = out_.pwrite_at(h, sizeof h, 0); !s) return s;
    return out_.sync_close();
  }
  std::uint64_t records() const { return records_ + (have_last_ ? 1 : 0); }
  // Per-bucket record counts so far (for reading the written part back).
  const std::vector<std::uint64_t>& bucket_counts() const { return index_; }
  Status flush() {
    if (have_last_) {
      if (Status s = emit(last_); !s) return s;
      have_last_ = false;
    }
    return out_.flush();
  }

 private:
  Status emit(const Rec& r) {
    std::uint8_t rec[PwnedFormat::kRecordBytes];
    std::memcpy(rec, r.hash.data() + 2, PwnedFormat::kSuffixBytes);
    put_le32(rec + PwnedFormat::kSuffixBytes, r.count);
    ++index_[PwnedFormat::bucket(r.hash)];
    ++records_;
    return out_.write(rec, sizeof rec);
  }
  Writer out_;
  std::vector<std::uint64_t> index_;
  std::uint64_t records_ = 0;
  Rec last_{};
  bool have_last_ = false;
};

// Reads a run back in order: either a spilled run file (raw Recs) or the
// record region of an unfinished store (hashes rebuilt from bucket counts).
class RunReader {
 public:
  RunReader(std::string path, std::uint64_t offset, bool store_records,
            std::vector<std::uint64_t> bucket_counts = {})
      : path_(std::move(path)), offset_(offset), store_(store_records),
        counts_(std::move(bucket_counts)) {}
  ~RunReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status open() {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return io_error(path_, "open");
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    return {};
  }
  // False at the end (or on error, with `error` set).
  bool next(Rec& r) {
    const std::size_t size = store_ ? PwnedFormat::kRecordBytes : sizeof(Rec);
    if (pos_ + size > len_) {
      // Refill, keeping a partial record.
      const std::size_t keep = len_ - pos_;
      std::memmove(buf_.data(), buf_.data() + pos_, keep);
      len_ = keep;
      pos_ = 0;
      while (len_ < size) {
        const ssize_t n = ::pread(fd_, buf_.data() + len_, buf_.size() - len_, off_t(offset_));
        if (n < 0) {
          if (errno == EINTR) continue;
          error = io_error(path_, "read");
          return false;
        }
        if (n == 0) return false;
        offset_ += std::uint64_t(n);
        len_ += std::size_t(n);
      }
    }
    const std::uint8_t* p = buf_.data() + pos_;
    pos_ += size;
    if (!store_) {
      std::memcpy(&r, p, sizeof r);
      return true;
    }
    while (bucket_ < counts_.size() && used_in_bucket_ >= counts_[bucket_]) {
      ++bucket_;
      used_in_bucket_ = 0;
    }
    ++used_in_bucket_;
    r.hash[0] = std::uint8_t(bucket_ >> 12);
    r.hash[1] = std::uint8_t(bucket_ >> 4);
    std::memcpy(r.hash.data() + 2, p, PwnedFormat::kSuffixBytes);
    r.count = le32(p + PwnedFormat::kSuffixBytes);
    return true;
  }
  Error error;

 private:
  std::string path_;
  std::uint64_t offset_;
  bool store_;
  std::vector<std::uint64_t> counts_;
  std::size_t bucket_ = 0;
  std::uint64_t used_in_bucket_ = 0;
  int fd_ = -1;
  std::vector<std::uint8_t> buf_ = std::vector<std::uint8_t>(1 << 20);
  std::size_t pos_ = 0, len_ = 0;
};

// Reads lines of a gzip or plain file (zlib reads plain files unchanged).
class LineReader {
 public:
  ~LineReader() {
    if (gz_) gzclose(gz_);
  }
  Status open(const std::string& path) {
    path_ = path;
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_) return io_error(path, "open");
    gzbuffer(gz_, 1 << 20);
    return {};
  }
  // False at the end; `error` is set on a read error.
  bool next(std::string_view& line) {
    for (;;) {
      const auto nl = static_cast<const char*>(std::memchr(buf_.data() + pos_, '\n', len_ - pos_));
      if (nl) {
        line = std::string_view(buf_.data() + pos_, std::size_t(nl - (buf_.data() + pos_)));
        pos_ = std::size_t(nl - buf_.data()) + 1;
        return true;
      }
      if (eof_) {
        if (pos_ < len_) {
          line = std::string_view(buf_.data() + pos_, len_ - pos_);
          pos_ = len_;
          return true;
        }
        return false;
      }
      std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
      len_ -= pos_;
      pos_ = 0;
      if (len_ == buf_.size()) {
        error = import_error(path_ + ": a line longer than " + std::to_string(buf_.size()) + " bytes");
        return false;
      }
      const int n = gzread(gz_, buf_.data() + len_, unsigned(buf_.size() - len_));
      if (n < 0) {
        int errnum = 0;
        error = import_error("cannot read " + path_ + ": " + gzerror(gz_, &errnum));
        return false;
      }
      if (n == 0) eof_ = true;
      len_ += std::size_t(n);
    }
  }
  Error error;

 private:
  std::string path_;
  gzFile gz_ = nullptr;
  std::vector<char> buf_ = std::vector<char>(1 << 20);
  std::size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
};

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Removes temporary files of imports whose process is gone.
void remove_stale(const fs::path& dir, const std::string& out_name) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::string rest;
    if (name.starts_with(out_name + ".tmp.")) rest = name.substr(out_name.size() + 5);
    else if (name.starts_with(out_name + ".run.")) rest = name.substr(out_name.size() + 5);
    else continue;
    const long pid = std::strtol(rest.c_str(), nullptr, 10);
    if (pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

std::string rate(std::uint64_t n, double secs) {
  char b[64];
  std::snprintf(b, sizeof b, "%.0f", secs > 0 ? double(n) / secs : 0.0);
  return b;
}

}  // namespace

std::optional<PwnedLine> parse_pwned_line(std::string_view line) {
  if (line.size() < 42 || line[40] != ':') return std::nullopt;
  PwnedLine r;
  for (int i = 0; i < 20; ++i) {
    const int a = hexval(line[std::size_t(2 * i)]), b = hexval(line[std::size_t(2 * i + 1)]);
    if (a < 0 || b < 0) return std::nullopt;
    r.hash[std::size_t(i)] = std::uint8_t(a << 4 | b);
  }
  std::uint64_t n = 0;
  for (std::size_t i = 41; i < line.size(); ++i) {
    const char c = line[i];
    if (c < '0' || c > '9') return std::nullopt;
    n = std::min<std::uint64_t>(n * 10 + std::uint64_t(c - '0'), 0xffffffffu);
  }
  r.count = std::uint32_t(n);
  return r;
}

Result<PwnedImportStats> import_pwned(const PwnedImportOptions& o) {
  const std::uint64_t t0 = monotonic_ns();
  auto elapsed = [&] { return double(monotonic_ns() - t0) / 1e9; };
  const fs::path out_path(o.output);
  const fs::path dir = out_path.has_parent_path() ? out_path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return import_error("cannot create " + dir.string() + ": " + ec.message());
  const std::string out_name = out_path.filename().string();
  remove_stale(dir, out_name);
  const fs::path tmp_dir = o.temp_dir.empty() ? dir : fs::path(o.temp_dir);
  if (!o.temp_dir.empty()) remove_stale(tmp_dir, out_name);
  const std::string pid = std::to_string(::getpid());
  const std::string first_tmp = (dir / (out_name + ".tmp." + pid + ".a")).string();
  const std::string final_tmp = (dir / (out_name + ".tmp." + pid)).string();
  std::vector<std::string> cleanup = {first_tmp, final_tmp};
  struct Cleanup {
    std::vector<std::string>& files;
    ~Cleanup() {
      std::error_code e;
      for (const auto& f : files) fs::remove(f, e);
    }
  } cleaner{cleanup};

  LineReader in;
  if (Status s = in.open(o.input); !s) return s.error();
  StoreWriter first;
  if (Status s = first.open(first_tmp); !s) return s.error();

  PwnedImportStats st;
  std::uint64_t line_no = 0;
  std::uint64_t next_report = monotonic_ns() + 1'000'000'000ull;
  auto report = [&](const char* phase) {
    if (!o.progress) return;
    const double secs = elapsed();
    o.progress(std::string(phase) + ": " + std::to_string(st.lines) + " lines, " +
               rate(st.lines, secs) + " lines/s, " + std::to_string(st.runs) + " runs spilled, " +
               std::to_string(int(secs)) + " s");
  };
  const std::size_t max_buffered = std::max<std::size_t>(o.memory_bytes / sizeof(Rec), 1024);
  std::vector<Rec> buffer;
  std::vector<std::string> run_files;
  Rec prev{};
  bool have_prev = false;
  std::string_view line;
  Rec r{};
  auto spill = [&]() -> Status {
    std::sort(buffer.begin(), buffer.end());
    const std::string path = (tmp_dir / (out_name + ".run." + pid + "." + std::to_string(run_files.size()))).string();
    run_files.push_back(path);
    cleanup.push_back(path);
    Writer w;
    if (Status s = w.open(path); !s) return s;
    if (Status s = w.write(buffer.data(), buffer.size() * sizeof(Rec)); !s) return s;
    if (Status s = w.flush(); !s) return s;
    buffer.clear();
    ++st.runs;
    return {};
  };
  while (in.next(line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::optional<PwnedLine> parsed = parse_pwned_line(line);
    if (!parsed)
      return import_error(o.input + ":" + std::to_string(line_no) +
                          ": not a Pwned Passwords line (40 hex digits, ':', a count)");
    r.hash = parsed->hash;
    r.count = parsed->count;
    ++st.lines;
    if (st.input_sorted) {
      if (have_prev && r < prev) {
        st.input_sorted = false;
        if (Status s = first.flush(); !s) return s.error();
        buffer.reserve(max_buffered);  // once: growing by doubling would overshoot the bound
        buffer.push_back(r);
      } else {
        if (Status s = first.add(r); !s) return s.error();
        prev = r;
        have_prev = true;
      }
    } else {
      buffer.push_back(r);
      if (buffer.size() >= max_buffered)
        if (Status s = spill(); !s) return s.error();
    }
    if ((st.lines & 0xffff) == 0 && monotonic_ns() >= next_report) {
      report("reading");
      next_report = monotonic_ns() + 1'000'000'000ull;
    }
  }
  if (!in.error.message.empty()) return in.error;

  std::string store_file = first_tmp;
  if (st.input_sorted) {
    st.records = first.records();
    if (Status s = first.finish(); !s) return s.error();
  } else {
    // Merge: the sorted head written so far, the spilled runs, the buffer.
    std::sort(buffer.begin(), buffer.end());
    std::vector<std::unique_ptr<RunReader>> runs;
    runs.push_back(std::make_unique<RunReader>(first_tmp, PwnedFormat::kRecordsOffset, true,
                                               first.bucket_counts()));
    for (const std::string& f : run_files) runs.push_back(std::make_unique<RunReader>(f, 0, false));
    for (auto& run : runs)
      if (Status s = run->open(); !s) return s.error();
    struct Head {
      Rec r;
      std::size_t run;  // runs.size(): the in-memory buffer
      bool operator>(const Head& o) const { return o < *this; }
      bool operator<(const Head& o) const {
        const int c = std::memcmp(r.hash.data(), o.r.hash.data(), 20);
        return c < 0 || (c == 0 && run < o.run);
      }
    };
    std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heap;
    std::size_t buf_pos = 0;
    auto pull = [&](std::size_t i) -> Status {
      Rec x;
      if (i == runs.size()) {
        if (buf_pos < buffer.size()) heap.push(Head{buffer[buf_pos++], i});
        return {};
      }
      if (runs[i]->next(x)) heap.push(Head{x, i});
      else if (!runs[i]->error.message.empty()) return runs[i]->error;
      return {};
    };
    for (std::size_t i = 0; i <= runs.size(); ++i)
      if (Status s = pull(i); !s) return s.error();
    StoreWriter merged;
    if (Status s = merged.open(final_tmp); !s) return s.error();
    std::uint64_t merged_n = 0;
    while (!heap.empty()) {
      const Head h = heap.top();
      heap.pop();
      if (Status s = merged.add(h.r); !s) return s.error();
      if (Status s = pull(h.run); !s) return s.error();
      if ((++merged_n & 0xffff) == 0 && monotonic_ns() >= next_report && o.progress) {
        o.progress("merging: " + std::to_string(merged_n) + " of about " +
                   std::to_string(st.lines) + " records, " + std::to_string(int(elapsed())) + " s");
        next_report = monotonic_ns() + 1'000'000'000ull;
      }
    }
    st.records = merged.records();
    if (Status s = merged.finish(); !s) return s.error();
    store_file = final_tmp;
  }
  if (::rename(store_file.c_str(), o.output.c_str()) != 0) return io_error(o.output, "rename onto");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  st.seconds = elapsed();
  if (o.progress)
    o.progress("done: " + std::to_string(st.lines) + " lines, " + std::to_string(st.records) +
               " distinct hashes, " + (st.input_sorted ? std::string("sorted input streamed")
                                                       : std::to_string(st.runs) + " runs merged") +
               ", " + rate(st.lines, st.seconds) + " lines/s, " + std::to_string(st.seconds) + " s");
  return st;
}

}  // namespace mamori::account
