#include "engine/profile_cache.h"

#include <cstring>
#include <new>

#include "core/hash.h"

namespace mamori::engine {

void ProfileCache::Entry::Delete::operator()(Entry* e) const {
  if (e->write_back != nullptr) e->write_back->put_profile(std::string(e->name()), e->profile);
  e->~Entry();
  ::operator delete(e);
}

ProfileCache::EntryPtr ProfileCache::make_entry(std::string_view account) {
  void* mem = ::operator new(sizeof(Entry) + account.size());
  EntryPtr e(new (mem) Entry());
  e->name_size = static_cast<std::uint32_t>(account.size());
  std::memcpy(reinterpret_cast<char*>(e.get() + 1), account.data(), account.size());
  remeasure(*e);
  return e;
}

void ProfileCache::remeasure(Entry& e) {
  const store::AccountProfile& p = e.profile;
  std::size_t n = sizeof(Entry) + e.name_size +
                  p.devices.capacity() * sizeof(store::KnownDevice) +
                  p.countries.capacity() * sizeof(std::string) +
                  p.asns.capacity() * sizeof(std::uint32_t) + p.suspicious_reasons.capacity();
  auto device_bytes = [](const store::KnownDevice& d) {
    return d.key.capacity() + d.device_id.capacity() + d.user_agent.capacity();
  };
  for (const store::KnownDevice& d : p.devices) n += device_bytes(d);
  n += device_bytes(p.pending_device) + p.pending_country.capacity();
  if (p.last_success) n += p.last_success->country.capacity() + p.last_success->city.capacity();
  e.bytes = n;
}

std::uint64_t ProfileCache::fingerprint(std::string_view account) { return hash_bytes(account); }

ProfileCache::Entry& ProfileCache::entry_for(Slot& s, std::string_view account) {
  if (!s.entry || s.entry->name() != account) s.entry = make_entry(account);
  return *s.entry;
}

Result<store::AccountProfile> ProfileCache::get(const std::string& account) {
  const std::uint64_t key = key_of_(account);
  store::AccountProfile out;
  bool loaded = false;
  cache_.read(key, [&](const Slot& s) {
    if (s.entry && s.entry->loaded && s.entry->name() == account) {
      out = s.entry->profile;
      loaded = true;
    }
  });
  if (loaded) return out;
  auto stored = store_.profile(account);
  if (!stored) return stored.error();
  // Another thread may have cached a newer one meanwhile: keep that.
  cache_.update(key, [&](Slot& s) {
    Entry& e = entry_for(s, account);
    if (!e.loaded) {
      e.profile = *stored;
      e.loaded = true;
      remeasure(e);
    }
    out = e.profile;
  });
  return out;
}

bool ProfileCache::cached(const std::string& account) const {
  bool loaded = false;
  cache_.read(key_of_(account), [&](const Slot& s) {
    loaded = s.entry && s.entry->loaded && s.entry->name() == account;
  });
  return loaded;
}

void ProfileCache::prime(const std::string& account, store::AccountProfile profile) {
  cache_.update(key_of_(account), [&](Slot& s) {
    Entry& e = entry_for(s, account);
    if (e.loaded) return;
    e.profile = std::move(profile);
    e.loaded = true;
    remeasure(e);
  });
}

store::WriteTicket ProfileCache::put(const std::string& account, store::AccountProfile profile) {
  store::WriteTicket written = 0;
  cache_.update(key_of_(account), [&](Slot& s) {
    Entry& e = entry_for(s, account);
    e.written = written = store_.put_profile(account, profile);
    e.write_back = nullptr;
    e.profile = std::move(profile);
    e.loaded = true;
    remeasure(e);
  });
  return written;
}

template <typename P>
bool ProfileCache::unload_if(const std::string& account, P&& drop) {
  bool dropped = false;
  cache_.update_if_present(key_of_(account), [&](Slot& s, state::Worth&) {
    if (!s.entry || s.entry->name() != account || !s.entry->loaded || !drop(*s.entry)) return;
    s.entry->profile = store::AccountProfile{};
    s.entry->write_back = nullptr;
    s.entry->loaded = false;
    remeasure(*s.entry);
    dropped = true;
  });
  if (dropped) invalidated_.fetch_add(1, std::memory_order_relaxed);
  return dropped;
}

bool ProfileCache::invalidate(const std::string& account, store::WriteTicket committed) {
  return unload_if(account, [&](const Entry& e) { return e.written <= committed; });
}

bool ProfileCache::merged(const std::string& account, std::uint64_t version) {
  return unload_if(account, [&](const Entry& e) { return e.profile.version == version; });
}

void ProfileCache::forget(const store::WriteSpan& failed) {
  cache_.erase_if([&](const Slot& s) {
    return s.entry && s.entry->written >= failed.first && s.entry->written <= failed.last;
  });
}

}  // namespace mamori::engine
