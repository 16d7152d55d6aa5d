#ifndef MAMORI_FIREWALL_NFT_TABLE_H_
#define MAMORI_FIREWALL_NFT_TABLE_H_

#include <string_view>

namespace mamori::firewall {

// The nftables table mamori owns, and the sets in it:
//   table inet TABLE {
//     set deny_v4     { type ipv4_addr; flags timeout; }            addresses
//     set deny_v6     { type ipv6_addr; flags timeout; }
//     set deny_net_v4 { type ipv4_addr; flags interval, timeout; }  networks
//     set deny_net_v6 { type ipv6_addr; flags interval, timeout; }
//     chain input   { type filter hook input priority -10; ... saddr @SET drop ... }
//     chain forward { type filter hook forward priority -10; ... }
//   }
// Addresses go to hash sets: nft checks an interval set's new elements
// against all it holds, so with 100,000 addresses in an interval set one
// added address took 8 to 10 s against 8 ms in a hash set. Networks (a /24
// block, a CIDR deny-list entry) are one element each in the interval sets,
// which refuse overlapping intervals: callers give no network inside
// another one.
inline constexpr std::string_view kDenyV4 = "deny_v4";
inline constexpr std::string_view kDenyV6 = "deny_v6";
inline constexpr std::string_view kDenyNetV4 = "deny_net_v4";
inline constexpr std::string_view kDenyNetV6 = "deny_net_v6";

// Whether `table` can name mamori's table: a letter, then letters, digits or
// '_', 64 characters at most (nothing nft or a netlink name would refuse).
bool is_valid_table_name(std::string_view table);

}  // namespace mamori::firewall

#endif  // MAMORI_FIREWALL_NFT_TABLE_H_
