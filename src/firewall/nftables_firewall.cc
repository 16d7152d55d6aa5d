#include "firewall/nftables_firewall.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <vector>

#include "firewall/nft_batch.h"

namespace mamori::firewall {

std::string netlink_error_message(const std::string& table, const std::string& what, int error) {
  std::string m = "nftables table inet " + table + ": " + what + ": " + std::strerror(error);
  switch (error) {
    case EPERM:
      return m + " (mamorid needs CAP_NET_ADMIN in its network namespace)";
    case ENOENT:
      return m + " (the table or one of its sets is missing)";
    case EOPNOTSUPP:
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
      return m + " (no nf_tables in this kernel)";
    case EMSGSIZE:
      return m + " (the batch is larger than the socket's send buffer)";
    case ENOBUFS:
      return m + " (the kernel's answers overflowed the socket's receive buffer)";
    case EEXIST:
    case ENOTEMPTY:
      return m + " (an overlapping network is in the set)";
    case ETIMEDOUT:
      return m + " (the kernel did not answer)";
    default:
      return m;
  }
}

NftablesFirewall::NftablesFirewall(std::string table) : table_(std::move(table)) {}

NftablesFirewall::~NftablesFirewall() {
  if (nl_ != nullptr) mnl_socket_close(nl_);
}

Status NftablesFirewall::fail(const std::string& what, int error) const {
  return make_error("firewall_failed", netlink_error_message(table_, what, error));
}

Status NftablesFirewall::open_socket() {
  if (nl_ != nullptr) return {};
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr) return fail("opening a netlink socket", errno);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    mnl_socket_close(nl);
    return fail("binding a netlink socket", err);
  }
  // Errors carry the failing message's header only, and the kernel's own
  // text when it has one.
  int on = 1;
  (void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &on, sizeof(on));
  (void)mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &on, sizeof(on));
  nl_ = nl;
  port_ = mnl_socket_get_portid(nl);
  return {};
}

Status NftablesFirewall::apply(const Batch& batch) {
  if (batch.empty()) return {};
  if (Status s = open_socket(); !s) return s;
  const NetlinkBatch nb = netlink_batch(table_, batch, seq_ + 1);
  if (nb.empty()) return {};
  seq_ = nb.end_seq;
  const int fd = mnl_socket_get_fd(nl_);
  // The whole batch goes in one sendmsg: the send buffer must hold it (the
  // kernel doubles the value asked for; over net.core.wmem_max only with
  // SO_SNDBUFFORCE, which needs CAP_NET_ADMIN, as the batch does).
  const std::size_t need_bytes = nb.bytes.size() + 64 * 1024;
  const int need = need_bytes > std::size_t(INT_MAX / 2) ? INT_MAX / 2 : int(need_bytes);
  if (need > sndbuf_) {
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &need, sizeof(need)) != 0)
      (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &need, sizeof(need));
    sndbuf_ = need;
  }
  if (mnl_socket_sendto(nl_, nb.bytes.data(), nb.bytes.size()) < 0) {
    const int err = errno;
    return fail("sending the batch of " + std::to_string(nb.bytes.size()) + " bytes", err);
  }
  // The kernel handles the batch inside sendmsg: its answers are queued by
  // now. An error for any message (or for BATCH_BEGIN: the whole batch, such
  // as no CAP_NET_ADMIN, or a failed commit) fails it; the last message's
  // ack ends it.
  std::vector<char> buf(64 * 1024);
  const auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
  while (true) {
    const ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return fail("waiting for the kernel's answer", ETIMEDOUT);
        pollfd p{fd, POLLIN, 0};
        (void)poll(&p, 1, int(left.count()));
        continue;
      }
      return fail("reading the kernel's answer", err);
    }
    int len = int(n);
    for (const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
         mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_pid != 0 && nlh->nlmsg_pid != port_) continue;
      if (nlh->nlmsg_seq < nb.begin_seq || nlh->nlmsg_seq > nb.end_seq)
        continue;  // an earlier batch's
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (e->error == 0) {
        if (nlh->nlmsg_seq == nb.last_seq) return {};
        continue;
      }
      std::string what = nb.describe(nlh->nlmsg_seq);
      if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
        const std::size_t offset =
            sizeof(nlmsgerr) +
            ((nlh->nlmsg_flags & NLM_F_CAPPED) ? 0 : e->msg.nlmsg_len - sizeof(nlmsghdr));
        const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
        for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
             mnl_attr_ok(attr, int(tail - reinterpret_cast<const char*>(attr)));
             attr = mnl_attr_next(attr)) {
          if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG) {
            what += std::string(" (") + mnl_attr_get_str(attr) + ")";
            break;
          }
        }
      }
      return fail(what, -e->error);
    }
  }
}

}  // namespace mamori::firewall
