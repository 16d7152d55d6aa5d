#ifndef MAMORI_ENGINE_PASSWORD_SPRAY_H_
#define MAMORI_ENGINE_PASSWORD_SPRAY_H_

#include <string>
#include <vector>

#include "core/event.h"
#include "engine/engine_config.h"
#include "engine/finding.h"
#include "engine/keys.h"
#include "state/clock_map.h"
#include "state/distinct_window.h"

namespace mamori::engine {

// password_spray: one password hash failing on distinct accounts (one common
// password tried against many accounts). At the threshold the password hash
// and every source IP that failed with it are denied for `block`, and an
// incident is opened. Failures without a pwhash are not counted. Each
// password hash's window is worth worth_of(accounts, threshold) when memory
// runs short.
//
// Looking back: a login that succeeded with a password hash that is failing
// (it has a window) is remembered in that window, up to `threshold`
// accounts, and the finding lists those accounts as logged into, so the
// incident counts them compromised. A success creates no window; when the
// window is evicted, its successes go with it.
// Thread-safe.
class PasswordSpray {
 public:
  explicit PasswordSpray(state::MemoryBudget& budget) : windows_(budget) {}

  void on_failure(const PasswordSprayConfig& config, const Event& e, std::vector<Finding>& out);
  // A successful login with e.pwhash (none: nothing to do).
  void on_success(const PasswordSprayConfig& config, const Event& e);
  // Forgets the windows that have emptied and ranks the rest by their count
  // at `now` (state::ClockMap::refresh). Called by the engine's maintenance.
  void refresh(const PasswordSprayConfig& config, TimePoint now);

 private:
  struct Window {
    state::DistinctWindow accounts;
    state::DistinctWindow sources;    // IPs, canonical text
    state::DistinctWindow successes;  // accounts logged into with the hash
    std::size_t memory_bytes() const {
      return accounts.memory_bytes() + sources.memory_bytes() + successes.memory_bytes();
    }
  };
  // Keyed by the password hash's fingerprint, like the other hot windows.
  state::ClockMap<Window> windows_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_PASSWORD_SPRAY_H_
