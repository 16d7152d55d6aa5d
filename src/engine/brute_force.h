#ifndef MAMORI_ENGINE_BRUTE_FORCE_H_
#define MAMORI_ENGINE_BRUTE_FORCE_H_

#include <cstdint>
#include <vector>

#include "core/event.h"
#include "engine/engine_config.h"
#include "engine/finding.h"
#include "engine/keys.h"
#include "state/clock_map.h"
#include "state/sliding_counter.h"

namespace mamori::engine {

// brute_force: failed logins for one account from one IP. A retried identical
// wrong password (same `pwhash`) counts once. At the threshold the account is
// denied from that IP for `block`; other IPs and the account stay usable.
// Each window is worth worth_of(count, threshold) when memory runs short, so
// a flood of one-shot keys never evicts a count close to firing.
// Thread-safe.
class BruteForce {
 public:
  explicit BruteForce(state::MemoryBudget& budget) : windows_(budget) {}

  // A failed login result. Appends a finding when the threshold is reached.
  void on_failure(const BruteForceConfig& config, const Event& e, std::vector<Finding>& out);
  // Forgets the windows that have emptied and ranks the rest by their count
  // at `now` (state::ClockMap::refresh). Called by the engine's maintenance.
  void refresh(const BruteForceConfig& config, TimePoint now);

 private:
  // 40 bytes: one is kept per (account, IP) that failed, so an attack from
  // millions of addresses costs this per address.
  struct Window {
    state::SlidingCounter failures;
    // The last kRecent distinct wrong passwords: 16-bit fingerprints of their
    // pwhash (never 0), newest in the low bits.
    std::uint64_t recent_pwhashes = 0;
    std::size_t memory_bytes() const { return 0; }
  };
  static constexpr int kRecent = 4;
  state::ClockMap<Window> windows_;  // by fingerprint of (account, IP)
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_BRUTE_FORCE_H_
