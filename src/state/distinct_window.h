#ifndef MAMORI_STATE_DISTINCT_WINDOW_H_
#define MAMORI_STATE_DISTINCT_WINDOW_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mamori::state {

// The distinct keys (account names, IPs) seen within a sliding window,
// remembered up to a cap: a detector that fires at N distinct keys needs at
// most N of them, and keeps their names for the incident it opens.
// Thread-compatible. Memory: about 40 bytes per remembered key.
class DistinctWindow {
 public:
  // Records `key` as seen at `now_ms`; keys older than the window are dropped
  // first. A new key beyond `cap` is not remembered. Returns the number of
  // distinct keys within the window (at most cap).
  std::size_t add(std::string_view key, std::int64_t now_ms, std::int64_t window_ms,
                  std::size_t cap);
  std::size_t count(std::int64_t now_ms, std::int64_t window_ms) const;
  bool contains(std::string_view key, std::int64_t now_ms, std::int64_t window_ms) const;

  template <typename F>
  void for_each(std::int64_t now_ms, std::int64_t window_ms, F&& f) const {
    for (const Item& i : items_)
      if (i.last_ms > now_ms - window_ms) f(std::string_view(i.key));
  }

  std::size_t memory_bytes() const;

 private:
  struct Item {
    std::string key;
    std::int64_t last_ms;
  };
  void expire(std::int64_t now_ms, std::int64_t window_ms);

  std::vector<Item> items_;
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_DISTINCT_WINDOW_H_
