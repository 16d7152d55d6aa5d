#include "firewall/nft_batch.h"

#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <array>
#include <cctype>
#include <chrono>
#include <optional>

namespace mamori::firewall {

bool is_valid_table_name(std::string_view table) {
  if (table.empty() || table.size() > 64) return false;
  if (!std::isalpha(static_cast<unsigned char>(table[0]))) return false;
  for (char c : table)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string NetlinkBatch::describe(std::uint32_t seq) const {
  if (seq <= begin_seq || seq >= end_seq || seq - begin_seq > what.size()) return "the batch";
  return what[seq - begin_seq - 1];
}

namespace {

struct SetInfo {
  std::string_view name;
  bool v4;
  bool interval;
  std::uint32_t id;  // NFTA_SET_ID in a restore, for the rules' lookups
};
constexpr std::array<SetInfo, 4> kSets = {{{kDenyV4, true, false, 1},
                                           {kDenyV6, false, false, 2},
                                           {kDenyNetV4, true, true, 3},
                                           {kDenyNetV6, false, true, 4}}};

std::size_t set_of(const Cidr& net) {
  const bool single = net.is_single_address();
  if (net.network().is_v4()) return single ? 0 : 2;
  return single ? 1 : 3;
}

// nft's set user data: the key's byte order (NFTNL_UDATA_SET_KEYBYTEORDER =
// 0, 4 bytes, BYTEORDER_BIG_ENDIAN = 2), so that nft prints the addresses.
constexpr std::array<std::uint8_t, 6> kSetUserData = {0, 4, 2, 0, 0, 0};
// nft's element user data for an interval that runs to the end of the
// address space (NFTNL_UDATA_SET_ELEM_FLAGS = 1, 4 bytes,
// NFTNL_SET_ELEM_F_INTERVAL_OPEN = 1, host order).
constexpr std::array<std::uint8_t, 6> kOpenIntervalUserData = {1, 4, 1, 0, 0, 0};

constexpr std::size_t attr_bytes(std::size_t payload) {
  return MNL_ALIGN(MNL_ATTR_HDRLEN + payload);
}

// One key of a set: an address, or an interval's start or end.
struct Key {
  std::array<std::uint8_t, 16> bytes{};
  std::uint8_t len = 0;
  bool interval_end = false;
  bool open = false;  // an interval start with no end
  std::optional<std::uint64_t> timeout_ms;

  std::size_t encoded_bytes() const {
    std::size_t n = MNL_ATTR_HDRLEN;         // NFTA_LIST_ELEM
    n += MNL_ATTR_HDRLEN + attr_bytes(len);  // NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE }
    if (interval_end) n += attr_bytes(4);    // NFTA_SET_ELEM_FLAGS
    if (timeout_ms) n += attr_bytes(8);      // NFTA_SET_ELEM_TIMEOUT
    if (open) n += attr_bytes(kOpenIntervalUserData.size());  // NFTA_SET_ELEM_USERDATA
    return n;
  }
};

Key key_of(const IpAddress& ip) {
  Key k;
  const auto& b = ip.bytes();
  if (ip.is_v4()) {
    k.len = 4;
    std::copy(b.begin() + 12, b.end(), k.bytes.begin());
  } else {
    k.len = 16;
    k.bytes = b;
  }
  return k;
}

// The keys of one element: an address, or an interval's start and end.
std::size_t keys_of(const Cidr& net, std::optional<std::uint64_t> timeout_ms, Key out[2]) {
  out[0] = key_of(net.network());
  out[0].timeout_ms = timeout_ms;
  if (net.is_single_address()) return 1;
  // The address after the network's last: its host bits set, plus one.
  Key end = out[0];
  end.timeout_ms.reset();
  end.interval_end = true;
  const int host_bits = net.network().max_prefix() - net.prefix();
  for (int bit = 0; bit < host_bits; ++bit)
    end.bytes[end.len - 1 - bit / 8] |= std::uint8_t(1u << (bit % 8));
  bool carry = true;
  for (int i = end.len - 1; i >= 0 && carry; --i) {
    end.bytes[i] = std::uint8_t(end.bytes[i] + 1);
    carry = end.bytes[i] == 0;
  }
  if (carry) {  // past the last address: no end element
    out[0].open = true;
    return 1;
  }
  out[1] = end;
  return 2;
}

class Writer {
 public:
  Writer(NetlinkBatch& out, std::size_t room) : out_(out), room_(room) {}

  nlmsghdr* begin(std::uint16_t type, std::uint16_t flags, std::string what) {
    out_.bytes.resize(used_ + room_);
    last_ = used_;
    out_.what.push_back(std::move(what));
    return nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(out_.bytes.data() + used_), type,
                                 NFPROTO_INET, flags, seq_++);
  }
  void end(nlmsghdr* nlh) {
    used_ += nlh->nlmsg_len;
    out_.bytes.resize(used_);
  }
  template <typename Builder>
  void control(Builder build) {
    out_.bytes.resize(used_ + MNL_NLMSG_HDRLEN + 64);
    nlmsghdr* nlh = build(reinterpret_cast<char*>(out_.bytes.data() + used_), seq_++);
    end(nlh);
  }
  std::uint32_t seq() const { return seq_; }
  void set_seq(std::uint32_t seq) { seq_ = seq; }
  std::size_t messages() const { return out_.what.size(); }
  // Asks for an ack of the last message.
  void ack_last() {
    auto* nlh = reinterpret_cast<nlmsghdr*>(out_.bytes.data() + last_);
    nlh->nlmsg_flags |= NLM_F_ACK;
  }

 private:
  NetlinkBatch& out_;
  std::size_t room_;
  std::size_t used_ = 0;
  std::size_t last_ = 0;
  std::uint32_t seq_ = 0;
};

// Builds one libnftnl object's message: `alloc` and `free` are the
// object's, `fill` sets its attributes, `payload` writes them.
template <typename T, typename Fill, typename Payload>
void object_message(Writer& w, std::uint16_t type, std::uint16_t flags, std::string what, T* obj,
                    Fill fill, Payload payload, void (*free_obj)(const T*)) {
  fill(obj);
  nlmsghdr* nlh = w.begin(type, flags, std::move(what));
  payload(nlh, obj);
  w.end(nlh);
  free_obj(obj);
}

void table_message(Writer& w, std::string_view table, std::uint16_t type, std::uint16_t flags,
                   std::string what) {
  const std::string name(table);
  object_message(
      w, type, flags, std::move(what), nftnl_table_alloc(),
      [&](nftnl_table* t) {
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, name.c_str());
      },
      nftnl_table_nlmsg_build_payload, nftnl_table_free);
}

void set_message(Writer& w, std::string_view table, const SetInfo& set) {
  const std::string t(table), name(set.name);
  object_message(
      w, NFT_MSG_NEWSET, NLM_F_CREATE, "create set " + name, nftnl_set_alloc(),
      [&](nftnl_set* s) {
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_str(s, NFTNL_SET_TABLE, t.c_str());
        nftnl_set_set_str(s, NFTNL_SET_NAME, name.c_str());
        nftnl_set_set_u32(s, NFTNL_SET_FLAGS,
                          NFT_SET_TIMEOUT | (set.interval ? NFT_SET_INTERVAL : 0));
        nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, set.v4 ? 7 : 8);  // nft's ipv4_addr, ipv6_addr
        nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, set.v4 ? 4 : 16);
        nftnl_set_set_u32(s, NFTNL_SET_ID, set.id);
        nftnl_set_set_data(s, NFTNL_SET_USERDATA, kSetUserData.data(), kSetUserData.size());
      },
      nftnl_set_nlmsg_build_payload, nftnl_set_free);
}

void chain_message(Writer& w, std::string_view table, const char* chain, std::uint32_t hook) {
  const std::string t(table);
  object_message(
      w, NFT_MSG_NEWCHAIN, NLM_F_CREATE, std::string("create chain ") + chain, nftnl_chain_alloc(),
      [&](nftnl_chain* c) {
        nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, t.c_str());
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, -10);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
      },
      nftnl_chain_nlmsg_build_payload, nftnl_chain_free);
}

// "ip saddr @SET drop" (or ip6): the family, the source address, a lookup
// in the set, drop.
void rule_message(Writer& w, std::string_view table, const char* chain, const SetInfo& set) {
  const std::string t(table), name(set.name);
  object_message(
      w, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
      std::string("add rule to ") + chain + " for " + name, nftnl_rule_alloc(),
      [&](nftnl_rule* r) {
        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, t.c_str());
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
        nftnl_expr* e = nftnl_expr_alloc("meta");
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_NFPROTO);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
        nftnl_rule_add_expr(r, e);
        e = nftnl_expr_alloc("cmp");
        const std::uint8_t family = set.v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &family, sizeof(family));
        nftnl_rule_add_expr(r, e);
        e = nftnl_expr_alloc("payload");
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, set.v4 ? 12 : 8);  // saddr
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, set.v4 ? 4 : 16);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
        nftnl_rule_add_expr(r, e);
        e = nftnl_expr_alloc("lookup");
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, name.c_str());
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set.id);
        nftnl_rule_add_expr(r, e);
        e = nftnl_expr_alloc("immediate");
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
        nftnl_rule_add_expr(r, e);
      },
      nftnl_rule_nlmsg_build_payload, nftnl_rule_free);
}

void put_key(nlmsghdr* nlh, const Key& k) {
  nlattr* elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
  nlattr* key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, k.len, k.bytes.data());
  mnl_attr_nest_end(nlh, key);
  if (k.interval_end)
    mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htobe32(NFT_SET_ELEM_INTERVAL_END));
  if (k.timeout_ms) mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(*k.timeout_ms));
  if (k.open)
    mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, kOpenIntervalUserData.size(),
                 kOpenIntervalUserData.data());
  mnl_attr_nest_end(nlh, elem);
}

// One element to put in or take out: a network and its timeout (none: no
// timeout).
struct Item {
  const Cidr* net;
  std::optional<Duration> timeout;
};

// The messages that add (NEWSETELEM) or delete (DELSETELEM) `items`' elements
// of one set, as many to a message as fit.
void element_messages(Writer& w, std::string_view table, const SetInfo& set, bool add,
                      const std::vector<Item>& items, std::size_t max_list_bytes) {
  if (items.empty()) return;
  const std::string t(table), name(set.name);
  const std::string what = (add ? "add elements to " : "delete elements from ") + name;
  nlmsghdr* nlh = nullptr;
  nlattr* list = nullptr;
  std::size_t list_bytes = 0;
  auto finish = [&] {
    if (nlh == nullptr) return;
    mnl_attr_nest_end(nlh, list);
    w.end(nlh);
    nlh = nullptr;
  };
  auto put = [&](const Key* keys, std::size_t n) {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < n; ++i) bytes += keys[i].encoded_bytes();
    if (nlh != nullptr && list_bytes + bytes > max_list_bytes) finish();
    if (nlh == nullptr) {
      nlh = w.begin(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, what);
      mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, t.c_str());
      mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name.c_str());
      list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
      list_bytes = MNL_ATTR_HDRLEN;
    }
    for (std::size_t i = 0; i < n; ++i) put_key(nlh, keys[i]);
    list_bytes += bytes;
  };
  if (add && set.interval) {
    Key zero_end;
    zero_end.len = set.v4 ? 4 : 16;
    zero_end.interval_end = true;
    put(&zero_end, 1);
  }
  Key keys[2];
  for (const Item& item : items) {
    std::optional<std::uint64_t> ms;
    if (item.timeout)
      ms = std::uint64_t(std::chrono::ceil<std::chrono::milliseconds>(*item.timeout).count());
    put(keys, keys_of(*item.net, ms, keys));
  }
  finish();
}

// The items of `r` per set (those whose timeout is not positive left out).
template <typename Range, typename Get>
std::array<std::vector<Item>, 4> per_set(const Range& r, Get get) {
  std::array<std::vector<Item>, 4> out;
  for (const auto& x : r) {
    const Item item = get(x);
    if (item.timeout && *item.timeout <= Duration::zero()) continue;
    out[set_of(*item.net)].push_back(item);
  }
  return out;
}

}  // namespace

NetlinkBatch netlink_batch(std::string_view table, const Batch& batch, std::uint32_t first_seq,
                           std::size_t max_list_bytes) {
  NetlinkBatch out;
  if (batch.empty()) return out;
  // Room for one message: its elements and headers.
  Writer w(out, max_list_bytes + 4096);
  w.set_seq(first_seq);
  out.begin_seq = first_seq;
  w.control([](char* buf, std::uint32_t seq) { return nftnl_batch_begin(buf, seq); });
  if (batch.restore) {
    table_message(w, table, NFT_MSG_NEWTABLE, NLM_F_CREATE, "create table");
    table_message(w, table, NFT_MSG_DELTABLE, 0, "delete table");
    table_message(w, table, NFT_MSG_NEWTABLE, NLM_F_CREATE, "create table");
    for (const SetInfo& set : kSets) set_message(w, table, set);
    const std::pair<const char*, std::uint32_t> chains[] = {{"input", NF_INET_LOCAL_IN},
                                                            {"forward", NF_INET_FORWARD}};
    for (const auto& [chain, hook] : chains) {
      chain_message(w, table, chain, hook);
      for (std::size_t i : {0, 2, 1, 3}) rule_message(w, table, chain, kSets[i]);
    }
  }
  auto element = [](const Element& e) { return Item{&e.network, e.timeout}; };
  auto bare = [](const auto& x) {
    if constexpr (std::is_same_v<std::decay_t<decltype(x)>, Cidr>)
      return Item{&x, std::nullopt};
    else
      return Item{&x.network, std::nullopt};
  };
  const std::size_t before = w.messages();
  auto each_set = [&](bool add, const std::array<std::vector<Item>, 4>& items) {
    for (std::size_t i = 0; i < kSets.size(); ++i)
      element_messages(w, table, kSets[i], add, items[i], max_list_bytes);
  };
  // Taken out (present or not): added bare first, so that the delete finds it.
  const auto removed = per_set(batch.remove, bare);
  each_set(true, removed);
  each_set(false, removed);
  const auto refreshed_bare = per_set(batch.refresh, bare);
  each_set(true, refreshed_bare);
  each_set(false, refreshed_bare);
  each_set(true, per_set(batch.refresh, element));
  each_set(true, per_set(batch.add, element));
  if (!batch.restore && w.messages() == before) return NetlinkBatch{};  // every element left out
  w.ack_last();
  out.last_seq = w.seq() - 1;
  out.end_seq = w.seq();
  w.control([](char* buf, std::uint32_t seq) { return nftnl_batch_end(buf, seq); });
  return out;
}

}  // namespace mamori::firewall
