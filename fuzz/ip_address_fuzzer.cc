// IP address and CIDR parsing (core/ip_address): the text of an "ip" field,
// a list target or a Postfix client_address.
//
// Checks besides the sanitizers: what parses prints canonically and parses
// back to the same value; a network contains its own address and every
// address it is the masked form of; an address is in each of its own
// networks, its aggregate network included.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ip_address.h"
#include "fuzz_support.h"

namespace mamori::fuzz {
namespace {

void check_address(const IpAddress& a, std::string_view text) {
  const std::string printed = a.to_string();
  auto again = IpAddress::parse(printed);
  if (!again || !(*again == a) || again->to_string() != printed)
    fail("'" + std::string(text) + "' prints as '" + printed +
         "', which does not parse back to it");
  if (a.is_v4() && !(IpAddress::from_v4(a.v4()) == a))
    fail("'" + std::string(text) + "' is IPv4 but from_v4(v4()) differs");
  for (int prefix = 0; prefix <= a.max_prefix(); ++prefix) {
    const Cidr net(a, prefix);
    if (!net.contains(a)) fail(net.to_string() + " does not contain " + printed);
    if (!(net.network().masked(prefix) == net.network())) fail(net.to_string() + " is not masked");
  }
  if (!Cidr(a.aggregate_network(), a.aggregate_prefix()).contains(a))
    fail(printed + " is not in its aggregate network");
}

void check_network(const Cidr& c, std::string_view text) {
  const std::string printed = c.to_string();
  auto again = Cidr::parse(printed);
  if (!again || !(*again == c) || again->to_string() != printed)
    fail("'" + std::string(text) + "' prints as '" + printed +
         "', which does not parse back to it");
  if (!c.contains(c.network())) fail(printed + " does not contain its own address");
  if (c.prefix() < 0 || c.prefix() > c.network().max_prefix())
    fail(printed + ": prefix out of range");
  if (c.is_single_address() != (c.prefix() == c.network().max_prefix()))
    fail(printed + ": is_single_address() is wrong");
}

}  // namespace
}  // namespace mamori::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mamori;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto a = IpAddress::parse(text)) fuzz::check_address(*a, text);
  if (auto c = Cidr::parse(text)) fuzz::check_network(*c, text);
  return 0;
}
