#include "notify/owner_links.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

namespace mamori::notify {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kNonceBytes = 16;
constexpr std::size_t kHeaderBytes = 1 + 1 + 8 + kNonceBytes;
constexpr std::size_t kMacBytes = crypto_auth_hmacsha256_BYTES;

std::string base64url(const std::vector<std::uint8_t>& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string hex(const std::uint8_t* p, std::size_t n) {
  std::string out(2 * n + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

}  // namespace

std::string_view owner_page_path(LinkPurpose purpose) {
  return purpose == LinkPurpose::kNotMe ? "/owner/not-me" : "/owner/activity";
}

OwnerLinks::OwnerLinks(std::span<const std::uint8_t> key, const OwnerPagesConfig& config)
    : config_(config) {
  std::copy_n(key.begin(), kKeyBytes, key_.begin());
  while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
}

OwnerLinks::~OwnerLinks() { sodium_memzero(key_.data(), key_.size()); }

std::string OwnerLinks::token(LinkPurpose purpose, std::string_view account, TimePoint now,
                              TimePoint* expires) const {
  const TimePoint until = now + config_.link_ttl;
  if (expires != nullptr) *expires = until;
  const auto seconds = std::uint64_t(
      std::chrono::duration_cast<std::chrono::seconds>(until.time_since_epoch()).count());
  std::vector<std::uint8_t> b;
  b.reserve(kHeaderBytes + account.size() + kMacBytes);
  b.push_back(kVersion);
  b.push_back(static_cast<std::uint8_t>(purpose));
  for (int i = 7; i >= 0; --i) b.push_back(std::uint8_t(seconds >> (8 * i)));
  std::array<std::uint8_t, kNonceBytes> nonce;
  randombytes_buf(nonce.data(), nonce.size());
  b.insert(b.end(), nonce.begin(), nonce.end());
  b.insert(b.end(), account.begin(), account.end());
  std::array<std::uint8_t, kMacBytes> mac;
  crypto_auth_hmacsha256(mac.data(), b.data(), b.size(), key_.data());
  b.insert(b.end(), mac.begin(), mac.end());
  return base64url(b);
}

std::string OwnerLinks::url(LinkPurpose purpose, std::string_view account, TimePoint now,
                            TimePoint* expires) const {
  return config_.base_url + std::string(owner_page_path(purpose)) +
         "?t=" + token(purpose, account, now, expires);
}

Result<OwnerLink> OwnerLinks::verify(std::string_view token, TimePoint now) const {
  auto invalid = [] { return make_error("link_invalid", "this link is not valid"); };
  if (token.empty() || token.size() > kMaxTokenBytes) return invalid();
  std::vector<std::uint8_t> b(token.size());
  std::size_t n = 0;
  if (sodium_base642bin(b.data(), b.size(), token.data(), token.size(), nullptr, &n, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return invalid();
  b.resize(n);
  if (b.size() < kHeaderBytes + 1 + kMacBytes) return invalid();
  const std::size_t signed_bytes = b.size() - kMacBytes;
  if (crypto_auth_hmacsha256_verify(b.data() + signed_bytes, b.data(), signed_bytes, key_.data()) !=
      0)
    return invalid();
  if (b[0] != kVersion) return invalid();
  OwnerLink link;
  if (b[1] == std::uint8_t(LinkPurpose::kActivity))
    link.purpose = LinkPurpose::kActivity;
  else if (b[1] == std::uint8_t(LinkPurpose::kNotMe))
    link.purpose = LinkPurpose::kNotMe;
  else
    return invalid();
  std::uint64_t seconds = 0;
  for (int i = 0; i < 8; ++i) seconds = (seconds << 8) | b[std::size_t(2 + i)];
  if (seconds > std::uint64_t(253402300799)) return invalid();  // past 9999-12-31
  link.expires = TimePoint(std::chrono::seconds(seconds));
  link.nonce = hex(b.data() + 10, kNonceBytes);
  link.account.assign(reinterpret_cast<const char*>(b.data() + kHeaderBytes),
                      signed_bytes - kHeaderBytes);
  if (now >= link.expires) return make_error("link_expired", "this link has expired");
  return link;
}

}  // namespace mamori::notify
