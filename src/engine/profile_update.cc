#include "engine/profile_update.h"

#include <algorithm>

namespace mamori::engine {

namespace {

// Moves `v` to the front of `list` (adding it), keeping at most `max`. A
// value already listed is rotated into place: nothing is copied or allocated.
template <typename T>
void remember_front(std::vector<T>& list, const T& v, std::size_t max) {
  auto it = std::find(list.begin(), list.end(), v);
  if (it != list.end()) {
    std::rotate(list.begin(), it, it + 1);
    return;
  }
  list.insert(list.begin(), v);
  if (list.size() > max) list.resize(max);
}

// The device with `key` was seen: it moves to the front of the list with
// this sighting's id, user agent (an empty one keeps the known one) and last
// time; its first time stays the earliest. A known device is updated in
// place (the familiar login allocates nothing); a new one is added, and the
// least recently seen dropped beyond `max`.
void learn_device(store::AccountProfile& p, std::string_view key, std::string_view device_id,
                  std::string_view user_agent, TimePoint first_seen, TimePoint last_seen,
                  std::size_t max) {
  if (key.empty()) return;
  auto it = std::find_if(p.devices.begin(), p.devices.end(),
                         [&](const store::KnownDevice& d) { return d.key == key; });
  if (it == p.devices.end()) {
    store::KnownDevice d;
    d.key = std::string(key);
    d.device_id = std::string(device_id);
    d.user_agent = std::string(user_agent);
    d.first_seen = first_seen;
    d.last_seen = last_seen;
    p.devices.insert(p.devices.begin(), std::move(d));
    if (p.devices.size() > max) p.devices.resize(max);
    return;
  }
  it->first_seen = std::min(it->first_seen, first_seen);
  it->last_seen = last_seen;
  if (it->device_id != device_id) it->device_id.assign(device_id);
  if (!user_agent.empty() && it->user_agent != user_agent) it->user_agent.assign(user_agent);
  std::rotate(p.devices.begin(), it, it + 1);
}

void learn_device(store::AccountProfile& p, const store::KnownDevice& seen, std::size_t max) {
  learn_device(p, seen.key, seen.device_id, seen.user_agent, seen.first_seen, seen.last_seen, max);
}

store::KnownDevice device_of(std::string_view key, const Event& e) {
  store::KnownDevice d;
  d.key = std::string(key);
  d.device_id = e.device_id;
  d.user_agent = e.user_agent;
  d.first_seen = d.last_seen = e.time;
  return d;
}

}  // namespace

void learn_login(store::AccountProfile& p, std::string_view device_key, const Event& e,
                 const Location& where, const ProfileConfig& limits) {
  learn_device(p, device_key, e.device_id, e.user_agent, e.time, e.time, limits.max_devices);
  if (!where.country.empty()) remember_front(p.countries, where.country, limits.max_countries);
  if (where.asn != 0) remember_front(p.asns, where.asn, limits.max_asns);
}

void record_success(store::AccountProfile& p, const Event& e, const Location& where) {
  // Assigned in place: the strings keep their buffers from the last login.
  store::LoginPlace& l = p.last_success ? *p.last_success : p.last_success.emplace();
  l.time = e.time;
  l.ip = e.ip;
  l.country = where.country;
  l.city = where.city;
  l.latitude = where.latitude;
  l.longitude = where.longitude;
  l.has_coordinates = where.has_coordinates;
}

void mark_suspicious(store::AccountProfile& p, const LoginAssessment& a, std::string_view device_key,
                     const Event& e, const Location& where) {
  p.suspicious_since = e.time;
  p.suspicious_reasons = a.reasons();
  p.pending_device = device_of(device_key, e);
  p.pending_country = where.country;
  p.pending_asn = where.asn;
}

bool pass_challenge(store::AccountProfile& p, const ProfileConfig& limits) {
  if (!p.suspicious_since) return false;
  learn_device(p, p.pending_device, limits.max_devices);
  if (!p.pending_country.empty()) remember_front(p.countries, p.pending_country, limits.max_countries);
  if (p.pending_asn != 0) remember_front(p.asns, p.pending_asn, limits.max_asns);
  clear_suspicion(p);
  return true;
}

void clear_suspicion(store::AccountProfile& p) {
  p.suspicious_since.reset();
  p.suspicious_reasons.clear();
  p.pending_device = {};
  p.pending_country.clear();
  p.pending_asn = 0;
}

namespace {

// `first`'s values, then `second`'s not among them, at most `max`.
template <typename T>
std::vector<T> union_of(const std::vector<T>& first, const std::vector<T>& second,
                        std::size_t max) {
  std::vector<T> out = first;
  for (const T& v : second)
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  if (out.size() > max) out.resize(max);
  return out;
}

TimePoint last_success_time(const store::AccountProfile& p) {
  return p.last_success ? p.last_success->time : TimePoint{};
}

}  // namespace

store::AccountProfile merge_profiles(const store::AccountProfile& stored,
                                     const store::AccountProfile& mine,
                                     const ProfileConfig& limits) {
  store::AccountProfile out;
  out.version = mine.version;
  // Devices: mine, then the stored ones, each sighting folded in.
  out.devices = mine.devices;
  for (const store::KnownDevice& d : stored.devices) {
    auto it = std::find_if(out.devices.begin(), out.devices.end(),
                           [&](const store::KnownDevice& o) { return o.key == d.key; });
    if (it == out.devices.end()) {
      out.devices.push_back(d);
      continue;
    }
    it->first_seen = std::min(it->first_seen, d.first_seen);
    if (d.last_seen > it->last_seen) {
      it->last_seen = d.last_seen;
      it->device_id = d.device_id;
      if (!d.user_agent.empty()) it->user_agent = d.user_agent;
    }
  }
  std::stable_sort(out.devices.begin(), out.devices.end(),
                   [](const store::KnownDevice& a, const store::KnownDevice& b) {
                     return a.last_seen > b.last_seen;
                   });
  if (out.devices.size() > limits.max_devices) out.devices.resize(limits.max_devices);

  const bool mine_newer = last_success_time(mine) >= last_success_time(stored);
  const store::AccountProfile& newer = mine_newer ? mine : stored;
  const store::AccountProfile& older = mine_newer ? stored : mine;
  out.countries = union_of(newer.countries, older.countries, limits.max_countries);
  out.asns = union_of(newer.asns, older.asns, limits.max_asns);
  out.last_success = newer.last_success ? newer.last_success : older.last_success;

  // The pending suspicious login: the later one either copy has.
  const store::AccountProfile* pending = nullptr;
  for (const store::AccountProfile* p : {&mine, &stored})
    if (p->suspicious_since &&
        (pending == nullptr || *p->suspicious_since > *pending->suspicious_since))
      pending = p;
  if (pending != nullptr) {
    out.suspicious_since = pending->suspicious_since;
    out.suspicious_reasons = pending->suspicious_reasons;
    out.pending_device = pending->pending_device;
    out.pending_country = pending->pending_country;
    out.pending_asn = pending->pending_asn;
  }
  return out;
}

bool suspicious_within(const store::AccountProfile& p, TimePoint now, Duration window) {
  return p.suspicious_since && now - *p.suspicious_since < window;
}

}  // namespace mamori::engine
