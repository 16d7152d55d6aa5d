#ifndef MAMORI_ENGINE_MAIL_VOLUME_H_
#define MAMORI_ENGINE_MAIL_VOLUME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "engine/engine_config.h"
#include "engine/keys.h"
#include "state/sharded_lru.h"
#include "state/sliding_counter.h"

namespace mamori::engine {

// mail_volume: recipients sent by one account, against two quotas (by
// default 300 per hour and 1000 per day). A send that would take the account
// past either quota is refused whole and not counted, so the owner can still
// send within the quota once the window moves on. An account's window is
// worth (state::Worth) how close it is to either quota when memory runs
// short. Thread-safe.
class MailVolume {
 public:
  explicit MailVolume(state::MemoryBudget& budget) : windows_(budget) {}

  struct Check {
    bool over = false;              // `recipients` more would pass a quota
    std::uint32_t sent = 0;         // recipients counted in `window` (after this send)
    std::uint32_t sent_daily = 0;   // recipients counted in `daily_window`
    // Over: the longest window the send is over, after which it fits for
    // certain (the counts are exact to a slice, so it may fit earlier);
    // none when `recipients` alone exceed a quota (it never fits).
    std::optional<Duration> fits_after;
  };

  // A send of `recipients` by `account` at `t`. When it fits both quotas
  // and `count` is true, the recipients are counted. With `count` false it
  // only answers whether they would fit (an SMTP RCPT before the message).
  Check on_send(const MailVolumeConfig& config, const std::string& account, TimePoint t,
                std::uint32_t recipients, bool count);

  // An account's use of its quotas at `t`: recipients in the hourly and
  // daily windows, and sends refused over quota in the hourly window.
  struct Use {
    std::string account;
    std::uint32_t hourly = 0, daily = 0, deferred = 0;
  };
  // The accounts with recipients or refusals in the hourly window, most
  // recipients first (then most refusals, then by name), at most `limit`.
  // Visits every window: for the operator's view, not the send path.
  std::vector<Use> top(const MailVolumeConfig& config, TimePoint t, std::size_t limit) const;
  // Forgets the account's counts (an operator released it).
  void reset(const std::string& account) { windows_.erase(account); }
  // Forgets the accounts with nothing left in either window and ranks the
  // others by how close they are to a quota at `t` (state::ShardedLru::
  // refresh). Called by the engine's maintenance.
  void refresh(const MailVolumeConfig& config, TimePoint t);

 private:
  struct Window {
    state::SlidingCounter hourly, daily;
    state::SlidingCounter deferred;  // sends refused over quota, in the hourly window
    std::size_t memory_bytes() const { return 0; }
  };
  state::ShardedLru<std::string, Window, StringHash> windows_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_MAIL_VOLUME_H_
