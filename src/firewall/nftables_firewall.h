#ifndef MAMORI_FIREWALL_NFTABLES_FIREWALL_H_
#define MAMORI_FIREWALL_NFTABLES_FIREWALL_H_

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "firewall/firewall.h"

struct mnl_socket;

namespace mamori::firewall {

// The deny sets of one nftables table (nft_table.h describes it), changed
// over a netlink socket of its own: each batch is one NFNL batch
// (nft_batch.h), sent in one sendmsg(2) and applied by the kernel as one
// transaction; the socket's send buffer is raised to hold it
// (SO_SNDBUFFORCE), and the kernel's answers are read until the batch's
// last message is acked or an error comes. Touches no other table. Needs
// CAP_NET_ADMIN in the network namespace it runs in; without it every
// apply() fails with `firewall_failed` and the kernel's message
// ("Operation not permitted").
// Thread-compatible: one caller at a time.
class NftablesFirewall : public Firewall {
 public:
  // REQUIRES: is_valid_table_name(table).
  explicit NftablesFirewall(std::string table);
  ~NftablesFirewall() override;
  NftablesFirewall(const NftablesFirewall&) = delete;
  NftablesFirewall& operator=(const NftablesFirewall&) = delete;

  // Fails with `firewall_failed` and a message that names the table, the
  // message that failed ("add elements to deny_v4") and why ("No such file
  // or directory: the table or set is missing").
  Status apply(const Batch& batch) override;
  const std::string& table() const { return table_; }

  // How long the kernel is waited for once a batch is sent (it answers
  // within sendmsg(2), so this only bounds a kernel that does not).
  static constexpr Duration kAnswerTimeout = std::chrono::seconds(10);

 private:
  Status open_socket();
  Status fail(const std::string& what, int error) const;

  std::string table_;
  mnl_socket* nl_ = nullptr;
  std::uint32_t port_ = 0;
  std::uint32_t seq_ = 0;
  int sndbuf_ = 0;  // the send buffer asked for so far
};

// The message for an errno the kernel gave `what` in table `table`:
// strerror(3) and, for the usual causes, what it means here.
std::string netlink_error_message(const std::string& table, const std::string& what, int error);

}  // namespace mamori::firewall

#endif  // MAMORI_FIREWALL_NFTABLES_FIREWALL_H_
