#include "store/journal/sorted_run.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <queue>

#include "store/journal/frame.h"
#include "store/journal/pass_slices.h"

namespace mamori::store::journal {

static_assert(std::endian::native == std::endian::little,
              "run files are read through mmap as little-endian IndexEntry arrays");

namespace {

constexpr std::size_t kLineBytes = 64;
constexpr std::uint64_t kBitsPerKey = 10;
constexpr unsigned kProbes = 7;
constexpr std::size_t kBufferBytes = 1u << 20;

// The line of `fp` among `lines` and its bits, as core/bloom_filter.h picks
// them: the high half chooses the line (multiply-shift), seven 9-bit slices
// of the remixed fingerprint the bits within it.
std::uint64_t line_of(std::uint64_t fp, std::uint64_t lines) { return ((fp >> 32) * lines) >> 32; }

template <typename F>
bool for_each_bit(std::uint64_t fp, F&& f) {
  std::uint64_t bits = fp * 0x9e3779b97f4a7c15ULL;
  for (unsigned i = 0; i < kProbes; ++i, bits >>= 9) {
    const unsigned bit = unsigned(bits & 511);
    if (!f(bit / 8, static_cast<unsigned char>(1u << (bit % 8)))) return false;
  }
  return true;
}

std::uint64_t lines_for(std::uint64_t keys) {
  const std::uint64_t lines = (keys * kBitsPerKey + kLineBytes * 8 - 1) / (kLineBytes * 8);
  return std::clamp<std::uint64_t>(lines, 1, 0xffffffffULL);
}

void put64(unsigned char* p, std::uint64_t v) { std::memcpy(p, &v, 8); }
void put32(unsigned char* p, std::uint32_t v) { std::memcpy(p, &v, 4); }
std::uint64_t get64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
std::uint32_t get32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The footer's layout (SortedRun::kFooterBytes).
struct FooterAt {
  static constexpr std::size_t kMagic = 0, kVersion = 8, kLevel = 12, kKeyScheme = 16,
                               kEntries = 24, kKeys = 32, kLines = 40, kFirst = 48, kEnd = 56,
                               kMinTime = 64, kMaxTime = 72, kCrc = 88;
};

std::string encode_footer(const RunInfo& info, std::uint64_t lines) {
  std::string f(SortedRun::kFooterBytes, '\0');
  auto* p = reinterpret_cast<unsigned char*>(f.data());
  put64(p + FooterAt::kMagic, SortedRun::kMagic);
  put32(p + FooterAt::kVersion, SortedRun::kVersion);
  put32(p + FooterAt::kLevel, info.level);
  put32(p + FooterAt::kKeyScheme, info.key_scheme);
  put64(p + FooterAt::kEntries, info.entries);
  put64(p + FooterAt::kKeys, info.keys);
  put64(p + FooterAt::kLines, lines);
  put64(p + FooterAt::kFirst, info.journal_first);
  put64(p + FooterAt::kEnd, info.journal_end);
  put64(p + FooterAt::kMinTime, std::uint64_t(info.min_time_ms));
  put64(p + FooterAt::kMaxTime, std::uint64_t(info.max_time_ms));
  put32(p + FooterAt::kCrc, frame_crc(std::string_view(f.data(), FooterAt::kCrc)));
  return f;
}

}  // namespace

// ---- SortedRun ----

Result<std::shared_ptr<const SortedRun>> SortedRun::open(const std::string& path) {
  auto file = open_file(path, O_RDONLY, "store_open_failed");
  if (!file) return file.error();
  struct stat st {};
  if (::fstat(file->fd(), &st) != 0) return errno_error("store_open_failed", path, "stat", errno);
  const std::uint64_t size = std::uint64_t(st.st_size);
  auto bad = [&](const std::string& what) {
    return make_error("store_open_failed", path + ": not a valid index run: " + what);
  };
  if (size < kFooterBytes) return bad("shorter than its footer");
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, file->fd(), 0);
  if (map == MAP_FAILED) return errno_error("store_open_failed", path, "mmap", errno);
  struct Unmap {
    void* map;
    std::uint64_t size;
    ~Unmap() {
      if (map != nullptr) ::munmap(map, size);
    }
  } guard{map, size};
  const auto* base = static_cast<const unsigned char*>(map);
  const unsigned char* f = base + size - kFooterBytes;
  if (get64(f + FooterAt::kMagic) != kMagic) return bad("bad magic");
  if (get32(f + FooterAt::kCrc) !=
      frame_crc(std::string_view(reinterpret_cast<const char*>(f), FooterAt::kCrc)))
    return bad("footer CRC mismatch");
  if (get32(f + FooterAt::kVersion) != kVersion)
    return bad("version " + std::to_string(get32(f + FooterAt::kVersion)));
  RunInfo info;
  info.level = get32(f + FooterAt::kLevel);
  info.key_scheme = get32(f + FooterAt::kKeyScheme);
  info.entries = get64(f + FooterAt::kEntries);
  info.keys = get64(f + FooterAt::kKeys);
  const std::uint64_t lines = get64(f + FooterAt::kLines);
  info.journal_first = get64(f + FooterAt::kFirst);
  info.journal_end = get64(f + FooterAt::kEnd);
  info.min_time_ms = std::int64_t(get64(f + FooterAt::kMinTime));
  info.max_time_ms = std::int64_t(get64(f + FooterAt::kMaxTime));
  const std::uint64_t body = size - kFooterBytes;
  if (lines == 0 || lines > 0xffffffffULL || info.entries > body / sizeof(IndexEntry) ||
      lines > body / kLineBytes || info.entries * sizeof(IndexEntry) + lines * kLineBytes != body)
    return bad("its sizes do not add up to the file's");
  if (info.journal_first > info.journal_end || info.keys > info.entries ||
      info.min_time_ms > info.max_time_ms)
    return bad("inconsistent footer");
  guard.map = nullptr;
  const auto* entries = reinterpret_cast<const IndexEntry*>(base);
  return std::shared_ptr<const SortedRun>(new SortedRun(
      path, map, size, info, entries, base + info.entries * sizeof(IndexEntry), lines));
}

SortedRun::SortedRun(std::string path, const void* map, std::uint64_t size, RunInfo info,
                     const IndexEntry* entries, const unsigned char* bloom, std::uint64_t lines)
    : path_(std::move(path)),
      map_(map),
      size_(size),
      info_(info),
      entries_(entries),
      bloom_(bloom),
      lines_(lines) {}

SortedRun::~SortedRun() { ::munmap(const_cast<void*>(map_), size_); }

bool SortedRun::may_contain(std::uint64_t fp) const {
  const unsigned char* line = bloom_ + line_of(fp, lines_) * kLineBytes;
  return for_each_bit(fp,
                      [&](unsigned byte, unsigned char mask) { return (line[byte] & mask) != 0; });
}

std::span<const IndexEntry> equal_fp_range(std::span<const IndexEntry> sorted, std::uint64_t fp) {
  const IndexEntry* const base = sorted.data();
  // The first entry of `fp` (or of the next key) is in [lo, hi]; the keys of
  // [lo, hi) lie in [klo, khi].
  std::size_t lo = 0, hi = sorted.size();
  std::uint64_t klo = 0, khi = UINT64_MAX;
  constexpr int kRounds = 8;
  constexpr std::size_t kSmall = 16;  // a few cache lines: searched directly
  for (int round = 0; round < kRounds && hi - lo > kSmall; ++round) {
    using u128 = unsigned __int128;
    const u128 span = u128(khi - klo) + 1;
    std::size_t guess = lo + std::size_t(u128(fp - klo) * (hi - lo) / span);
    if (guess >= hi) guess = hi - 1;
    const std::uint64_t g = base[guess].fp;
    if (g < fp) {
      lo = guess + 1;
      klo = g;
    } else {
      hi = guess;
      khi = g;
    }
  }
  const IndexEntry* first = std::lower_bound(
      base + lo, base + hi, fp, [](const IndexEntry& e, std::uint64_t k) { return e.fp < k; });
  const IndexEntry* const end = base + sorted.size();
  if (first == end || first->fp != fp) return {};
  // Gallop over the key's entries: most keys have a few in a run.
  std::size_t step = 1;
  const IndexEntry* known = first;  // known->fp == fp
  while (std::size_t(end - known) > step && known[step].fp == fp) {
    known += step;
    step *= 2;
  }
  const IndexEntry* limit = std::size_t(end - known) > step ? known + step : end;
  const IndexEntry* last = std::upper_bound(
      known, limit, fp, [](std::uint64_t k, const IndexEntry& e) { return k < e.fp; });
  return {first, std::size_t(last - first)};
}

std::span<const IndexEntry> SortedRun::find(std::uint64_t fp) const {
  if (!may_contain(fp)) return {};
  return equal_fp_range(entries(), fp);
}

// ---- SortedRunWriter ----

Result<std::unique_ptr<SortedRunWriter>> SortedRunWriter::create(const std::string& path,
                                                                 std::uint64_t max_keys) {
  auto file = open_file(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC, "store_write_failed");
  if (!file) return file.error();
  return std::unique_ptr<SortedRunWriter>(new SortedRunWriter(path, std::move(*file), max_keys));
}

SortedRunWriter::SortedRunWriter(std::string path, File file, std::uint64_t max_keys)
    : path_(std::move(path)),
      tmp_(path_ + ".tmp"),
      file_(std::move(file)),
      lines_(lines_for(max_keys)) {
  bloom_.assign(lines_ * kLineBytes, 0);
  buf_.reserve(kBufferBytes);
}

SortedRunWriter::~SortedRunWriter() {
  if (!finished_) {
    file_ = File();
    ::unlink(tmp_.c_str());
  }
}

Status SortedRunWriter::flush() {
  if (buf_.empty()) return {};
  Status s = pwrite_full(file_.fd(), buf_, written_, tmp_, "store_write_failed");
  written_ += buf_.size();
  buf_.clear();
  return s;
}

Status SortedRunWriter::add(const IndexEntry& e) {
  if (info_.entries > 0) {
    if (e == last_) return {};
    if (!index_order(last_, e))
      return make_error("invalid_index",
                        tmp_ + ": entries out of order at entry " + std::to_string(info_.entries));
  }
  if (info_.entries == 0 || e.fp != last_.fp) {
    ++info_.keys;
    unsigned char* line = bloom_.data() + line_of(e.fp, lines_) * kLineBytes;
    for_each_bit(e.fp, [&](unsigned byte, unsigned char mask) {
      line[byte] |= mask;
      return true;
    });
  }
  if (info_.entries == 0) {
    info_.min_time_ms = info_.max_time_ms = e.time_ms;
  } else {
    info_.min_time_ms = std::min(info_.min_time_ms, e.time_ms);
    info_.max_time_ms = std::max(info_.max_time_ms, e.time_ms);
  }
  ++info_.entries;
  last_ = e;
  buf_.append(reinterpret_cast<const char*>(&e), sizeof e);
  if (buf_.size() >= kBufferBytes) return flush();
  return {};
}

Result<RunInfo> SortedRunWriter::finish(const RunInfo& info) {
  info_.journal_first = info.journal_first;
  info_.journal_end = info.journal_end;
  info_.level = info.level;
  info_.key_scheme = info.key_scheme;
  if (Status s = flush(); !s) return s.error();
  buf_.assign(reinterpret_cast<const char*>(bloom_.data()), bloom_.size());
  buf_ += encode_footer(info_, lines_);
  if (Status s = flush(); !s) return s.error();
  if (::fsync(file_.fd()) != 0) return errno_error("store_write_failed", tmp_, "fsync", errno);
  file_ = File();
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    return errno_error("store_write_failed", path_, "rename", errno);
  finished_ = true;
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  if (Status s = sync_dir(dir.empty() ? "." : dir, "store_write_failed"); !s) return s.error();
  return info_;
}

void sort_index(std::vector<IndexEntry>& entries) {
  constexpr std::size_t kChunk = 2048;  // about 0.1 ms of sorting
  const std::size_t n = entries.size();
  const auto at = [&](std::size_t i) { return entries.begin() + std::ptrdiff_t(std::min(i, n)); };
  for (std::size_t i = 0; i < n; i += kChunk) {
    std::sort(at(i), at(i + kChunk), index_order);
    PassSlices::point(kChunk);
  }
  for (std::size_t width = kChunk; width < n; width *= 2)
    for (std::size_t i = 0; i + width < n; i += 2 * width) {
      std::inplace_merge(at(i), at(i + width), at(i + 2 * width), index_order);
      PassSlices::point(std::min(n, i + 2 * width) - i);
    }
}

Result<RunInfo> write_run(const std::string& path, std::span<const IndexEntry> sorted,
                          const RunInfo& info) {
  std::uint64_t keys = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i)
    if (i == 0 || sorted[i].fp != sorted[i - 1].fp) ++keys;
  auto w = SortedRunWriter::create(path, keys);
  if (!w) return w.error();
  for (const IndexEntry& e : sorted) {
    if (Status s = (*w)->add(e); !s) return s.error();
    PassSlices::point();
  }
  return (*w)->finish(info);
}

Result<RunInfo> merge_runs(const std::vector<std::shared_ptr<const SortedRun>>& inputs,
                           const std::string& path, std::uint32_t level) {
  std::uint64_t keys = 0;
  RunInfo info;
  info.level = level;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const RunInfo& in = inputs[i]->info();
    keys += in.keys;
    if (i == 0) {
      info.journal_first = in.journal_first;
      info.key_scheme = in.key_scheme;
    } else if (in.journal_first != info.journal_end) {
      return make_error("invalid_index", in.journal_first > info.journal_end
                                             ? inputs[i]->path() + " leaves a gap before it"
                                             : inputs[i]->path() + " overlaps the run before it");
    } else if (in.key_scheme != info.key_scheme) {
      return make_error("invalid_index", inputs[i]->path() + " has another key scheme");
    }
    info.journal_end = in.journal_end;
  }
  auto w = SortedRunWriter::create(path, keys);
  if (!w) return w.error();
  // A min-heap of cursors, by index_order of their current entries.
  struct Cursor {
    const IndexEntry* at;
    const IndexEntry* end;
  };
  auto later = [](const Cursor& a, const Cursor& b) { return index_order(*b.at, *a.at); };
  std::priority_queue<Cursor, std::vector<Cursor>, decltype(later)> heap(later);
  for (const auto& run : inputs) {
    auto e = run->entries();
    if (!e.empty()) heap.push({e.data(), e.data() + e.size()});
  }
  while (!heap.empty()) {
    Cursor c = heap.top();
    heap.pop();
    if (Status s = (*w)->add(*c.at); !s) return s.error();
    if (++c.at != c.end) heap.push(c);
    PassSlices::point();
  }
  return (*w)->finish(info);
}

}  // namespace mamori::store::journal
