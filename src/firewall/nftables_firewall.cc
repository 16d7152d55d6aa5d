#include "firewall/nftables_firewall.h"

#include <nftables/libnftables.h>

#include "firewall/nft_script.h"

namespace mamori::firewall {

NftablesFirewall::NftablesFirewall(std::string table)
    : table_(std::move(table)), ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
  if (ctx_ != nullptr) {
    nft_ctx_buffer_output(ctx_);
    nft_ctx_buffer_error(ctx_);
  }
}

NftablesFirewall::~NftablesFirewall() {
  if (ctx_ != nullptr) nft_ctx_free(ctx_);
}

Status NftablesFirewall::apply(const Batch& batch) {
  if (ctx_ == nullptr) return make_error("firewall_failed", "libnftables: no context");
  const std::string script = nft_script(table_, batch);
  if (script.empty()) return {};
  const int rc = nft_run_cmd_from_buffer(ctx_, script.c_str());
  std::string message = nft_ctx_get_error_buffer(ctx_);
  nft_ctx_get_output_buffer(ctx_);  // drained, unused
  if (rc != 0) {
    // The kernel's message comes first; the failing command follows it.
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    if (message.empty()) message = "nft transaction failed";
    const auto nl = message.find('\n');
    return make_error("firewall_failed",
                      "nftables table inet " + table_ + ": " + message.substr(0, nl));
  }
  return {};
}

}  // namespace mamori::firewall
