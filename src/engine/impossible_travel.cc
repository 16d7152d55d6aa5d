#include "engine/impossible_travel.h"

#include <cmath>

namespace mamori::engine {

double distance_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kEarthRadiusKm = 6371.0;
  constexpr double kRad = M_PI / 180.0;
  const double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(a)));
}

bool is_impossible_travel(const std::optional<store::LoginPlace>& last, const Location& where,
                          TimePoint now, const LoginRiskConfig& config) {
  if (!last || !last->has_coordinates || !where.has_coordinates) return false;
  const double km = distance_km(last->latitude, last->longitude, where.latitude, where.longitude);
  if (km < config.min_distance_km) return false;
  const double hours = std::chrono::duration<double, std::ratio<3600>>(now - last->time).count();
  if (hours <= 0) return true;  // far away at the same instant (or earlier)
  return km / hours > config.max_speed_kmh;
}

}  // namespace mamori::engine
