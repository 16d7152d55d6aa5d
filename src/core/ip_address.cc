#include "core/ip_address.h"

#include <arpa/inet.h>

#include "core/hash.h"

namespace mamori {

namespace {
constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

Error bad_ip(std::string_view text) {
  return make_error("invalid_ip", "not an IPv4 or IPv6 address: '" +
                                      std::string(text.substr(0, 64)) + "'");
}
}  // namespace

Result<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45 || text.find('\0') != std::string_view::npos)
    return bad_ip(text);
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress a;
  if (text.find(':') == std::string_view::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) != 1) return bad_ip(text);
    return from_v4(ntohl(v4.s_addr));
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) != 1) return bad_ip(text);
  std::memcpy(a.b_.data(), &v6, 16);
  a.v4_ = std::memcmp(a.b_.data(), kMappedPrefix.data(), 12) == 0;
  return a;
}

IpAddress IpAddress::from_v4(std::uint32_t host_order) {
  IpAddress a;
  std::memcpy(a.b_.data(), kMappedPrefix.data(), 12);
  a.b_[12] = std::uint8_t(host_order >> 24);
  a.b_[13] = std::uint8_t(host_order >> 16);
  a.b_[14] = std::uint8_t(host_order >> 8);
  a.b_[15] = std::uint8_t(host_order);
  a.v4_ = true;
  return a;
}

IpAddress IpAddress::from_bytes(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress a;
  a.b_ = bytes;
  a.v4_ = std::memcmp(a.b_.data(), kMappedPrefix.data(), 12) == 0;
  return a;
}

std::uint32_t IpAddress::v4() const {
  return (std::uint32_t(b_[12]) << 24) | (std::uint32_t(b_[13]) << 16) |
         (std::uint32_t(b_[14]) << 8) | b_[15];
}

IpAddress IpAddress::masked(int prefix) const {
  IpAddress r = *this;
  const int bits = v4_ ? prefix + 96 : prefix;
  for (int i = 0; i < 16; ++i) {
    const int keep = bits - i * 8;
    if (keep >= 8) continue;
    r.b_[i] = keep <= 0 ? 0 : std::uint8_t(r.b_[i] & (0xff << (8 - keep)));
  }
  return r;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (v4_) {
    // Formatted by hand: the store writes every recorded login's address,
    // and snprintf's format parsing cost more than the rest of this.
    char* p = buf;
    for (int i = 12; i < 16; ++i) {
      if (i > 12) *p++ = '.';
      const unsigned v = b_[i];
      if (v >= 100) *p++ = char('0' + v / 100);
      if (v >= 10) *p++ = char('0' + v / 10 % 10);
      *p++ = char('0' + v % 10);
    }
    return std::string(buf, p);
  }
  inet_ntop(AF_INET6, b_.data(), buf, sizeof buf);
  return buf;
}

std::uint64_t IpAddress::hash() const {
  std::uint64_t hi, lo;
  std::memcpy(&hi, b_.data(), 8);
  std::memcpy(&lo, b_.data() + 8, 8);
  return mix64(hi ^ mix64(lo + v4_));
}

Result<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) {
    return make_error("invalid_cidr", "not an address or network (e.g. 192.0.2.0/24): '" +
                                          std::string(text.substr(0, 64)) + "'");
  }
  int prefix = ip->max_prefix();
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) prefix = -1;
    else {
      prefix = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') { prefix = -1; break; }
        prefix = prefix * 10 + (c - '0');
      }
    }
    if (prefix < 0 || prefix > ip->max_prefix())
      return make_error("invalid_cidr", "prefix length out of range in '" +
                                            std::string(text.substr(0, 64)) + "'");
  }
  if (!(ip->masked(prefix) == *ip))
    return make_error("invalid_cidr", "host bits set past the prefix in '" +
                                          std::string(text.substr(0, 64)) + "'; did you mean " +
                                          Cidr(*ip, prefix).to_string() + "?");
  return Cidr(*ip, prefix);
}

std::string Cidr::to_string() const {
  return net_.to_string() + "/" + std::to_string(prefix_);
}

}  // namespace mamori
