#ifndef MAMORI_STATE_NETWORK_TABLE_H_
#define MAMORI_STATE_NETWORK_TABLE_H_

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/ip_address.h"

namespace mamori::state {

// An immutable set of networks (CIDRs, a single address being a full-length
// prefix), each with a value, for "which networks contain this address, most
// specific first". Networks either nest or are disjoint, so they form a
// forest: the table keeps them sorted by first address (larger networks
// first on ties), each with the index of the nearest network enclosing it.
// A lookup is one binary search and a walk up the enclosing networks:
// O(log n + depth), whatever the mix of prefix lengths.
// Thread-safe for concurrent readers once built. Memory: with an 8-byte
// Value, 24 bytes per IPv4 network and 48 per IPv6 one.
template <typename Value>
class NetworkTable {
 public:
  NetworkTable() = default;

  // Builds from (network, value) pairs. A network given twice keeps the
  // later value where `prefer(later, earlier)` is true, else the earlier.
  template <typename Prefer>
  NetworkTable(std::vector<std::pair<Cidr, Value>> networks, Prefer&& prefer) {
    for (auto& [cidr, value] : networks) {
      if (cidr.network().is_v4()) {
        const std::uint32_t first = cidr.network().v4();
        const std::uint32_t size_mask =
            cidr.prefix() == 0 ? ~std::uint32_t{0} : (std::uint32_t{1} << (32 - cidr.prefix())) - 1;
        v4_.push_back(Node<std::uint32_t>{first, first | size_mask, 0, std::move(value)});
      } else {
        const U128 first = to_u128(cidr.network());
        const U128 size_mask =
            cidr.prefix() == 0 ? ~U128{0} : (U128{1} << (128 - cidr.prefix())) - 1;
        v6_.push_back(Node<U128>{first, first | size_mask, 0, std::move(value)});
      }
    }
    build(v4_, prefer);
    build(v6_, prefer);
  }

  // Calls f(const Value&) for each network containing `ip`, most specific
  // first, until f returns true. Returns whether it did.
  template <typename F>
  bool find(const IpAddress& ip, F&& f) const {
    if (ip.is_v4()) return find_in(v4_, ip.v4(), f);
    return find_in(v6_, to_u128(ip), f);
  }

  std::size_t size() const { return v4_.size() + v6_.size(); }

 private:
  using U128 = unsigned __int128;
  static constexpr std::uint32_t kNoParent = ~std::uint32_t{0};

  template <typename Key>
  struct Node {
    Key first, last;
    std::uint32_t parent;  // index of the nearest enclosing network, kNoParent if none
    Value value;
  };

  static U128 to_u128(const IpAddress& ip) {
    U128 k = 0;
    for (std::uint8_t b : ip.bytes()) k = (k << 8) | b;
    return k;
  }

  template <typename Key, typename Prefer>
  static void build(std::vector<Node<Key>>& nodes, Prefer& prefer) {
    std::stable_sort(nodes.begin(), nodes.end(), [](const Node<Key>& a, const Node<Key>& b) {
      return a.first != b.first ? a.first < b.first : a.last > b.last;
    });
    // Equal networks are adjacent: keep one.
    std::size_t out = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (out > 0 && nodes[out - 1].first == nodes[i].first &&
          nodes[out - 1].last == nodes[i].last) {
        if (prefer(nodes[i].value, nodes[out - 1].value))
          nodes[out - 1].value = std::move(nodes[i].value);
        continue;
      }
      if (out != i) nodes[out] = std::move(nodes[i]);
      ++out;
    }
    nodes.resize(out);
    nodes.shrink_to_fit();
    // The enclosing networks of the current one are on the stack.
    std::vector<std::uint32_t> open;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      while (!open.empty() && nodes[open.back()].last < nodes[i].first) open.pop_back();
      nodes[i].parent = open.empty() ? kNoParent : open.back();
      open.push_back(std::uint32_t(i));
    }
  }

  template <typename Key, typename F>
  static bool find_in(const std::vector<Node<Key>>& nodes, Key k, F& f) {
    // The last network starting at or before k; every network containing k
    // encloses it (or is it).
    auto it = std::upper_bound(nodes.begin(), nodes.end(), k,
                               [](Key key, const Node<Key>& n) { return key < n.first; });
    if (it == nodes.begin()) return false;
    std::uint32_t i = std::uint32_t(it - nodes.begin() - 1);
    while (i != kNoParent && nodes[i].last < k) i = nodes[i].parent;
    for (; i != kNoParent; i = nodes[i].parent)
      if (f(nodes[i].value)) return true;
    return false;
  }

  std::vector<Node<std::uint32_t>> v4_;
  std::vector<Node<U128>> v6_;
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_NETWORK_TABLE_H_
