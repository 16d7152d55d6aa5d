#ifndef MAMORI_STATE_DISTINCT_WINDOW_H_
#define MAMORI_STATE_DISTINCT_WINDOW_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace mamori::state {

// The distinct keys (account names, IPs) seen within a sliding window,
// remembered up to a cap: a detector that fires at N distinct keys needs at
// most N of them, and keeps their names for the incident it opens.
// Thread-compatible. Movable, not copyable. Memory: 8 bytes inline; the keys
// live in one heap block (a 12-byte header, then 12 bytes plus the key's
// length per key), freed when the window empties. The block's size is kept
// in the inline word too (up to 64 KB), so memory_bytes(), which the hot
// tables ask before and after every update, reads no heap.
//
// While it holds no key, a window can carry a mark instead: a value its
// owner keeps in the same 8 bytes (credential_stuffing keeps a network's only
// IP there). Adding a key drops the mark.
class DistinctWindow {
 public:
  DistinctWindow() = default;
  DistinctWindow(DistinctWindow&& o) noexcept : word_(std::exchange(o.word_, 0)) {}
  DistinctWindow& operator=(DistinctWindow&& o) noexcept {
    if (this != &o) {
      release();
      word_ = std::exchange(o.word_, 0);
    }
    return *this;
  }
  DistinctWindow(const DistinctWindow&) = delete;
  DistinctWindow& operator=(const DistinctWindow&) = delete;
  ~DistinctWindow() { release(); }

  // Records `key` as seen at `now_ms`; keys older than the window are dropped
  // first. A new key beyond `cap` is not remembered. Returns the number of
  // distinct keys within the window (at most cap).
  std::size_t add(std::string_view key, std::int64_t now_ms, std::int64_t window_ms,
                  std::size_t cap);
  std::size_t count(std::int64_t now_ms, std::int64_t window_ms) const;
  bool contains(std::string_view key, std::int64_t now_ms, std::int64_t window_ms) const;

  template <typename F>
  void for_each(std::int64_t now_ms, std::int64_t window_ms, F&& f) const {
    for_each_record([&](const char*, std::int64_t last_ms, std::string_view key) {
      if (last_ms > now_ms - window_ms) f(key);
    });
  }
  // f(key, last_ms) for each key within the window, with when it was last seen.
  template <typename F>
  void for_each_seen(std::int64_t now_ms, std::int64_t window_ms, F&& f) const {
    for_each_record([&](const char*, std::int64_t last_ms, std::string_view key) {
      if (last_ms > now_ms - window_ms) f(key, last_ms);
    });
  }
  // True when no key is remembered (none added, or all expired at an add).
  bool empty() const { return buf() == nullptr; }

  // The mark, or 0 when there is none.
  std::uint64_t mark() const { return (word_ & 1) != 0 ? word_ >> 1 : 0; }
  // Sets the mark to as_mark(mark). REQUIRES: empty()
  void set_mark(std::uint64_t mark) { word_ = (as_mark(mark) << 1) | 1; }
  // The mark kept for `value`: its low 63 bits, 1 for 0.
  static constexpr std::uint64_t as_mark(std::uint64_t value) {
    value &= ~(std::uint64_t{1} << 63);
    return value == 0 ? 1 : value;
  }

  std::size_t memory_bytes() const {
    if ((word_ & 1) != 0 || word_ == 0) return 0;
    const std::size_t size = word_ >> kSizeShift;
    return size != 0 ? size : sizeof(Header) + header()->capacity;
  }

 private:
  // The heap block: this header, then records of an 8-byte time (ms), a
  // 4-byte length and the key's bytes, unaligned.
  struct Header {
    std::uint32_t used;      // bytes of records
    std::uint32_t capacity;  // bytes for records
    std::uint32_t count;     // records
  };
  static constexpr std::size_t kRecordHead = 12;
  // A heap block's address takes the word's low 48 bits (user space on
  // x86-64 and AArch64); its size, the top 16 (0 when larger).
  static constexpr int kSizeShift = 48;
  static constexpr std::uintptr_t kAddress = (std::uintptr_t{1} << kSizeShift) - 1;
  static_assert(sizeof(std::uintptr_t) == 8, "the block's size shares the address's word");

  // The heap block, or null when there is none (no key, or a mark).
  char* buf() const {
    return (word_ & 1) != 0 ? nullptr : reinterpret_cast<char*>(word_ & kAddress);
  }
  Header* header() const { return reinterpret_cast<Header*>(buf()); }
  char* records() const { return buf() + sizeof(Header); }

  template <typename F>
  void for_each_record(F&& f) const {
    if (buf() == nullptr) return;
    const char* p = records();
    const char* end = p + header()->used;
    while (p < end) {
      std::int64_t last_ms;
      std::uint32_t len;
      std::memcpy(&last_ms, p, 8);
      std::memcpy(&len, p + 8, 4);
      f(p, last_ms, std::string_view(p + kRecordHead, len));
      p += kRecordHead + len;
    }
  }

  void expire(std::int64_t now_ms, std::int64_t window_ms);
  void release();

  // The heap block's address (malloc aligns it, so its low bit is 0) with
  // its size on top, or the mark shifted left with the low bit set, or 0.
  std::uintptr_t word_ = 0;
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_DISTINCT_WINDOW_H_
