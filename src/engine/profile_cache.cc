#include "engine/profile_cache.h"

namespace mamori::engine {

std::size_t ProfileCache::Entry::memory_bytes() const {
  const store::AccountProfile& p = profile;
  std::size_t n = p.devices.capacity() * sizeof(store::KnownDevice) +
                  p.countries.capacity() * sizeof(std::string) +
                  p.asns.capacity() * sizeof(std::uint32_t) +
                  (p.last_success ? sizeof(store::LoginPlace) : 0) + p.suspicious_reasons.capacity();
  for (const store::KnownDevice& d : p.devices)
    n += d.key.capacity() + d.device_id.capacity() + d.user_agent.capacity();
  return n;
}

Result<store::AccountProfile> ProfileCache::get(const std::string& account) {
  store::AccountProfile out;
  bool loaded = false;
  if (cache_.read(account, [&](const Entry& e) {
        loaded = e.loaded;
        if (loaded) out = e.profile;
      }) &&
      loaded)
    return out;
  auto stored = store_.profile(account);
  if (!stored) return stored.error();
  // Another thread may have cached a newer one meanwhile: keep that.
  cache_.update(account, [&](Entry& e) {
    if (!e.loaded) {
      e.profile = *stored;
      e.loaded = true;
    }
    out = e.profile;
  });
  return out;
}

store::WriteTicket ProfileCache::put(const std::string& account, store::AccountProfile profile) {
  cache_.update(account, [&](Entry& e) {
    e.profile = profile;
    e.loaded = true;
  });
  return store_.put_profile(account, std::move(profile));
}

}  // namespace mamori::engine
