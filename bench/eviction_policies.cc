// The measurement behind the hot state's eviction (state/clock_map.h): how
// many counts close to firing each policy keeps through a flood of keys that
// are each seen `shots` times, with the table full to begin with.
//
//   clock    ClockMap, every entry worth 0: CLOCK alone, the order before
//   worth    ClockMap, each entry worth worth_of(count, 10): what the engine does
//   slru     a segmented LRU model: a key seen twice moves from probation to a
//            protected segment of at most 80% of the entries
//   tinylfu  a W-TinyLFU model (as in Caffeine): a 1% window LRU in front of
//            a segmented LRU, a key leaving the window admitted only if a
//            count-min sketch (4 rows, 4-bit counts halved every 10 x
//            capacity events) says it is more frequent than the victim
//
// The table first holds one-shot keys only (an honest background), then
// 1,000 counts at 9 of 10 and 1,000 at 5 of 10, then the flood. The models
// hold as many entries as the ClockMap did once full; their times (std::list
// based) are not comparable with the ClockMap's and are not printed; the
// ClockMap's are CPU time of this thread per event of the flood.
//
//   ./build/bench/eviction_policies [budget_mb=1]

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/hash.h"
#include "state/clock_map.h"

namespace {

using namespace mamori;

constexpr std::uint32_t kThreshold = 10;

class Policy {
 public:
  virtual ~Policy() = default;
  virtual void count(std::uint64_t key) = 0;         // one event for `key`
  virtual std::uint32_t get(std::uint64_t key) = 0;  // its count, 0 if forgotten
};

class ClockPolicy final : public Policy {
 public:
  ClockPolicy(std::size_t budget_bytes, bool worth)
      : budget_(budget_bytes), map_(budget_), worth_(worth) {}
  void count(std::uint64_t key) override {
    if (worth_) {
      map_.update(key, [](Count& c, state::Worth& w) { w = state::worth_of(++c.n, kThreshold); });
    } else {
      map_.update(key, [](Count& c) { ++c.n; });
    }
  }
  std::uint32_t get(std::uint64_t key) override {
    std::uint32_t n = 0;
    map_.read(key, [&](const Count& c) { n = c.n; });
    return n;
  }
  std::size_t size() const { return map_.size(); }
  std::uint64_t evictions() const { return budget_.evictions(); }

 private:
  struct Count {
    std::uint32_t n = 0;
    std::size_t memory_bytes() const { return 0; }
  };
  state::MemoryBudget budget_;
  state::ClockMap<Count> map_;
  const bool worth_;
};

// Segments of std::list with a map from key to node, shared by the models.
struct Entry {
  std::uint64_t key;
  std::uint32_t n;
  int segment;  // 0 window, 1 probation, 2 protected
};
using Segment = std::list<Entry>;

class SlruPolicy final : public Policy {
 public:
  explicit SlruPolicy(std::size_t capacity)
      : capacity_(capacity), protected_cap_(capacity * 8 / 10) {}
  void count(std::uint64_t key) override {
    auto it = where_.find(key);
    if (it != where_.end()) {
      auto e = it->second;
      ++e->n;
      if (e->segment == 2) {
        protected_.splice(protected_.begin(), protected_, e);
        return;
      }
      e->segment = 2;
      protected_.splice(protected_.begin(), probation_, e);
      if (protected_.size() > protected_cap_) {
        auto last = std::prev(protected_.end());
        last->segment = 1;
        probation_.splice(probation_.begin(), protected_, last);
      }
      return;
    }
    if (where_.size() >= capacity_) {
      Segment& from = probation_.empty() ? protected_ : probation_;
      where_.erase(from.back().key);
      from.pop_back();
    }
    probation_.push_front(Entry{key, 1, 1});
    where_[key] = probation_.begin();
  }
  std::uint32_t get(std::uint64_t key) override {
    auto it = where_.find(key);
    return it == where_.end() ? 0 : it->second->n;
  }

 private:
  const std::size_t capacity_, protected_cap_;
  Segment probation_, protected_;
  std::unordered_map<std::uint64_t, Segment::iterator> where_;
};

class TinyLfuPolicy final : public Policy {
 public:
  explicit TinyLfuPolicy(std::size_t capacity)
      : capacity_(capacity),
        window_cap_(std::max<std::size_t>(1, capacity / 100)),
        main_cap_(capacity - window_cap_),
        protected_cap_(main_cap_ * 8 / 10) {
    while (width_ < capacity) width_ <<= 1;
    sketch_.assign(4 * width_, 0);
  }
  void count(std::uint64_t key) override {
    bump(key);
    auto it = where_.find(key);
    if (it != where_.end()) {
      auto e = it->second;
      ++e->n;
      if (e->segment == 0) {
        window_.splice(window_.begin(), window_, e);
      } else if (e->segment == 2) {
        protected_.splice(protected_.begin(), protected_, e);
      } else {
        e->segment = 2;
        protected_.splice(protected_.begin(), probation_, e);
        if (protected_.size() > protected_cap_) {
          auto last = std::prev(protected_.end());
          last->segment = 1;
          probation_.splice(probation_.begin(), protected_, last);
        }
      }
      return;
    }
    window_.push_front(Entry{key, 1, 0});
    where_[key] = window_.begin();
    if (window_.size() <= window_cap_) return;
    auto candidate = std::prev(window_.end());
    if (probation_.size() + protected_.size() < main_cap_) {
      candidate->segment = 1;
      probation_.splice(probation_.begin(), window_, candidate);
      return;
    }
    Segment& victims = probation_.empty() ? protected_ : probation_;
    auto victim = std::prev(victims.end());
    if (frequency(candidate->key) > frequency(victim->key)) {
      where_.erase(victim->key);
      victims.erase(victim);
      candidate->segment = 1;
      probation_.splice(probation_.begin(), window_, candidate);
    } else {
      where_.erase(candidate->key);
      window_.erase(candidate);
    }
  }
  std::uint32_t get(std::uint64_t key) override {
    auto it = where_.find(key);
    return it == where_.end() ? 0 : it->second->n;
  }

 private:
  std::uint8_t& cell(std::uint64_t key, int row) {
    return sketch_[std::size_t(row) * width_ +
                   (mix64(key + std::uint64_t(row) * 0x9e3779b97f4a7c15) & (width_ - 1))];
  }
  int frequency(std::uint64_t key) {
    int f = 15;
    for (int r = 0; r < 4; ++r) f = std::min<int>(f, cell(key, r));
    return f;
  }
  void bump(std::uint64_t key) {
    for (int r = 0; r < 4; ++r) {
      std::uint8_t& c = cell(key, r);
      if (c < 15) ++c;
    }
    if (++events_ >= 10 * capacity_) {
      for (std::uint8_t& c : sketch_) c >>= 1;
      events_ = 0;
    }
  }

  const std::size_t capacity_, window_cap_, main_cap_, protected_cap_;
  Segment window_, probation_, protected_;
  std::unordered_map<std::uint64_t, Segment::iterator> where_;
  std::size_t width_ = 1, events_ = 0;
  std::vector<std::uint8_t> sketch_;
};

double cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e9 + double(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t budget = std::size_t(argc > 1 ? std::atol(argv[1]) : 1) << 20;
  // How many entries the budget holds: fill a ClockMap until it evicts.
  std::size_t capacity = 0;
  {
    ClockPolicy probe(budget, false);
    for (std::uint64_t i = 0; probe.evictions() == 0; ++i) probe.count(mix64(i));
    capacity = probe.size();
  }
  std::printf("%zu entries (a %zu MiB ClockMap); counts at 9 and 5 of 10 kept through a flood\n",
              capacity, budget >> 20);
  std::printf("%-8s %5s %6s %8s %8s %12s\n", "policy", "shots", "flood", "9 of 10", "5 of 10",
              "ns/event");
  for (const int shots : {1, 2, 3, 5}) {
    for (const std::size_t times : {3, 10, 30}) {
      for (const std::string name : {"clock", "worth", "slru", "tinylfu"}) {
        std::unique_ptr<Policy> p;
        if (name == "clock" || name == "worth") {
          p = std::make_unique<ClockPolicy>(budget, name == "worth");
        } else if (name == "slru") {
          p = std::make_unique<SlruPolicy>(capacity);
        } else {
          p = std::make_unique<TinyLfuPolicy>(capacity);
        }
        for (std::uint64_t i = 0; i < capacity; ++i) p->count(mix64(1'000'000'000 + i));
        for (std::uint64_t a = 0; a < 1000; ++a)
          for (std::uint32_t k = 0; k < 9; ++k) p->count(mix64(a));
        for (std::uint64_t a = 1000; a < 2000; ++a)
          for (std::uint32_t k = 0; k < 5; ++k) p->count(mix64(a));
        const std::uint64_t flood = times * capacity;
        const double t0 = cpu_ns();
        for (std::uint64_t i = 0; i < flood; ++i)
          for (int k = 0; k < shots; ++k) p->count(mix64(5'000'000'000 + i));
        const double ns = (cpu_ns() - t0) / double(flood * std::uint64_t(shots));
        int kept9 = 0, kept5 = 0;
        for (std::uint64_t a = 0; a < 1000; ++a) kept9 += p->get(mix64(a)) == 9;
        for (std::uint64_t a = 1000; a < 2000; ++a) kept5 += p->get(mix64(a)) == 5;
        char time[32] = "-";
        if (name == "clock" || name == "worth") std::snprintf(time, sizeof time, "%.0f", ns);
        std::printf("%-8s %5d %5zux %7.1f%% %7.1f%% %12s\n", name.c_str(), shots, times,
                    kept9 / 10.0, kept5 / 10.0, time);
      }
    }
  }
}
