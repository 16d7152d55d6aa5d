#ifndef MAMORI_FIREWALL_NFT_SCRIPT_H_
#define MAMORI_FIREWALL_NFT_SCRIPT_H_

#include <string>
#include <string_view>

#include "firewall/firewall.h"

namespace mamori::firewall {

// The nftables table mamori owns, and the two sets in it:
//   table inet TABLE {
//     set deny_v4 { type ipv4_addr; flags interval, timeout; }
//     set deny_v6 { type ipv6_addr; flags interval, timeout; }
//     chain input   { type filter hook input priority -10; ... saddr @deny_v4 drop ... }
//     chain forward { type filter hook forward priority -10; ... }
//   }
// Interval sets, so that a network (a /24 block, a CIDR deny-list entry) is
// one element. The kernel refuses overlapping intervals: callers give no
// element inside another one.
inline constexpr std::string_view kDenyV4 = "deny_v4";
inline constexpr std::string_view kDenyV6 = "deny_v6";

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
