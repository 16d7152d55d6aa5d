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
// length per key), freed when the window empties.
class DistinctWindow {
 public:
  DistinctWindow() = default;
  DistinctWindow(DistinctWindow&& o) noexcept : buf_(std::exchange(o.buf_, nullptr)) {}
  DistinctWindow& operator=(DistinctWindow&& o) noexcept {
    if (this != &o) {
      release();
      buf_ = std::exchange(o.buf_, nullptr);
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
  bool empty() const { return buf_ == nullptr; }

  std::size_t memory_bytes() const;

 private:
  // The heap block: this header, then records of an 8-byte time (ms), a
  // 4-byte length and the key's bytes, unaligned.
  struct Header {
    std::uint32_t used;      // bytes of records
    std::uint32_t capacity;  // bytes for records
    std::uint32_t count;     // records
  };
  static constexpr std::size_t kRecordHead = 12;

  Header* header() const { return reinterpret_cast<Header*>(buf_); }
  char* records() const { return buf_ + sizeof(Header); }

  template <typename F>
  void for_each_record(F&& f) const {
    if (buf_ == nullptr) return;
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

  char* buf_ = nullptr;
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_DISTINCT_WINDOW_H_
