#ifndef MAMORI_ENGINE_KEYS_H_
#define MAMORI_ENGINE_KEYS_H_

#include <string>

#include "core/hash.h"
#include "core/ip_address.h"
#include "state/sharded_lru.h"

namespace mamori::engine {

// Key of per-(account, source IP) windows.
struct AccountIpKey {
  std::string account;
  IpAddress ip;
  friend bool operator==(const AccountIpKey& a, const AccountIpKey& b) {
    return a.ip == b.ip && a.account == b.account;
  }
};

struct AccountIpKeyHash {
  std::size_t operator()(const AccountIpKey& k) const { return of(k.account, k.ip); }
  static std::uint64_t of(std::string_view account, const IpAddress& ip) {
    return hash_combine(hash_bytes(account), ip.hash());
  }
};

// Heap bytes of a key, found by ShardedLru through argument-dependent lookup.
inline std::size_t key_heap_bytes(const AccountIpKey& k) {
  return k.account.size() > 15 ? k.account.capacity() + 1 : 0;
}

struct StringHash {
  std::size_t operator()(const std::string& s) const { return hash_bytes(s); }
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_KEYS_H_
