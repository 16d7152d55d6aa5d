#ifndef MAMORI_FIREWALL_NFT_BATCH_H_
#define MAMORI_FIREWALL_NFT_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "firewall/firewall.h"
#include "firewall/nft_table.h"

namespace mamori::firewall {

// A Batch as nf_tables netlink messages in one NFNL batch (NFNL_MSG_BATCH_BEGIN,
// the messages, NFNL_MSG_BATCH_END): the bytes NftablesFirewall sends in one
// sendmsg(2), which the kernel applies as one transaction. Sequence numbers
// run from `begin_seq` (the BATCH_BEGIN) to `end_seq` (the BATCH_END); the
// last message before BATCH_END asks for an ack (NLM_F_ACK), every message
// that fails is answered with an error whatever its flags.
struct NetlinkBatch {
  std::vector<std::uint8_t> bytes;  // empty: nothing to send
  std::uint32_t begin_seq = 0;
  std::uint32_t last_seq = 0;  // the message that asks for the ack
  std::uint32_t end_seq = 0;
  // What each message does ("add elements to deny_v4"), by seq - begin_seq;
  // for error messages.
  std::vector<std::string> what;

  bool empty() const { return bytes.empty(); }
  // The message `seq` names ("the batch" for BATCH_BEGIN and BATCH_END, and
  // for a sequence number not in it).
  std::string describe(std::uint32_t seq) const;
};

// NFTA_SET_ELEM_LIST_ELEMENTS is one nested attribute, whose length is 16
// bits: the elements of one message stay under this many bytes (about 2,000
// IPv4 addresses with timeouts).
inline constexpr std::size_t kMaxElementListBytes = 60 * 1024;

// The messages that apply `batch` to `table` (family inet), in one
// transaction:
// - restore: NEWTABLE then DELTABLE (so that it works whether the table
//   exists or not), then the table, its sets, chains and rules anew
//   (nft_table.h), then every element;
// - remove: NEWSETELEM then DELSETELEM, so that an element that has already
//   expired in the kernel does not fail the transaction;
// - refresh: the same, then NEWSETELEM with the new timeout (the kernel keeps
//   an existing element's timeout on an add);
// - add: NEWSETELEM with its timeout.
// Addresses go to deny_v4/deny_v6 as keys; networks to deny_net_v4/v6 as an
// interval: its first address (with the timeout) and the address after its
// last flagged NFT_SET_ELEM_INTERVAL_END (none when the network reaches the
// end of the address space: the start is then marked open, as nft marks
// it), and, as nft adds them, an interval end at the zero address. Timeouts
// are whole milliseconds, rounded up; an element whose timeout is not
// positive is left out. Elements are grouped per set, as many to a message
// as fit in `max_list_bytes`. An empty NetlinkBatch for an empty batch.
// REQUIRES: is_valid_table_name(table); with `restore`, `remove` and
// `refresh` are empty.
NetlinkBatch netlink_batch(std::string_view table, const Batch& batch, std::uint32_t first_seq,
                           std::size_t max_list_bytes = kMaxElementListBytes);

}  // namespace mamori::firewall

#endif  // MAMORI_FIREWALL_NFT_BATCH_H_
