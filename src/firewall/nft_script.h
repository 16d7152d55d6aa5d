#ifndef MAMORI_FIREWALL_NFT_SCRIPT_H_
#define MAMORI_FIREWALL_NFT_SCRIPT_H_

#include <string>
#include <string_view>

#include "firewall/firewall.h"

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

// REQUIRES: `table` is a valid nftables identifier (is_valid_table_name).
bool is_valid_table_name(std::string_view table);

// The nft commands (nft -f syntax) that apply `batch` to `table`, in one
// transaction:
// - restore: "add table" then "delete table" (so that it works whether the
//   table exists or not), the table with its sets and chains anew, then every
//   element;
// - remove: "add element" then "delete element", so that an element that has
//   already expired in the kernel does not fail the transaction;
// - refresh: the same, then "add element" with the new timeout (the kernel
//   keeps an existing element's timeout on a plain add);
// - add: "add element" with its timeout.
// Timeouts are whole milliseconds, rounded up; an element whose timeout is
// not positive is left out. Elements are grouped per set, at most
// `per_statement` to a statement. Empty text for an empty batch.
std::string nft_script(std::string_view table, const Batch& batch,
                       std::size_t per_statement = 50'000);

}  // namespace mamori::firewall

#endif  // MAMORI_FIREWALL_NFT_SCRIPT_H_
