#ifndef MAMORI_CORE_IP_ADDRESS_H_
#define MAMORI_CORE_IP_ADDRESS_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori {

// An IPv4 or IPv6 address. IPv4 is held as the IPv4-mapped IPv6 address
// (::ffff:a.b.c.d), so an IPv4-mapped IPv6 literal and its IPv4 form are the
// same address. A plain value: 17 bytes, trivially copyable.
class IpAddress {
 public:
  IpAddress() = default;

  // Parses an IPv4 dotted quad or an IPv6 literal (no brackets, no zone).
  // Fails with code `invalid_ip`.
  static Result<IpAddress> parse(std::string_view text);
  static IpAddress from_v4(std::uint32_t host_order);
  static IpAddress from_bytes(const std::array<std::uint8_t, 16>& bytes);

  bool is_v4() const { return v4_; }
  // Prefix lengths count in the address's own family: 0-32 for IPv4, 0-128 for IPv6.
  int max_prefix() const { return v4_ ? 32 : 128; }
  const std::array<std::uint8_t, 16>& bytes() const { return b_; }
  std::uint32_t v4() const;  // REQUIRES: is_v4()

  // The address with all bits past `prefix` (in its family) cleared.
  // REQUIRES: 0 <= prefix <= max_prefix()
  IpAddress masked(int prefix) const;
  // The network this address counts toward for network-wide detections:
  // its /24 for IPv4, its /64 for IPv6.
  IpAddress aggregate_network() const { return masked(v4_ ? 24 : 64); }
  int aggregate_prefix() const { return v4_ ? 24 : 64; }

  // Canonical text: dotted quad, or RFC 5952 IPv6.
  std::string to_string() const;

  std::uint64_t hash() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.v4_ == b.v4_ && a.b_ == b.b_;
  }

 private:
  std::array<std::uint8_t, 16> b_{};
  bool v4_ = false;
};

// A network: address + prefix length. The address is stored masked.
class Cidr {
 public:
  Cidr() = default;
  Cidr(IpAddress network, int prefix) : net_(network.masked(prefix)), prefix_(prefix) {}

  // Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (full prefix).
  // Host bits set past the prefix are an error (`invalid_cidr`), as is a
  // prefix out of range.
  static Result<Cidr> parse(std::string_view text);

  const IpAddress& network() const { return net_; }
  int prefix() const { return prefix_; }
  bool is_single_address() const { return prefix_ == net_.max_prefix(); }
  bool contains(const IpAddress& ip) const {
    return ip.is_v4() == net_.is_v4() && ip.masked(prefix_) == net_;
  }
  std::string to_string() const;

  friend bool operator==(const Cidr& a, const Cidr& b) {
    return a.prefix_ == b.prefix_ && a.net_ == b.net_;
  }

 private:
  IpAddress net_;
  int prefix_ = 0;
};

}  // namespace mamori

template <>
struct std::hash<mamori::IpAddress> {
  size_t operator()(const mamori::IpAddress& a) const noexcept { return a.hash(); }
};

#endif  // MAMORI_CORE_IP_ADDRESS_H_
