#include "account/pwned_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mamori::account {

namespace {

std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
         std::uint32_t(p[3]) << 24;
}

Error store_error(const std::string& path, const std::string& what) {
  return make_error("pwned_store_error", "breached-password store " + path + ": " + what);
}

constexpr char kHexUpper[] = "0123456789ABCDEF";

}  // namespace

Result<std::shared_ptr<const PwnedStore>> PwnedStore::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return store_error(path, std::strerror(errno));
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    const int e = errno;
    ::close(fd);
    return store_error(path, std::strerror(e));
  }
  const auto length = static_cast<std::size_t>(sb.st_size);
  if (length < PwnedFormat::kRecordsOffset) {
    ::close(fd);
    return store_error(path, "too short to be a store (run 'mamori pwned import')");
  }
  void* m = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  const int e = errno;
  ::close(fd);
  if (m == MAP_FAILED) return store_error(path, std::string("cannot map: ") + std::strerror(e));
  std::shared_ptr<PwnedStore> s(new PwnedStore());
  s->path_ = path;
  s->base_ = static_cast<const std::uint8_t*>(m);
  s->length_ = length;
  const std::uint8_t* h = s->base_;
  if (std::memcmp(h, PwnedFormat::kMagic, 8) != 0) return store_error(path, "not a mamori breached-password store");
  if (le32(h + 8) != PwnedFormat::kVersion || le32(h + 12) != PwnedFormat::kPrefixBits ||
      le32(h + 16) != PwnedFormat::kRecordBytes || le64(h + 32) != PwnedFormat::kIndexOffset ||
      le64(h + 40) != PwnedFormat::kRecordsOffset)
    return store_error(path, "unsupported format version or layout");
  s->count_ = le64(h + 24);
  if (s->count_ > (length - PwnedFormat::kRecordsOffset) / PwnedFormat::kRecordBytes ||
      PwnedFormat::kRecordsOffset + s->count_ * PwnedFormat::kRecordBytes != length)
    return store_error(path, "size does not match its record count (truncated?)");
  std::uint64_t prev = 0;
  for (std::size_t b = 0; b <= PwnedFormat::kBuckets; ++b) {
    const std::uint64_t v = s->index(b);
    if (v < prev || v > s->count_) return store_error(path, "corrupt prefix index");
    prev = v;
  }
  if (prev != s->count_ || s->index(0) != 0) return store_error(path, "corrupt prefix index");
  ::madvise(const_cast<std::uint8_t*>(s->base_) + PwnedFormat::kRecordsOffset,
            length - PwnedFormat::kRecordsOffset, MADV_RANDOM);
  return std::shared_ptr<const PwnedStore>(std::move(s));
}

PwnedStore::~PwnedStore() {
  if (base_ != nullptr) ::munmap(const_cast<std::uint8_t*>(base_), length_);
}

std::uint64_t PwnedStore::index(std::size_t b) const {
  return le64(base_ + PwnedFormat::kIndexOffset + 8 * b);
}

std::uint32_t PwnedStore::count(const Sha1Digest& hash) const {
  const std::uint32_t b = PwnedFormat::bucket(hash);
  std::uint64_t lo = index(b), hi = index(b + 1);
  const std::uint8_t* key = hash.data() + 2;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    const int c = std::memcmp(record(mid), key, PwnedFormat::kSuffixBytes);
    if (c == 0) return le32(record(mid) + PwnedFormat::kSuffixBytes);
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

std::vector<PwnedRangeEntry> PwnedStore::range(std::uint32_t bucket) const {
  std::vector<PwnedRangeEntry> out;
  if (bucket >= PwnedFormat::kBuckets) return out;
  const std::uint64_t lo = index(bucket), hi = index(bucket + 1);
  out.reserve(hi - lo);
  for (std::uint64_t i = lo; i < hi; ++i) {
    const std::uint8_t* r = record(i);
    PwnedRangeEntry e;
    e.suffix.resize(35);
    e.suffix[0] = kHexUpper[r[0] & 15];  // the high nibble belongs to the prefix
    for (std::size_t j = 1; j < PwnedFormat::kSuffixBytes; ++j) {
      e.suffix[2 * j - 1] = kHexUpper[r[j] >> 4];
      e.suffix[2 * j] = kHexUpper[r[j] & 15];
    }
    e.count = le32(r + PwnedFormat::kSuffixBytes);
    out.push_back(std::move(e));
  }
  return out;
}

bool PwnedStore::contains_suffix(std::uint32_t bucket, std::string_view suffix35) const {
  if (bucket >= PwnedFormat::kBuckets || suffix35.size() != 35) return false;
  Sha1Digest h{};
  h[0] = std::uint8_t(bucket >> 12);
  h[1] = std::uint8_t(bucket >> 4);
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string hex40 = std::string(1, kHexUpper[bucket & 15]) + std::string(suffix35);
  for (std::size_t i = 0; i < 36; i += 2) {
    const int a = nib(hex40[i]), b = nib(hex40[i + 1]);
    if (a < 0 || b < 0) return false;
    h[2 + i / 2] = std::uint8_t(a << 4 | b);
  }
  return count(h) != 0;
}

Status PwnedStoreHolder::reload() {
  struct stat sb {};
  if (::stat(path_.c_str(), &sb) != 0 && errno == ENOENT) {
    std::lock_guard lock(mu_);
    store_.reset();
    return {};
  }
  auto s = PwnedStore::open(path_);
  if (!s) return s.error();
  std::lock_guard lock(mu_);
  store_ = std::move(*s);
  return {};
}

std::shared_ptr<const PwnedStore> PwnedStoreHolder::get() const {
  std::lock_guard lock(mu_);
  return store_;
}

}  // namespace mamori::account
