#ifndef MAMORI_STATE_HUGE_PAGES_H_
#define MAMORI_STATE_HUGE_PAGES_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace mamori::state {

// Blocks of at least kHugePage bytes are mapped on their own, at a 2 MiB
// boundary, and advised MADV_HUGEPAGE (what the kernel's default "madvise"
// mode, Debian's, waits for) before their first touch: their whole 2 MiB
// pages fault in as huge pages. Not through malloc: it hands out memory
// freed before, already faulted in 4 KiB pages, which the advice no longer
// changes. Best effort: with huge pages off, the block is plain memory.
inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

// A block of `bytes` at a kHugePage boundary; nullptr if the kernel has no
// memory to map.
inline void* map_huge_block(std::size_t bytes) {
  const std::size_t span = bytes + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto begin = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (begin + kHugePage - 1) & ~(std::uintptr_t{kHugePage} - 1);
  const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
  const std::uintptr_t end = (aligned + bytes + page - 1) & ~(std::uintptr_t{page} - 1);
  if (aligned > begin) munmap(raw, aligned - begin);
  if (begin + span > end) munmap(reinterpret_cast<void*>(end), begin + span - end);
  madvise(reinterpret_cast<void*>(aligned), end - aligned, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

inline void unmap_huge_block(void* p, std::size_t bytes) {
  const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
  munmap(p, (bytes + page - 1) & ~(page - 1));
}

// An allocator for the hot state's tables (ClockMap's slots): blocks of
// kHugePage and more on huge pages (above), smaller ones from
// std::allocator. The tables of millions of entries are read at random: on
// 4 KiB pages, each lookup there is a TLB miss (a page-table walk) besides
// the cache miss; the TLB's huge-page entries cover gigabytes.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n * sizeof(T) < kHugePage) return std::allocator<T>{}.allocate(n);
    if (n > std::size_t(-1) / sizeof(T) - kHugePage) throw std::bad_array_new_length();
    void* p = map_huge_block(n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < kHugePage) return std::allocator<T>{}.deallocate(p, n);
    unmap_huge_block(p, n * sizeof(T));
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_HUGE_PAGES_H_
