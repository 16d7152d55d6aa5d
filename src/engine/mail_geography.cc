#include "engine/mail_geography.h"

namespace mamori::engine {

MailGeography::Spread MailGeography::on_login(const MailGeographyConfig& config,
                                              const std::string& account, const IpAddress& ip,
                                              const std::string& country, TimePoint t) {
  const std::int64_t now = to_unix_ms(t);
  const std::int64_t window = config.window.count();
  return windows_.update(account, [&](Window& w) {
    Spread s;
    std::size_t n_countries = w.countries.count(now, window);
    if (!country.empty()) n_countries = w.countries.add(country, now, window, config.countries);
    const std::size_t n_ips = w.ips.add(ip.to_string(), now, window, config.ips);
    s.over = n_countries >= config.countries || n_ips >= config.ips;
    if (s.over) {
      w.countries.for_each(now, window, [&](std::string_view c) { s.countries.emplace_back(c); });
      w.ips.for_each(now, window, [&](std::string_view i) { s.ips.emplace_back(i); });
    }
    return s;
  });
}

}  // namespace mamori::engine
