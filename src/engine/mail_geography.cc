#include "engine/mail_geography.h"

#include <algorithm>

namespace mamori::engine {

MailGeography::Spread MailGeography::on_login(const MailGeographyConfig& config,
                                              const std::string& account, const IpAddress& ip,
                                              const std::string& country, TimePoint t) {
  const std::int64_t now = to_unix_ms(t);
  const std::int64_t window = config.window.count();
  return windows_.update(account, [&](Window& w, state::Worth& worth) {
    Spread s;
    std::size_t n_countries = w.countries.count(now, window);
    if (!country.empty()) n_countries = w.countries.add(country, now, window, config.countries);
    const std::size_t n_ips = w.ips.add(ip.to_string(), now, window, config.ips);
    worth = std::max(state::worth_of(n_countries, config.countries),
                     state::worth_of(n_ips, config.ips));
    s.over = n_countries >= config.countries || n_ips >= config.ips;
    if (s.over) {
      w.countries.for_each(now, window, [&](std::string_view c) { s.countries.emplace_back(c); });
      w.ips.for_each(now, window, [&](std::string_view i) { s.ips.emplace_back(i); });
    }
    return s;
  });
}

void MailGeography::refresh(const MailGeographyConfig& config, TimePoint t) {
  const std::int64_t now = to_unix_ms(t);
  const std::int64_t window = config.window.count();
  windows_.refresh([&](const std::string&, Window& w, state::Worth& worth) {
    const std::size_t countries = w.countries.count(now, window);
    const std::size_t ips = w.ips.count(now, window);
    worth =
        std::max(state::worth_of(countries, config.countries), state::worth_of(ips, config.ips));
    return countries > 0 || ips > 0;
  });
}

}  // namespace mamori::engine
