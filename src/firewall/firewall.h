#ifndef MAMORI_FIREWALL_FIREWALL_H_
#define MAMORI_FIREWALL_FIREWALL_H_

#include <optional>
#include <vector>

#include "core/clock.h"
#include "core/ip_address.h"
#include "core/result.h"

namespace mamori::firewall {

// One element of a deny set: an address (a full-length prefix) or a network,
// dropped for `timeout` from when the batch is applied; none: until removed.
struct Element {
  Cidr network;
  std::optional<Duration> timeout;

  friend bool operator==(const Element&, const Element&) = default;
};

// One change to the kernel's deny sets, applied as one transaction: all of
// it or none of it.
struct Batch {
  // Replace everything: (re)create the table, its sets and its drop rules,
  // holding exactly `add` afterwards. `remove` and `refresh` must be empty.
  bool restore = false;
  std::vector<Element> add;      // elements not in the sets yet
  std::vector<Element> refresh;  // elements whose timeout changes (or that may have expired)
  std::vector<Cidr> remove;      // elements to take out (present or not)

  bool empty() const { return !restore && add.empty() && refresh.empty() && remove.empty(); }
  std::size_t size() const { return add.size() + refresh.size() + remove.size(); }
};

// Where blocks are enforced in the kernel. Holds no policy: it is told which
// addresses and networks to drop, and for how long.
// Thread-compatible: one caller at a time.
class Firewall {
 public:
  virtual ~Firewall() = default;
  // Applies `batch` as one transaction. Fails with `firewall_failed` (and the
  // tool's own message) when it could not be applied; nothing of it is then.
  virtual Status apply(const Batch& batch) = 0;
};

}  // namespace mamori::firewall

#endif  // MAMORI_FIREWALL_FIREWALL_H_
