#ifndef MAMORI_ENGINE_NEW_DEVICE_H_
#define MAMORI_ENGINE_NEW_DEVICE_H_

#include <string_view>

#include "store/records.h"

namespace mamori::engine {

// new_device: a successful login from a device the account has never used.
// An account with no known device yet (its first login) has nothing to
// compare with and is not flagged; nor is an event with no device key.
bool is_new_device(const store::AccountProfile& profile, std::string_view device_key);

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_NEW_DEVICE_H_
