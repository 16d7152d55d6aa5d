#include "store/profile_codec.h"

#include <boost/json.hpp>

#include "core/json_writer.h"

namespace mamori::store {

namespace json = boost::json;

namespace {

std::int64_t ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
TimePoint from_ms(std::int64_t v) { return TimePoint(std::chrono::milliseconds(v)); }

void write_device(JsonWriter& w, const KnownDevice& d) {
  w.begin_object()
      .field("k", d.key)
      .field("i", d.device_id)
      .field("u", d.user_agent)
      .field("f", ms(d.first_seen))
      .field("l", ms(d.last_seen))
      .end_object();
}

// Readers that throw on a wrong type; decode_profile turns that into an Error.
std::string str(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v ? std::string(v->as_string()) : std::string();
}
std::int64_t num(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v ? v->to_number<std::int64_t>() : 0;
}
double real(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v ? v->to_number<double>() : 0.0;
}

KnownDevice decode_device(const json::object& o) {
  KnownDevice d;
  d.key = str(o, "k");
  d.device_id = str(o, "i");
  d.user_agent = str(o, "u");
  d.first_seen = from_ms(num(o, "f"));
  d.last_seen = from_ms(num(o, "l"));
  return d;
}

}  // namespace

// Written straight into the string (no document is built): it runs for every
// profile write.
std::string encode_profile(const AccountProfile& p) {
  std::string out;
  encode_profile_into(p, out);
  return out;
}

void encode_profile_into(const AccountProfile& p, std::string& out) {
  out.clear();
  out.reserve(128 + p.devices.size() * 160);
  JsonWriter w(out);
  w.begin_object().key("d").begin_array();
  for (const KnownDevice& d : p.devices) write_device(w, d);
  w.end_array().key("c").begin_array();
  for (const std::string& c : p.countries) w.value(c);
  w.end_array().key("a").begin_array();
  for (std::uint32_t a : p.asns) w.value(std::uint64_t(a));
  w.end_array();
  if (p.last_success) {
    const LoginPlace& l = *p.last_success;
    w.key("ls")
        .begin_object()
        .field("t", ms(l.time))
        .field("ip", l.ip.to_string())
        .field("c", l.country)
        .field("ci", l.city);
    if (l.has_coordinates) w.field("lat", l.latitude).field("lon", l.longitude);
    w.end_object();
  }
  if (p.suspicious_since) {
    w.field("ss", ms(*p.suspicious_since)).field("sr", p.suspicious_reasons).key("pd");
    write_device(w, p.pending_device);
    w.field("pc", p.pending_country).field("pa", std::uint64_t(p.pending_asn));
  }
  w.end_object();
}

Result<AccountProfile> decode_profile(std::string_view text) {
  AccountProfile p;
  try {
    json::value v = json::parse(text);
    const json::object& o = v.as_object();
    if (const json::value* d = o.if_contains("d"))
      for (const json::value& e : d->as_array()) p.devices.push_back(decode_device(e.as_object()));
    if (const json::value* c = o.if_contains("c"))
      for (const json::value& e : c->as_array()) p.countries.emplace_back(e.as_string());
    if (const json::value* a = o.if_contains("a"))
      for (const json::value& e : a->as_array()) p.asns.push_back(e.to_number<std::uint32_t>());
    if (const json::value* ls = o.if_contains("ls")) {
      const json::object& lo = ls->as_object();
      LoginPlace l;
      l.time = from_ms(num(lo, "t"));
      auto ip = IpAddress::parse(str(lo, "ip"));
      if (!ip) return make_error("invalid_profile", "bad last login ip");
      l.ip = *ip;
      l.country = str(lo, "c");
      l.city = str(lo, "ci");
      if (lo.contains("lat")) {
        l.latitude = real(lo, "lat");
        l.longitude = real(lo, "lon");
        l.has_coordinates = true;
      }
      p.last_success = std::move(l);
    }
    if (o.contains("ss")) {
      p.suspicious_since = from_ms(num(o, "ss"));
      p.suspicious_reasons = str(o, "sr");
      if (const json::value* d = o.if_contains("pd")) p.pending_device = decode_device(d->as_object());
      p.pending_country = str(o, "pc");
      p.pending_asn = static_cast<std::uint32_t>(num(o, "pa"));
    }
  } catch (const std::exception& e) {
    return make_error("invalid_profile", std::string("cannot read profile: ") + e.what());
  }
  return p;
}

}  // namespace mamori::store
