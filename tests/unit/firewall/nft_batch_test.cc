#include "firewall/nft_batch.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <optional>
#include <string>
#include <vector>

#include "firewall/nftables_firewall.h"

namespace mamori::firewall {
namespace {

Cidr cidr(std::string_view text) { return *Cidr::parse(text); }

// One element of a NEWSETELEM or DELSETELEM message, read back.
struct Elem {
  std::string key;  // the address, as inet_ntop writes it
  bool end = false;
  bool open = false;
  std::optional<std::uint64_t> timeout_ms;
};

// One message of a batch, read back.
struct Msg {
  std::uint16_t type = 0;  // NFT_MSG_* (or NFNL_MSG_BATCH_*)
  std::uint16_t flags = 0;
  std::uint32_t seq = 0;
  std::uint8_t family = 0;
  std::string table, set;
  std::vector<Elem> elems;
  std::size_t list_bytes = 0;     // the NFTA_SET_ELEM_LIST_ELEMENTS attribute
  const nlmsghdr* nlh = nullptr;  // into the batch's bytes
};

// Calls f(attr) for each attribute in [start, end).
template <typename F>
void each_attr(const void* start, const void* end, F f) {
  for (auto* a = static_cast<const nlattr*>(start);
       mnl_attr_ok(a, int(static_cast<const char*>(end) - reinterpret_cast<const char*>(a)));
       a = mnl_attr_next(a))
    f(a);
}

template <typename F>
void each_nested(const nlattr* nest, F f) {
  each_attr(mnl_attr_get_payload(nest),
            static_cast<const char*>(mnl_attr_get_payload(nest)) + mnl_attr_get_payload_len(nest),
            f);
}

std::string key_text(const nlattr* data) {
  char text[INET6_ADDRSTRLEN] = {};
  const auto len = mnl_attr_get_payload_len(data);
  inet_ntop(len == 4 ? AF_INET : AF_INET6, mnl_attr_get_payload(data), text, sizeof(text));
  return text;
}

Elem read_elem(const nlattr* nest) {
  Elem e;
  each_nested(nest, [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case NFTA_SET_ELEM_KEY:
        each_nested(a, [&](const nlattr* d) {
          if (mnl_attr_get_type(d) == NFTA_DATA_VALUE) e.key = key_text(d);
        });
        break;
      case NFTA_SET_ELEM_FLAGS:
        e.end = be32toh(mnl_attr_get_u32(a)) & NFT_SET_ELEM_INTERVAL_END;
        break;
      case NFTA_SET_ELEM_TIMEOUT:
        e.timeout_ms = be64toh(mnl_attr_get_u64(a));
        break;
      case NFTA_SET_ELEM_USERDATA: {
        const auto* u = static_cast<const std::uint8_t*>(mnl_attr_get_payload(a));
        e.open = mnl_attr_get_payload_len(a) == 6 && u[0] == 1 && u[2] == 1;
        break;
      }
    }
  });
  return e;
}

std::vector<Msg> read(const NetlinkBatch& b) {
  std::vector<Msg> out;
  int len = int(b.bytes.size());
  for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(b.bytes.data()); mnl_nlmsg_ok(nlh, len);
       nlh = mnl_nlmsg_next(nlh, &len)) {
    Msg m;
    m.nlh = nlh;
    m.type = nlh->nlmsg_type & 0xff;
    m.flags = nlh->nlmsg_flags;
    m.seq = nlh->nlmsg_seq;
    m.family = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->nfgen_family;
    if ((nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES &&
        (m.type == NFT_MSG_NEWSETELEM || m.type == NFT_MSG_DELSETELEM)) {
      each_attr(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)),
                mnl_nlmsg_get_payload_tail(nlh), [&](const nlattr* a) {
                  switch (mnl_attr_get_type(a)) {
                    case NFTA_SET_ELEM_LIST_TABLE:
                      m.table = mnl_attr_get_str(a);
                      break;
                    case NFTA_SET_ELEM_LIST_SET:
                      m.set = mnl_attr_get_str(a);
                      break;
                    case NFTA_SET_ELEM_LIST_ELEMENTS:
                      m.list_bytes = mnl_attr_get_len(a);
                      each_nested(a, [&](const nlattr* e) { m.elems.push_back(read_elem(e)); });
                      break;
                  }
                });
    }
    out.push_back(std::move(m));
  }
  EXPECT_EQ(len, 0) << "trailing bytes";
  return out;
}

// The element messages only (no batch begin and end).
std::vector<Msg> element_messages(const NetlinkBatch& b) {
  std::vector<Msg> out;
  for (Msg& m : read(b))
    if (m.type == NFT_MSG_NEWSETELEM || m.type == NFT_MSG_DELSETELEM) out.push_back(std::move(m));
  return out;
}

TEST(NftBatch, EmptyBatchIsNothingToSend) {
  EXPECT_TRUE(netlink_batch("mamori", Batch{}, 1).empty());
}

TEST(NftBatch, OneNfnlBatchWithConsecutiveSequenceNumbersAndTheLastMessageAcked) {
  Batch b;
  b.add = {{cidr("203.0.113.5"), std::chrono::seconds(3600)}, {cidr("2001:db8::7"), std::nullopt}};
  const NetlinkBatch nb = netlink_batch("mamori", b, 41);
  const std::vector<Msg> msgs = read(nb);
  ASSERT_EQ(msgs.size(), 4u);
  EXPECT_EQ(msgs.front().nlh->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
  EXPECT_EQ(msgs.back().nlh->nlmsg_type, NFNL_MSG_BATCH_END);
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].seq, 41 + i);
    EXPECT_TRUE(msgs[i].flags & NLM_F_REQUEST);
    // Only the last message before the end asks for an ack.
    EXPECT_EQ(bool(msgs[i].flags & NLM_F_ACK), i == 2) << i;
  }
  EXPECT_EQ(msgs[1].family, NFPROTO_INET);
  EXPECT_EQ(nb.begin_seq, 41u);
  EXPECT_EQ(nb.last_seq, 43u);
  EXPECT_EQ(nb.end_seq, 44u);
  EXPECT_EQ(nb.describe(42), "add elements to deny_v4");
  EXPECT_EQ(nb.describe(43), "add elements to deny_v6");
  EXPECT_EQ(nb.describe(41), "the batch");
  EXPECT_EQ(nb.describe(44), "the batch");
  EXPECT_EQ(nb.describe(7), "the batch");
}

TEST(NftBatch, AddressesAndNetworksGoToTheirSetsWithTimeoutsInMilliseconds) {
  Batch b;
  b.add = {{cidr("203.0.113.5"), std::chrono::seconds(3600)},
           {cidr("2001:db8::/64"), std::chrono::milliseconds(1500)},
           {cidr("198.51.100.0/24"), std::nullopt},
           {cidr("2001:db8::7"), std::nullopt}};
  const std::vector<Msg> m = element_messages(netlink_batch("mamori", b, 1));
  ASSERT_EQ(m.size(), 4u);
  for (const Msg& x : m) {
    EXPECT_EQ(x.type, NFT_MSG_NEWSETELEM);
    EXPECT_EQ(x.table, "mamori");
  }
  EXPECT_EQ(m[0].set, "deny_v4");
  ASSERT_EQ(m[0].elems.size(), 1u);
  EXPECT_EQ(m[0].elems[0].key, "203.0.113.5");
  EXPECT_EQ(m[0].elems[0].timeout_ms, 3'600'000u);
  EXPECT_FALSE(m[0].elems[0].end);

  EXPECT_EQ(m[1].set, "deny_v6");
  ASSERT_EQ(m[1].elems.size(), 1u);
  EXPECT_EQ(m[1].elems[0].key, "2001:db8::7");
  EXPECT_FALSE(m[1].elems[0].timeout_ms);

  // An interval: nft's end at zero, the start, the address after the last.
  EXPECT_EQ(m[2].set, "deny_net_v4");
  ASSERT_EQ(m[2].elems.size(), 3u);
  EXPECT_EQ(m[2].elems[0].key, "0.0.0.0");
  EXPECT_TRUE(m[2].elems[0].end);
  EXPECT_EQ(m[2].elems[1].key, "198.51.100.0");
  EXPECT_FALSE(m[2].elems[1].end);
  EXPECT_EQ(m[2].elems[2].key, "198.51.101.0");
  EXPECT_TRUE(m[2].elems[2].end);
  EXPECT_FALSE(m[2].elems[2].timeout_ms);

  EXPECT_EQ(m[3].set, "deny_net_v6");
  ASSERT_EQ(m[3].elems.size(), 3u);
  EXPECT_EQ(m[3].elems[0].key, "::");
  EXPECT_EQ(m[3].elems[1].key, "2001:db8::");
  EXPECT_EQ(m[3].elems[1].timeout_ms, 1'500u);
  EXPECT_EQ(m[3].elems[2].key, "2001:db8:0:1::");
  EXPECT_TRUE(m[3].elems[2].end);
}

TEST(NftBatch, ANetworkThatEndsTheAddressSpaceIsAnOpenInterval) {
  Batch b;
  b.add = {{cidr("255.255.255.0/24"), std::chrono::seconds(1)},
           {cidr("ffff:ffff:ffff:ffff::/64"), std::nullopt},
           {cidr("10.255.255.0/24"), std::nullopt}};
  const std::vector<Msg> m = element_messages(netlink_batch("t", b, 1));
  ASSERT_EQ(m.size(), 2u);
  ASSERT_EQ(m[0].elems.size(), 4u);
  EXPECT_EQ(m[0].elems[1].key, "255.255.255.0");
  EXPECT_TRUE(m[0].elems[1].open);
  EXPECT_EQ(m[0].elems[1].timeout_ms, 1000u);
  EXPECT_EQ(m[0].elems[2].key, "10.255.255.0");  // no end element between them
  EXPECT_FALSE(m[0].elems[2].open);
  EXPECT_EQ(m[0].elems[3].key, "11.0.0.0");  // the carry runs through
  EXPECT_TRUE(m[0].elems[3].end);
  ASSERT_EQ(m[1].elems.size(), 2u);
  EXPECT_EQ(m[1].elems[1].key, "ffff:ffff:ffff:ffff::");
  EXPECT_TRUE(m[1].elems[1].open);
}

TEST(NftBatch, ElementsWithoutTimeLeftAreLeftOut) {
  Batch b;
  b.add = {{cidr("203.0.113.5"), Duration(0)}, {cidr("203.0.113.6"), Duration(-5)}};
  EXPECT_TRUE(netlink_batch("mamori", b, 1).empty());
  b.add.push_back({cidr("203.0.113.7"), std::chrono::seconds(5)});
  const std::vector<Msg> m = element_messages(netlink_batch("mamori", b, 1));
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].elems.size(), 1u);
  EXPECT_EQ(m[0].elems[0].key, "203.0.113.7");
}

TEST(NftBatch, RemovalAddsFirstSoThatAnExpiredElementDoesNotFailTheBatch) {
  Batch b;
  b.remove = {cidr("203.0.113.5"), cidr("192.0.2.0/24")};
  const std::vector<Msg> m = element_messages(netlink_batch("t", b, 1));
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].type, NFT_MSG_NEWSETELEM);
  EXPECT_EQ(m[0].set, "deny_v4");
  EXPECT_EQ(m[1].type, NFT_MSG_NEWSETELEM);
  EXPECT_EQ(m[1].set, "deny_net_v4");
  EXPECT_EQ(m[2].type, NFT_MSG_DELSETELEM);
  EXPECT_EQ(m[2].set, "deny_v4");
  ASSERT_EQ(m[2].elems.size(), 1u);
  EXPECT_EQ(m[2].elems[0].key, "203.0.113.5");
  EXPECT_FALSE(m[2].elems[0].timeout_ms);
  // An interval goes out as its start and end (not nft's end at zero).
  EXPECT_EQ(m[3].type, NFT_MSG_DELSETELEM);
  ASSERT_EQ(m[3].elems.size(), 2u);
  EXPECT_EQ(m[3].elems[0].key, "192.0.2.0");
  EXPECT_EQ(m[3].elems[1].key, "192.0.3.0");
  EXPECT_TRUE(m[3].elems[1].end);
}

TEST(NftBatch, RefreshDeletesThenAddsWithTheNewTimeout) {
  Batch b;
  b.refresh = {{cidr("2001:db8::1"), std::chrono::seconds(10)}};
  const std::vector<Msg> m = element_messages(netlink_batch("t", b, 1));
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].type, NFT_MSG_NEWSETELEM);
  EXPECT_FALSE(m[0].elems.at(0).timeout_ms);
  EXPECT_EQ(m[1].type, NFT_MSG_DELSETELEM);
  EXPECT_EQ(m[2].type, NFT_MSG_NEWSETELEM);
  EXPECT_EQ(m[2].elems.at(0).key, "2001:db8::1");
  EXPECT_EQ(m[2].elems.at(0).timeout_ms, 10'000u);
  for (const Msg& x : m) EXPECT_EQ(x.set, "deny_v6");
}

TEST(NftBatch, RestoreRecreatesTheTableItsSetsChainsAndRulesThenAddsEverything) {
  Batch b;
  b.restore = true;
  b.add = {{cidr("192.0.2.1"), std::chrono::seconds(1)}};
  const NetlinkBatch nb = netlink_batch("mamori", b, 1);
  const std::vector<Msg> m = read(nb);  // pointing into nb
  ASSERT_EQ(m.size(), 1u + 3 + 4 + 2 * (1 + 4) + 1 + 1);
  EXPECT_EQ(m[1].type, NFT_MSG_NEWTABLE);
  EXPECT_EQ(m[2].type, NFT_MSG_DELTABLE);
  EXPECT_EQ(m[3].type, NFT_MSG_NEWTABLE);
  for (int i = 1; i <= 3; ++i) {
    nftnl_table* t = nftnl_table_alloc();
    ASSERT_EQ(nftnl_table_nlmsg_parse(m[i].nlh, t), 0);
    EXPECT_STREQ(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "mamori");
    EXPECT_EQ(nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), NFPROTO_INET);
    nftnl_table_free(t);
  }
  const struct {
    const char* name;
    std::uint32_t flags, key_type, key_len;
  } sets[] = {{"deny_v4", NFT_SET_TIMEOUT, 7, 4},
              {"deny_v6", NFT_SET_TIMEOUT, 8, 16},
              {"deny_net_v4", NFT_SET_TIMEOUT | NFT_SET_INTERVAL, 7, 4},
              {"deny_net_v6", NFT_SET_TIMEOUT | NFT_SET_INTERVAL, 8, 16}};
  for (int i = 0; i < 4; ++i) {
    const Msg& x = m[4 + i];
    ASSERT_EQ(x.type, NFT_MSG_NEWSET);
    nftnl_set* s = nftnl_set_alloc();
    ASSERT_EQ(nftnl_set_nlmsg_parse(x.nlh, s), 0);
    EXPECT_STREQ(nftnl_set_get_str(s, NFTNL_SET_TABLE), "mamori");
    EXPECT_STREQ(nftnl_set_get_str(s, NFTNL_SET_NAME), sets[i].name);
    EXPECT_EQ(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), sets[i].flags);
    EXPECT_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), sets[i].key_type);
    EXPECT_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), sets[i].key_len);
    nftnl_set_free(s);
  }
  const char* set_order[] = {"deny_v4", "deny_net_v4", "deny_v6", "deny_net_v6"};
  for (int c = 0; c < 2; ++c) {
    const Msg& x = m[8 + c * 5];
    ASSERT_EQ(x.type, NFT_MSG_NEWCHAIN);
    nftnl_chain* ch = nftnl_chain_alloc();
    ASSERT_EQ(nftnl_chain_nlmsg_parse(x.nlh, ch), 0);
    EXPECT_STREQ(nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME), c == 0 ? "input" : "forward");
    EXPECT_STREQ(nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE), "filter");
    EXPECT_EQ(nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM),
              c == 0 ? NF_INET_LOCAL_IN : NF_INET_FORWARD);
    EXPECT_EQ(nftnl_chain_get_s32(ch, NFTNL_CHAIN_PRIO), -10);
    EXPECT_EQ(nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY), std::uint32_t(NF_ACCEPT));
    nftnl_chain_free(ch);
    for (int r = 0; r < 4; ++r) {
      const Msg& y = m[9 + c * 5 + r];
      ASSERT_EQ(y.type, NFT_MSG_NEWRULE);
      nftnl_rule* rule = nftnl_rule_alloc();
      ASSERT_EQ(nftnl_rule_nlmsg_parse(y.nlh, rule), 0);
      EXPECT_STREQ(nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN), c == 0 ? "input" : "forward");
      // meta nfproto, cmp, payload saddr, lookup @SET, drop.
      std::vector<std::string> names;
      std::string looked_up;
      std::uint32_t offset = 0, verdict = 99;
      nftnl_expr_iter* it = nftnl_expr_iter_create(rule);
      for (nftnl_expr* e = nftnl_expr_iter_next(it); e != nullptr; e = nftnl_expr_iter_next(it)) {
        names.push_back(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
        if (names.back() == "lookup") looked_up = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET);
        if (names.back() == "payload") offset = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
        if (names.back() == "immediate") verdict = nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
      }
      nftnl_expr_iter_destroy(it);
      nftnl_rule_free(rule);
      EXPECT_EQ(names, (std::vector<std::string>{"meta", "cmp", "payload", "lookup", "immediate"}));
      EXPECT_EQ(looked_up, set_order[r]);
      EXPECT_EQ(offset, r < 2 ? 12u : 8u);
      EXPECT_EQ(verdict, std::uint32_t(NF_DROP));
    }
  }
  const Msg& elems = m[m.size() - 2];
  ASSERT_EQ(elems.type, NFT_MSG_NEWSETELEM);
  EXPECT_EQ(elems.elems.at(0).key, "192.0.2.1");
  EXPECT_TRUE(elems.flags & NLM_F_ACK);
}

TEST(NftBatch, ARestoreOfNothingStillRecreatesTheTable) {
  Batch b;
  b.restore = true;
  const NetlinkBatch nb = netlink_batch("mamori", b, 1);
  const std::vector<Msg> m = read(nb);
  ASSERT_EQ(m.size(), 1u + 3 + 4 + 10 + 1);
  EXPECT_TRUE(m[m.size() - 2].flags & NLM_F_ACK);
  EXPECT_EQ(nb.describe(nb.last_seq), "add rule to forward for deny_net_v6");
}

TEST(NftBatch, ManyElementsSplitIntoMessagesUnderTheAttributeLimit) {
  Batch b;
  for (int i = 0; i < 20'000; ++i)
    b.add.push_back(
        {Cidr(IpAddress::from_v4(0x0a000000u + std::uint32_t(i)), 32), std::chrono::hours(1)});
  for (int i = 0; i < 300; ++i)
    b.add.push_back(
        {Cidr(IpAddress::from_v4(0x14000000u + (std::uint32_t(i) << 8)), 24), std::nullopt});
  for (std::size_t limit : {kMaxElementListBytes, std::size_t(200)}) {
    const std::vector<Msg> m = element_messages(netlink_batch("t", b, 1, limit));
    std::vector<std::string> v4, nets;
    for (const Msg& x : m) {
      EXPECT_LE(x.list_bytes, limit);
      EXPECT_FALSE(x.elems.empty());
      for (const Elem& e : x.elems) (x.set == "deny_v4" ? v4 : nets).push_back(e.key);
      // An interval's start and end stay in one message.
      if (x.set == "deny_net_v4") {
        EXPECT_TRUE(x.elems.back().end);
      }
    }
    ASSERT_EQ(v4.size(), 20'000u);
    EXPECT_EQ(v4.front(), "10.0.0.0");
    EXPECT_EQ(v4.back(), "10.0.78.31");
    EXPECT_EQ(nets.size(), 1u + 2 * 300);
    if (limit == kMaxElementListBytes) {
      EXPECT_LT(m.size(), 20u) << "messages of ~2,000 elements";
    }
  }
}

TEST(NftBatch, TableNamesAreNftIdentifiers) {
  EXPECT_TRUE(is_valid_table_name("mamori"));
  EXPECT_TRUE(is_valid_table_name("mamori_2"));
  EXPECT_FALSE(is_valid_table_name(""));
  EXPECT_FALSE(is_valid_table_name("2mamori"));
  EXPECT_FALSE(is_valid_table_name("mamori; flush ruleset"));
  EXPECT_FALSE(is_valid_table_name(std::string(65, 'a')));
}

TEST(NftablesFirewall, ErrorsNameTheTableTheMessageAndTheLikelyCause) {
  const std::string perm = netlink_error_message("mamori", "the batch", EPERM);
  EXPECT_EQ(perm.rfind("nftables table inet mamori: the batch: Operation not permitted", 0), 0u)
      << perm;
  EXPECT_NE(perm.find("CAP_NET_ADMIN"), std::string::npos);
  const std::string missing = netlink_error_message("edge", "add elements to deny_v4", ENOENT);
  EXPECT_NE(missing.find("add elements to deny_v4: No such file or directory"), std::string::npos);
  EXPECT_NE(missing.find("missing"), std::string::npos);
  EXPECT_EQ(netlink_error_message("t", "x", EIO), "nftables table inet t: x: Input/output error");
}

}  // namespace
}  // namespace mamori::firewall
