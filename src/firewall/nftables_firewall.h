#ifndef MAMORI_FIREWALL_NFTABLES_FIREWALL_H_
#define MAMORI_FIREWALL_NFTABLES_FIREWALL_H_

#include <string>

#include "firewall/firewall.h"

struct nft_ctx;

namespace mamori::firewall {

// The deny sets of one nftables table (nft_script.h describes it), changed
// through libnftables: each batch is one netlink transaction. Touches no
// other table. Needs CAP_NET_ADMIN in the network namespace it runs in;
// without it every apply() fails with `firewall_failed` and the kernel's
// message ("Operation not permitted").
// Thread-compatible: one caller at a time.
class NftablesFirewall : public Firewall {
 public:
  // REQUIRES: is_valid_table_name(table).
  explicit NftablesFirewall(std::string table);
  ~NftablesFirewall() override;
  NftablesFirewall(const NftablesFirewall&) = delete;
  NftablesFirewall& operator=(const NftablesFirewall&) = delete;

  Status apply(const Batch& batch) override;
  const std::string& table() const { return table_; }

 private:
  std::string table_;
  nft_ctx* ctx_ = nullptr;
};

}  // namespace mamori::firewall

#endif  // MAMORI_FIREWALL_NFTABLES_FIREWALL_H_
