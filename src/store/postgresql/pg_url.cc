#include "store/postgresql/pg_url.h"

#include <libpq-fe.h>

#include <charconv>
#include <memory>

namespace mamori::store::postgresql {

namespace {

constexpr std::string_view kSchemes[] = {"postgresql://", "postgres://"};

Error invalid(std::string_view text, const std::string& why) {
  return make_error("invalid_url", "invalid PostgreSQL URL '" + redact_pg_url(text) + "': " + why);
}

}  // namespace

bool is_pg_url(std::string_view text) {
  for (std::string_view s : kSchemes)
    if (text.starts_with(s)) return true;
  return false;
}

std::string redact_pg_url(std::string_view text) {
  std::string out(text);
  const auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    const auto start = scheme + 3;
    const auto end = out.find_first_of("/?", start);
    const auto at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at > start) {
      const auto colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (std::size_t p = out.find("password="); p != std::string::npos;
       p = out.find("password=", p + 1)) {
    if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&') continue;
    const auto v = p + 9;
    const auto end = out.find('&', v);
    out.replace(v, (end == std::string::npos ? out.size() : end) - v, "***");
  }
  return out;
}

Result<PgUrl> parse_pg_url(std::string_view text) {
  if (!is_pg_url(text)) return invalid(text, "it must start with postgresql:// (or postgres://)");
  for (char c : text)
    if (static_cast<unsigned char>(c) <= ' ')
      return invalid(text, "it holds a space or a control character");
  char* err = nullptr;
  const std::string s(text);
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> opts(
      PQconninfoParse(s.c_str(), &err), PQconninfoFree);
  if (!opts) {
    std::string why = err != nullptr ? err : "libpq cannot read it";
    PQfreemem(err);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return invalid(text, why);
  }
  PgUrl url{s, redact_pg_url(text), ""};
  std::string host, port;
  for (PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view k = o->keyword;
    if (k == "host" || k == "hostaddr") host = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") url.database = o->val;
  }
  if (host.empty()) return invalid(text, "it names no host");
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return invalid(text, "port '" + port + "' is not a number from 1 to 65535");
  }
  if (url.database.empty()) return invalid(text, "it names no database (…/DATABASE)");
  return url;
}

}  // namespace mamori::store::postgresql
