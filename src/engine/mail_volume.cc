#include "engine/mail_volume.h"

namespace mamori::engine {

MailVolume::Check MailVolume::on_send(const MailVolumeConfig& config, const std::string& account,
                                      TimePoint t, std::uint32_t recipients, bool count) {
  const std::int64_t now = to_unix_ms(t);
  const std::int64_t hour = config.window.count();
  const std::int64_t day = config.daily_window.count();
  return windows_.update(account, [&](Window& w) {
    Check c;
    const std::uint64_t h = w.hourly.count(now, hour), d = w.daily.count(now, day);
    c.over = recipients > 0 &&
             (h + recipients > config.threshold || d + recipients > config.daily_threshold);
    if (c.over && recipients <= config.threshold && recipients <= config.daily_threshold)
      c.fits_after = d + recipients > config.daily_threshold ? config.daily_window : config.window;
    if (!c.over && count && recipients > 0) {
      w.hourly.add(now, hour, recipients);
      w.daily.add(now, day, recipients);
    }
    c.sent = w.hourly.count(now, hour);
    c.sent_daily = w.daily.count(now, day);
    return c;
  });
}

}  // namespace mamori::engine
