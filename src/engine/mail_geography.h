#ifndef MAMORI_ENGINE_MAIL_GEOGRAPHY_H_
#define MAMORI_ENGINE_MAIL_GEOGRAPHY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ip_address.h"
#include "engine/engine_config.h"
#include "engine/keys.h"
#include "state/distinct_window.h"
#include "state/sharded_lru.h"

namespace mamori::engine {

// mail_geography: successful SMTP AUTH logins for one mailbox from many
// places at once: `countries` distinct countries or `ips` distinct IPs within
// `window` (by default 3 countries or 10 IPs in an hour). A mailbox whose
// password is being used by a spam operation from abroad looks like this;
// its owner does not. The engine locks the mailbox with a password reset
// required. A mailbox's window is worth (state::Worth) how close its spread
// is to either limit when memory runs short. Thread-safe.
class MailGeography {
 public:
  explicit MailGeography(state::MemoryBudget& budget) : windows_(budget) {}

  struct Spread {
    bool over = false;
    std::vector<std::string> countries;  // the distinct countries in the window
    std::vector<std::string> ips;        // the distinct IPs in the window
  };

  // A successful login of `account` from `ip`, located in `country` (empty:
  // unknown, counted as an IP only), at `t`.
  Spread on_login(const MailGeographyConfig& config, const std::string& account,
                  const IpAddress& ip, const std::string& country, TimePoint t);

  // Forgets the account's logins (an operator released it).
  void reset(const std::string& account) { windows_.erase(account); }
  // Forgets the mailboxes with no login left in the window and ranks the
  // others by their spread at `t` (state::ShardedLru::refresh). Called by
  // the engine's maintenance.
  void refresh(const MailGeographyConfig& config, TimePoint t);

 private:
  struct Window {
    state::DistinctWindow countries, ips;
    std::size_t memory_bytes() const { return countries.memory_bytes() + ips.memory_bytes(); }
  };
  state::ShardedLru<std::string, Window, StringHash> windows_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_MAIL_GEOGRAPHY_H_
