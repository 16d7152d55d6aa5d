#include "firewall/nft_script.h"

#include <cctype>
#include <chrono>

namespace mamori::firewall {

namespace {

void append_element(std::string& out, const Cidr& net, std::optional<Duration> timeout) {
  out += net.is_single_address() ? net.network().to_string() : net.to_string();
  if (timeout) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*timeout).count();
    out += " timeout " + std::to_string(ms) + "ms";
  }
}

// The set an element goes to: addresses into the hash sets, networks into
// the interval sets, per family.
std::string_view set_of(const Cidr& net) {
  if (net.network().is_v4()) return net.is_single_address() ? kDenyV4 : kDenyNetV4;
  return net.is_single_address() ? kDenyV6 : kDenyNetV6;
}

// "VERB element inet TABLE SET { a, b, ... }" lines for the elements of one
// set, `per_statement` to a line.
template <typename Range, typename Get>
void statements(std::string& out, std::string_view verb, std::string_view table,
                std::string_view set, const Range& r, std::size_t per_statement, Get get) {
  std::size_t in_line = 0;
  for (const auto& item : r) {
    const auto [net, timeout] = get(item);
    if (set_of(net) != set) continue;
    if (timeout && *timeout <= Duration::zero()) continue;
    if (in_line == 0) {
      out += verb;
      out += " element inet ";
      out += table;
      out += ' ';
      out += set;
      out += " { ";
    } else {
      out += ", ";
    }
    append_element(out, net, timeout);
    if (++in_line == per_statement) {
      out += " }\n";
      in_line = 0;
    }
  }
  if (in_line != 0) out += " }\n";
}

template <typename Range, typename Get>
void every_set(std::string& out, std::string_view verb, std::string_view table, const Range& r,
               std::size_t per_statement, Get get) {
  for (std::string_view set : {kDenyV4, kDenyV6, kDenyNetV4, kDenyNetV6})
    statements(out, verb, table, set, r, per_statement, get);
}

}  // namespace

bool is_valid_table_name(std::string_view table) {
  if (table.empty() || table.size() > 64) return false;
  if (!std::isalpha(static_cast<unsigned char>(table[0]))) return false;
  for (char c : table)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string nft_script(std::string_view table, const Batch& batch, std::size_t per_statement) {
  std::string out;
  if (per_statement == 0) per_statement = 1;
  const std::string t(table);
  if (batch.restore) {
    out += "add table inet " + t + "\n";
    out += "delete table inet " + t + "\n";
    out += "table inet " + t + " {\n";
    out += "  set " + std::string(kDenyV4) + " { type ipv4_addr; flags timeout; }\n";
    out += "  set " + std::string(kDenyV6) + " { type ipv6_addr; flags timeout; }\n";
    out += "  set " + std::string(kDenyNetV4) + " { type ipv4_addr; flags interval, timeout; }\n";
    out += "  set " + std::string(kDenyNetV6) + " { type ipv6_addr; flags interval, timeout; }\n";
    for (const char* hook : {"input", "forward"}) {
      out += "  chain " + std::string(hook) + " { type filter hook " + hook +
             " priority -10; policy accept;";
      for (std::string_view set : {kDenyV4, kDenyNetV4})
        out += " ip saddr @" + std::string(set) + " drop;";
      for (std::string_view set : {kDenyV6, kDenyNetV6})
        out += " ip6 saddr @" + std::string(set) + " drop;";
      out += " }\n";
    }
    out += "}\n";
  }
  auto element = [](const Element& e) { return std::pair(e.network, e.timeout); };
  auto bare = [](const auto& x) {
    if constexpr (std::is_same_v<std::decay_t<decltype(x)>, Cidr>)
      return std::pair(x, std::optional<Duration>());
    else
      return std::pair(x.network, std::optional<Duration>());
  };
  // Taken out (present or not): added bare first, so that the delete finds it.
  every_set(out, "add", table, batch.remove, per_statement, bare);
  every_set(out, "delete", table, batch.remove, per_statement, bare);
  every_set(out, "add", table, batch.refresh, per_statement, bare);
  every_set(out, "delete", table, batch.refresh, per_statement, bare);
  every_set(out, "add", table, batch.refresh, per_statement, element);
  every_set(out, "add", table, batch.add, per_statement, element);
  return out;
}

}  // namespace mamori::firewall
