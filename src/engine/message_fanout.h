#ifndef MAMORI_ENGINE_MESSAGE_FANOUT_H_
#define MAMORI_ENGINE_MESSAGE_FANOUT_H_

#include <string>

#include "core/event.h"
#include "engine/engine_config.h"
#include "state/distinct_window.h"
#include "state/sharded_lru.h"

namespace mamori::engine {

// message_fanout: distinct recipients of one account's in-app messages
// within a sliding window. At the threshold further sends are refused
// (throttled) until the window has room again; the engine locks the account
// when the fan-out follows a suspicious login. An account's window is worth
// (state::Worth) how close its count is to the threshold when memory runs
// short.
// Thread-safe.
class MessageFanout {
 public:
  explicit MessageFanout(state::MemoryBudget& budget) : by_account_(budget) {}

  // Records the message's recipients. Returns true when the account is at
  // or over the threshold.
  bool on_message(const MessageFanoutConfig& config, const Event& e);
  // Forgets the account's window (an operator released it).
  void reset(const std::string& account) { by_account_.erase(account); }
  // Forgets the accounts with no recipient left in the window and ranks the
  // others by their count at `t` (state::ShardedLru::refresh). Called by the
  // engine's maintenance.
  void refresh(const MessageFanoutConfig& config, TimePoint t);

 private:
  struct Window {
    state::DistinctWindow recipients;
    std::size_t memory_bytes() const { return recipients.memory_bytes(); }
  };
  state::ShardedLru<std::string, Window> by_account_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_MESSAGE_FANOUT_H_
