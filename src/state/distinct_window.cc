#include "state/distinct_window.h"

#include <algorithm>

namespace mamori::state {

void DistinctWindow::expire(std::int64_t now_ms, std::int64_t window_ms) {
  std::erase_if(items_, [&](const Item& i) { return i.last_ms <= now_ms - window_ms; });
}

std::size_t DistinctWindow::add(std::string_view key, std::int64_t now_ms, std::int64_t window_ms,
                                std::size_t cap) {
  expire(now_ms, window_ms);
  for (Item& i : items_) {
    if (i.key == key) {
      i.last_ms = std::max(i.last_ms, now_ms);
      return items_.size();
    }
  }
  if (items_.size() < cap) items_.push_back(Item{std::string(key), now_ms});
  return items_.size();
}

std::size_t DistinctWindow::count(std::int64_t now_ms, std::int64_t window_ms) const {
  return std::size_t(std::count_if(items_.begin(), items_.end(), [&](const Item& i) {
    return i.last_ms > now_ms - window_ms;
  }));
}

bool DistinctWindow::contains(std::string_view key, std::int64_t now_ms,
                              std::int64_t window_ms) const {
  return std::any_of(items_.begin(), items_.end(), [&](const Item& i) {
    return i.key == key && i.last_ms > now_ms - window_ms;
  });
}

std::size_t DistinctWindow::memory_bytes() const {
  std::size_t n = items_.capacity() * sizeof(Item);
  for (const Item& i : items_)
    if (i.key.size() > 15) n += i.key.capacity() + 1;
  return n;
}

}  // namespace mamori::state
