#ifndef MAMORI_ENGINE_IMPOSSIBLE_TRAVEL_H_
#define MAMORI_ENGINE_IMPOSSIBLE_TRAVEL_H_

#include <optional>

#include "core/clock.h"
#include "core/location.h"
#include "engine/engine_config.h"
#include "store/records.h"

namespace mamori::engine {

// Great-circle distance in km between two points (haversine, mean Earth
// radius 6371 km).
double distance_km(double lat1, double lon1, double lat2, double lon2);

// impossible_travel: the speed needed to get from the last successful
// login's place to `where` by `now` is over config.max_speed_kmh, over at
// least config.min_distance_km (GeoIP places are approximate: short hops
// are noise). False when either place has no coordinates.
bool is_impossible_travel(const std::optional<store::LoginPlace>& last, const Location& where,
                          TimePoint now, const LoginRiskConfig& config);

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_IMPOSSIBLE_TRAVEL_H_
