#ifndef MAMORI_CORE_BLOCKLIST_H_
#define MAMORI_CORE_BLOCKLIST_H_

#include <string>

#include "core/ip_address.h"

namespace mamori {

// Answers whether an IP address is on a DNS blocklist, from what is already
// known: it never waits for the network. An address not known yet gets "not
// listed" now, and implementations may start finding out so that a later
// call knows. Thread-safe: listed() runs on every worker thread.
class Blocklist {
 public:
  virtual ~Blocklist() = default;
  // The zone that lists `ip`, or empty when none does (or none is known yet).
  virtual std::string listed(const IpAddress& ip) const = 0;
};

}  // namespace mamori

#endif  // MAMORI_CORE_BLOCKLIST_H_
