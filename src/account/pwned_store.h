#ifndef MAMORI_ACCOUNT_PWNED_STORE_H_
#define MAMORI_ACCOUNT_PWNED_STORE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "account/sha1.h"
#include "core/result.h"

namespace mamori::account {

// The on-disk layout of the breached-password store (`<data_dir>/pwned.bin`),
// written by `mamori pwned import` (pwned_import.h) and memory-mapped by
// mamorid:
//
//   header   64 bytes: "MAMORIPW", u32 version (1), u32 prefix bits (20),
//            u32 record bytes (22), u32 0, u64 record count, u64 index
//            offset, u64 records offset, zero padding (all little-endian)
//   index    2^20 + 1 u64: record number where each 5-hex-digit prefix's
//            bucket starts; the last entry is the record count
//   records  sorted by hash: bytes 2..19 of the SHA-1 (18 bytes; the high
//            nibble of the first repeats the prefix), then the count (u32)
//
// A lookup reads two adjacent index entries and binary-searches one bucket
// (about a thousand records, a few pages, for the full data set).
struct PwnedFormat {
  static constexpr char kMagic[8] = {'M', 'A', 'M', 'O', 'R', 'I', 'P', 'W'};
  static constexpr std::uint32_t kVersion = 1;
  static constexpr int kPrefixBits = 20;
  static constexpr std::size_t kBuckets = std::size_t(1) << kPrefixBits;
  static constexpr std::size_t kHeaderBytes = 64;
  static constexpr std::size_t kSuffixBytes = 18;
  static constexpr std::size_t kRecordBytes = kSuffixBytes + 4;
  static constexpr std::size_t kIndexOffset = kHeaderBytes;
  static constexpr std::size_t kRecordsOffset = kIndexOffset + 8 * (kBuckets + 1);

  // The bucket of a hash: its first 20 bits.
  static std::uint32_t bucket(const Sha1Digest& h) {
    return (std::uint32_t(h[0]) << 12) | (std::uint32_t(h[1]) << 4) | (h[2] >> 4);
  }
};

// One line of a range answer: the hash's last 35 hex digits and its count.
struct PwnedRangeEntry {
  std::string suffix;  // 35 upper-case hex digits
  std::uint32_t count = 0;
};

// A read-only, memory-mapped breached-password store. Thread-safe: lookups
// only read the mapping.
class PwnedStore {
 public:
  // Maps `path` read-only and checks its header, size and index. Fails with
  // `pwned_store_error` naming the path and what is wrong.
  static Result<std::shared_ptr<const PwnedStore>> open(const std::string& path);
  ~PwnedStore();
  PwnedStore(const PwnedStore&) = delete;
  PwnedStore& operator=(const PwnedStore&) = delete;

  // How often the password with this SHA-1 was seen in breaches; 0: never.
  std::uint32_t count(const Sha1Digest& hash) const;
  // Every hash whose first 20 bits are `bucket`, in order.
  std::vector<PwnedRangeEntry> range(std::uint32_t bucket) const;
  // True when some hash of the bucket has these 35 hex digits (upper case).
  bool contains_suffix(std::uint32_t bucket, std::string_view suffix35) const;

  std::uint64_t size() const { return count_; }
  const std::string& path() const { return path_; }

 private:
  PwnedStore() = default;
  const std::uint8_t* record(std::uint64_t i) const {
    return base_ + PwnedFormat::kRecordsOffset + i * PwnedFormat::kRecordBytes;
  }
  std::uint64_t index(std::size_t b) const;

  std::string path_;
  const std::uint8_t* base_ = nullptr;
  std::size_t length_ = 0;
  std::uint64_t count_ = 0;
};

// The store mamorid uses now, replaced whole on reload (SIGHUP) while
// lookups holding the old one finish with it. Thread-safe.
class PwnedStoreHolder {
 public:
  explicit PwnedStoreHolder(std::string path) : path_(std::move(path)) {}
  // Opens the file at the path; keeps the current store when that fails.
  // A missing file is not an error: there is then no store.
  Status reload();
  std::shared_ptr<const PwnedStore> get() const;
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const PwnedStore> store_;  // guarded by mu_
};

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_PWNED_STORE_H_
