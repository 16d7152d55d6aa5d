#include "engine/message_fanout.h"

#include <algorithm>

#include "core/clock.h"

namespace mamori::engine {

bool MessageFanout::on_message(const MessageFanoutConfig& config, const Event& e) {
  const std::int64_t now = to_unix_ms(e.time);
  const std::int64_t window = config.window.count();
  const std::size_t cap = std::max<std::size_t>(config.threshold, 1);
  return by_account_.update(e.account, [&](Window& w, state::Worth& worth) {
    std::size_t n = w.recipients.count(now, window);
    for (const std::string& r : e.recipients) n = w.recipients.add(r, now, window, cap);
    worth = state::worth_of(n, config.threshold);
    return n >= config.threshold;
  });
}

void MessageFanout::refresh(const MessageFanoutConfig& config, TimePoint t) {
  const std::int64_t now = to_unix_ms(t);
  const std::int64_t window = config.window.count();
  by_account_.refresh([&](const std::string&, Window& w, state::Worth& worth) {
    const std::size_t n = w.recipients.count(now, window);
    worth = state::worth_of(n, config.threshold);
    return n > 0;
  });
}

}  // namespace mamori::engine
