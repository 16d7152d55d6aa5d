#ifndef MAMORI_STATE_HUGE_PAGES_H_
#define MAMORI_STATE_HUGE_PAGES_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace mamori::state {

// Asks the kernel to back the 2 MiB-aligned pages inside [p, p + bytes)
// with transparent huge pages (madvise MADV_HUGEPAGE: what the kernel's
// default "madvise" mode, Debian's, waits for). Best effort: a kernel with
// them off, or a block holding no whole huge page, is left as it is.
inline void advise_huge_pages(void* p, std::size_t bytes) {
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t last = (begin + bytes) & ~(kHuge - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

// An allocator for the hot state's tables (ClockMap's slots): std::allocator,
// and blocks of 2 MiB and more advised as huge pages before their first
// touch. The tables of millions of entries are read at random: on 4 KiB
// pages, each lookup there is a TLB miss (a page-table walk) besides the
// cache miss; the TLB's huge-page entries cover gigabytes.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    T* p = std::allocator<T>{}.allocate(n);
    if (n * sizeof(T) >= (std::size_t{2} << 20)) advise_huge_pages(p, n * sizeof(T));
    return p;
  }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>{}.deallocate(p, n); }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_HUGE_PAGES_H_
