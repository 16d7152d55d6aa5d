#include "engine/mail_volume.h"

#include <algorithm>

namespace mamori::engine {

MailVolume::Check MailVolume::on_send(const MailVolumeConfig& config, const std::string& account,
                                      TimePoint t, std::uint32_t recipients, bool count) {
  const std::int64_t now = to_unix_ms(t);
  const std::int64_t hour = config.window.count();
  const std::int64_t day = config.daily_window.count();
  return windows_.update(account, [&](Window& w, state::Worth& worth) {
    Check c;
    const std::uint64_t h = w.hourly.count(now, hour), d = w.daily.count(now, day);
    c.over = recipients > 0 &&
             (h + recipients > config.threshold || d + recipients > config.daily_threshold);
    if (c.over && recipients <= config.threshold && recipients <= config.daily_threshold)
      c.fits_after = d + recipients > config.daily_threshold ? config.daily_window : config.window;
    if (c.over && count) w.deferred.add(now, hour, 1);
    if (!c.over && count && recipients > 0) {
      w.hourly.add(now, hour, recipients);
      w.daily.add(now, day, recipients);
    }
    c.sent = w.hourly.count(now, hour);
    c.sent_daily = w.daily.count(now, day);
    worth = std::max(state::worth_of(c.sent, config.threshold),
                     state::worth_of(c.sent_daily, config.daily_threshold));
    return c;
  });
}

void MailVolume::refresh(const MailVolumeConfig& config, TimePoint t) {
  const std::int64_t now = to_unix_ms(t);
  windows_.refresh([&](const std::string&, Window& w, state::Worth& worth) {
    const std::uint32_t sent = w.hourly.count(now, config.window.count());
    const std::uint32_t sent_daily = w.daily.count(now, config.daily_window.count());
    worth = std::max(state::worth_of(sent, config.threshold),
                     state::worth_of(sent_daily, config.daily_threshold));
    return sent > 0 || sent_daily > 0 || w.deferred.count(now, config.window.count()) > 0;
  });
}

std::vector<MailVolume::Use> MailVolume::top(const MailVolumeConfig& config, TimePoint t,
                                             std::size_t limit) const {
  const std::int64_t now = to_unix_ms(t);
  std::vector<Use> out;
  windows_.for_each([&](const std::string& account, const Window& w) {
    Use u;
    u.hourly = w.hourly.count(now, config.window.count());
    u.deferred = w.deferred.count(now, config.window.count());
    if (u.hourly == 0 && u.deferred == 0) return;
    u.daily = w.daily.count(now, config.daily_window.count());
    u.account = account;
    out.push_back(std::move(u));
  });
  std::sort(out.begin(), out.end(), [](const Use& a, const Use& b) {
    if (a.hourly != b.hourly) return a.hourly > b.hourly;
    if (a.deferred != b.deferred) return a.deferred > b.deferred;
    return a.account < b.account;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace mamori::engine
