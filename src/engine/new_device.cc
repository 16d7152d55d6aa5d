#include "engine/new_device.h"

#include <algorithm>

namespace mamori::engine {

bool is_new_device(const store::AccountProfile& profile, std::string_view device_key) {
  if (device_key.empty() || profile.devices.empty()) return false;
  return std::none_of(profile.devices.begin(), profile.devices.end(),
                      [&](const store::KnownDevice& d) { return d.key == device_key; });
}

}  // namespace mamori::engine
