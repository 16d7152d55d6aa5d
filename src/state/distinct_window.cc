#include "state/distinct_window.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace mamori::state {

void DistinctWindow::release() {
  std::free(buf());
  word_ = 0;
}

void DistinctWindow::expire(std::int64_t now_ms, std::int64_t window_ms) {
  if (buf() == nullptr) return;
  Header& h = *header();
  char* out = records();
  const char* p = records();
  const char* end = p + h.used;
  std::uint32_t kept = 0;
  while (p < end) {
    std::int64_t last_ms;
    std::uint32_t len;
    std::memcpy(&last_ms, p, 8);
    std::memcpy(&len, p + 8, 4);
    const std::size_t size = kRecordHead + len;
    if (last_ms > now_ms - window_ms) {
      if (out != p) std::memmove(out, p, size);
      out += size;
      ++kept;
    }
    p += size;
  }
  if (kept == 0) return release();
  h.used = std::uint32_t(out - records());
  h.count = kept;
}

std::size_t DistinctWindow::add(std::string_view key, std::int64_t now_ms, std::int64_t window_ms,
                                std::size_t cap) {
  expire(now_ms, window_ms);
  if (buf() != nullptr) {
    char* found = nullptr;
    for_each_record([&](const char* rec, std::int64_t, std::string_view k) {
      if (found == nullptr && k == key) found = const_cast<char*>(rec);
    });
    if (found != nullptr) {
      std::int64_t last_ms;
      std::memcpy(&last_ms, found, 8);
      last_ms = std::max(last_ms, now_ms);
      std::memcpy(found, &last_ms, 8);
      return header()->count;
    }
  }
  char* const old = buf();
  const std::size_t count = old == nullptr ? 0 : header()->count;
  if (count >= cap) return count;
  const std::size_t need = kRecordHead + key.size();
  const std::size_t used = old == nullptr ? 0 : header()->used;
  const std::size_t capacity = old == nullptr ? 0 : header()->capacity;
  if (used + need > capacity) {
    // Exact for the first key (most windows hold one), then by half again.
    const std::size_t grown = old == nullptr ? need : std::max(used + need, capacity * 3 / 2);
    char* b = static_cast<char*>(std::realloc(old, sizeof(Header) + grown));
    if (b == nullptr) throw std::bad_alloc();
    if (old == nullptr) *reinterpret_cast<Header*>(b) = Header{0, 0, 0};
    const auto address = reinterpret_cast<std::uintptr_t>(b);
    if ((address & ~kAddress) != 0) std::abort();  // not a user-space address of 48 bits
    const std::size_t size = sizeof(Header) + grown;
    word_ = address | (size <= 0xffff ? std::uintptr_t(size) << kSizeShift : 0);
    header()->capacity = std::uint32_t(grown);
  }
  Header& h = *header();
  char* rec = records() + h.used;
  const std::uint32_t len = std::uint32_t(key.size());
  std::memcpy(rec, &now_ms, 8);
  std::memcpy(rec + 8, &len, 4);
  std::memcpy(rec + kRecordHead, key.data(), key.size());
  h.used += std::uint32_t(need);
  return ++h.count;
}

std::size_t DistinctWindow::count(std::int64_t now_ms, std::int64_t window_ms) const {
  std::size_t n = 0;
  for_each_record([&](const char*, std::int64_t last_ms, std::string_view) {
    if (last_ms > now_ms - window_ms) ++n;
  });
  return n;
}

bool DistinctWindow::contains(std::string_view key, std::int64_t now_ms,
                              std::int64_t window_ms) const {
  bool found = false;
  for_each_record([&](const char*, std::int64_t last_ms, std::string_view k) {
    if (!found && k == key && last_ms > now_ms - window_ms) found = true;
  });
  return found;
}

}  // namespace mamori::state
