#include "geo/maxmind_locator.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace mamori::geo {

namespace {

enum class Kind { kCity, kAsn, kAnonymous };

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::kCity: return "city";
    case Kind::kAsn: return "asn";
    case Kind::kAnonymous: return "anonymous";
  }
  return "?";
}

// True when a database of `type` (its metadata's database_type) can serve `k`.
bool type_fits(Kind k, std::string_view type) {
  switch (k) {
    case Kind::kCity: return type.find("City") != type.npos || type.find("Country") != type.npos;
    case Kind::kAsn: return type.find("ASN") != type.npos;
    case Kind::kAnonymous: return type.find("Anonymous") != type.npos;
  }
  return false;
}

// Closes a file descriptor at scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text() { return std::strerror(errno); }

// Copies the file at `path` into a sealed anonymous memory file and returns
// that file's descriptor: a file replaced, rewritten or truncated in place
// after this (`cp new.mmdb old.mmdb` truncates first) cannot change what the
// daemon maps, so a lookup never reads past a shrunk mapping (SIGBUS). The
// copy is refused when the file changes while it is read.
Result<int> private_copy(const std::string& path) {
  Fd src{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (src.fd < 0) return make_error("io", errno_text());
  struct stat before {};
  if (::fstat(src.fd, &before) != 0) return make_error("io", errno_text());
  if (!S_ISREG(before.st_mode)) return make_error("io", "not a regular file");
  Fd mem{::memfd_create("mamori-geoip", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  if (mem.fd < 0) return make_error("io", "memfd_create: " + errno_text());
  std::vector<char> buf(1 << 20);
  off_t copied = 0;
  for (;;) {
    const ssize_t n = ::read(src.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("io", errno_text());
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(mem.fd, buf.data() + done, std::size_t(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return make_error("io", "copying into memory: " + errno_text());
      done += w;
    }
    copied += n;
  }
  struct stat after {};
  if (::fstat(src.fd, &after) != 0) return make_error("io", errno_text());
  if (copied != before.st_size || after.st_size != before.st_size ||
      after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
      after.st_mtim.tv_nsec != before.st_mtim.tv_nsec)
    return make_error("io", "the file changed while it was read (being written?); try again");
  if (::fcntl(mem.fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    return make_error("io", "sealing the copy: " + errno_text());
  const int fd = mem.fd;
  mem.fd = -1;
  return fd;
}

// One open MMDB file. Not copyable: it owns the mapping.
class Mmdb {
 public:
  Mmdb() = default;
  Mmdb(const Mmdb&) = delete;
  Mmdb& operator=(const Mmdb&) = delete;
  ~Mmdb() {
    if (open_) MMDB_close(&db_);
  }

  Status open(const std::string& path, Kind kind) {
    auto fail = [&](std::string why) {
      return make_error("invalid_geoip", "geoip " + std::string(kind_name(kind)) + " database " +
                                             path + ": " + why);
    };
    auto copy = private_copy(path);
    if (!copy) return fail(copy.error().message);
    Fd mem{*copy};
    // libmaxminddb maps the copy through its /proc path and closes its own
    // descriptor; the mapping keeps the memory once ours is closed too.
    const std::string copy_path = "/proc/self/fd/" + std::to_string(mem.fd);
    const int s = MMDB_open(copy_path.c_str(), MMDB_MODE_MMAP, &db_);
    if (s != MMDB_SUCCESS) {
      std::string why = MMDB_strerror(s);
      if (s == MMDB_IO_ERROR) why += std::string(" (") + std::strerror(errno) + ")";
      return fail(why);
    }
    open_ = true;
    const std::string_view type = db_.metadata.database_type ? db_.metadata.database_type : "";
    if (!type_fits(kind, type))
      return fail("is a " + std::string(type) + " database, not a " + std::string(kind_name(kind)) +
                  " one");
    if (std::string why = verify(); !why.empty()) return fail(why);
    return {};
  }

  const MMDB_s* get() const { return &db_; }

  std::string describe() const {
    char day[16] = "?";
    const std::time_t t = static_cast<std::time_t>(db_.metadata.build_epoch);
    std::tm tm{};
    if (gmtime_r(&t, &tm)) std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
    return std::string(db_.metadata.database_type ? db_.metadata.database_type : "?") + " " + day;
  }

 private:
  // Walks the whole search tree and decodes every data record once. Returns
  // what is wrong, or "" when the file reads cleanly.
  std::string verify() const {
    std::vector<std::uint32_t> stack{0};
    std::unordered_set<std::uint32_t> seen_nodes, seen_data;
    while (!stack.empty()) {
      const std::uint32_t n = stack.back();
      stack.pop_back();
      if (!seen_nodes.insert(n).second) continue;
      MMDB_search_node_s node;
      if (int s = MMDB_read_node(&db_, n, &node); s != MMDB_SUCCESS)
        return "search tree node " + std::to_string(n) + ": " + MMDB_strerror(s);
      const std::pair<std::uint8_t, std::uint64_t> recs[2] = {{node.left_record_type, node.left_record},
                                                               {node.right_record_type, node.right_record}};
      const MMDB_entry_s entries[2] = {node.left_record_entry, node.right_record_entry};
      for (int i = 0; i < 2; ++i) {
        switch (recs[i].first) {
          case MMDB_RECORD_TYPE_SEARCH_NODE: stack.push_back(std::uint32_t(recs[i].second)); break;
          case MMDB_RECORD_TYPE_EMPTY: break;
          case MMDB_RECORD_TYPE_DATA: {
            if (!seen_data.insert(entries[i].offset).second) break;
            MMDB_entry_s e = entries[i];
            MMDB_entry_data_list_s* list = nullptr;
            const int s = MMDB_get_entry_data_list(&e, &list);
            MMDB_free_entry_data_list(list);
            if (s != MMDB_SUCCESS) return MMDB_strerror(s);
            break;
          }
          default: return "search tree node " + std::to_string(n) + " points outside the file";
        }
      }
    }
    return "";
  }

  MMDB_s db_{};
  bool open_ = false;
};

// Fills `out` from the entry's string at `path`; leaves it when absent.
void read_string(MMDB_entry_s* e, std::string& out, const char* const* path) {
  MMDB_entry_data_s d;
  if (MMDB_aget_value(e, &d, path) == MMDB_SUCCESS && d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING)
    out.assign(d.utf8_string, d.data_size);
}

bool read_bool(MMDB_entry_s* e, const char* key) {
  const char* path[] = {key, nullptr};
  MMDB_entry_data_s d;
  return MMDB_aget_value(e, &d, path) == MMDB_SUCCESS && d.has_data &&
         d.type == MMDB_DATA_TYPE_BOOLEAN && d.boolean;
}

std::optional<double> read_double(MMDB_entry_s* e, const char* const* path) {
  MMDB_entry_data_s d;
  if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data) return std::nullopt;
  if (d.type == MMDB_DATA_TYPE_DOUBLE) return d.double_value;
  if (d.type == MMDB_DATA_TYPE_FLOAT) return d.float_value;
  return std::nullopt;
}

}  // namespace

class GeoIpDatabases {
 public:
  Mmdb city, asn, anonymous;
  bool has_city = false, has_asn = false, has_anonymous = false;

  // The record for `ip` in `db`, if any.
  static std::optional<MMDB_entry_s> find(const Mmdb& db, const IpAddress& ip) {
    sockaddr_storage ss{};
    if (ip.is_v4()) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_addr.s_addr = htonl(ip.v4());
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      std::memcpy(sin6->sin6_addr.s6_addr, ip.bytes().data(), 16);
    }
    int err = 0;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(db.get(), reinterpret_cast<sockaddr*>(&ss), &err);
    if (err != MMDB_SUCCESS || !r.found_entry) return std::nullopt;
    return r.entry;
  }
};

MaxmindLocator::MaxmindLocator(GeoIpPaths paths, std::shared_ptr<const GeoIpDatabases> dbs)
    : paths_(std::move(paths)), dbs_(std::move(dbs)) {}

MaxmindLocator::~MaxmindLocator() = default;

namespace {

Result<std::shared_ptr<const GeoIpDatabases>> open_all(const GeoIpPaths& p) {
  auto dbs = std::make_shared<GeoIpDatabases>();
  if (!p.city.empty()) {
    if (Status s = dbs->city.open(p.city, Kind::kCity); !s) return s.error();
    dbs->has_city = true;
  }
  if (!p.asn.empty()) {
    if (Status s = dbs->asn.open(p.asn, Kind::kAsn); !s) return s.error();
    dbs->has_asn = true;
  }
  if (!p.anonymous.empty()) {
    if (Status s = dbs->anonymous.open(p.anonymous, Kind::kAnonymous); !s) return s.error();
    dbs->has_anonymous = true;
  }
  return std::shared_ptr<const GeoIpDatabases>(std::move(dbs));
}

}  // namespace

Result<std::unique_ptr<MaxmindLocator>> MaxmindLocator::open(const GeoIpPaths& paths) {
  auto dbs = open_all(paths);
  if (!dbs) return dbs.error();
  return std::unique_ptr<MaxmindLocator>(new MaxmindLocator(paths, std::move(*dbs)));
}

Status MaxmindLocator::reload() {
  auto dbs = open_all(paths_);
  if (!dbs) return dbs.error();
  dbs_.store(std::move(*dbs));
  return {};
}

std::string MaxmindLocator::describe() const {
  const auto dbs = dbs_.load();
  std::string out;
  auto add = [&](bool has, const Mmdb& db) {
    if (!has) return;
    if (!out.empty()) out += ", ";
    out += db.describe();
  };
  add(dbs->has_city, dbs->city);
  add(dbs->has_asn, dbs->asn);
  add(dbs->has_anonymous, dbs->anonymous);
  return out.empty() ? "no databases" : out;
}

PlaceNames MaxmindLocator::place_names(const IpAddress& ip, std::string_view lang) const {
  PlaceNames names;
  const auto dbs = dbs_.load();
  if (!dbs->has_city || lang.empty() || lang.size() > 16) return names;
  const std::string l(lang);
  if (auto e = GeoIpDatabases::find(dbs->city, ip)) {
    const char* const city[] = {"city", "names", l.c_str(), nullptr};
    const char* const country[] = {"country", "names", l.c_str(), nullptr};
    const char* const registered[] = {"registered_country", "names", l.c_str(), nullptr};
    read_string(&*e, names.city, city);
    read_string(&*e, names.country, country);
    if (names.country.empty()) read_string(&*e, names.country, registered);
  }
  return names;
}

Location MaxmindLocator::locate(const IpAddress& ip) const {
  const auto dbs = dbs_.load();
  Location loc;
  if (dbs->has_city) {
    if (auto e = GeoIpDatabases::find(dbs->city, ip)) {
      static const char* const kCountry[] = {"country", "iso_code", nullptr};
      static const char* const kRegistered[] = {"registered_country", "iso_code", nullptr};
      static const char* const kCity[] = {"city", "names", "en", nullptr};
      static const char* const kZone[] = {"location", "time_zone", nullptr};
      static const char* const kLat[] = {"location", "latitude", nullptr};
      static const char* const kLon[] = {"location", "longitude", nullptr};
      read_string(&*e, loc.country, kCountry);
      if (loc.country.empty()) read_string(&*e, loc.country, kRegistered);
      read_string(&*e, loc.city, kCity);
      read_string(&*e, loc.time_zone, kZone);
      auto lat = read_double(&*e, kLat);
      auto lon = read_double(&*e, kLon);
      if (lat && lon) {
        loc.latitude = *lat;
        loc.longitude = *lon;
        loc.has_coordinates = true;
      }
    }
  }
  if (dbs->has_asn) {
    if (auto e = GeoIpDatabases::find(dbs->asn, ip)) {
      static const char* const kNumber[] = {"autonomous_system_number", nullptr};
      static const char* const kOrg[] = {"autonomous_system_organization", nullptr};
      MMDB_entry_data_s d;
      if (MMDB_aget_value(&*e, &d, kNumber) == MMDB_SUCCESS && d.has_data &&
          d.type == MMDB_DATA_TYPE_UINT32)
        loc.asn = d.uint32;
      read_string(&*e, loc.asn_org, kOrg);
    }
  }
  if (dbs->has_anonymous) {
    if (auto e = GeoIpDatabases::find(dbs->anonymous, ip)) {
      loc.anonymous_vpn = read_bool(&*e, "is_anonymous_vpn");
      loc.hosting_provider = read_bool(&*e, "is_hosting_provider");
      loc.public_proxy = read_bool(&*e, "is_public_proxy");
      loc.tor_exit_node = read_bool(&*e, "is_tor_exit_node");
      loc.residential_proxy = read_bool(&*e, "is_residential_proxy");
    }
  }
  return loc;
}

}  // namespace mamori::geo
