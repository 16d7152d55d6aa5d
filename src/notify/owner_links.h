#ifndef MAMORI_NOTIFY_OWNER_LINKS_H_
#define MAMORI_NOTIFY_OWNER_LINKS_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace mamori::notify {

// `[owner_pages]`: the owners' own pages (their activity, "this wasn't me").
// No base_url: off; notices then carry no links and the activity-link call
// answers 503 `feature_unavailable`.
struct OwnerPagesConfig {
  // Where owners reach mamorid's /owner/ pages, without the "/owner" part
  // ("https://login.example/mamori": a proxy passes /mamori/owner/... on).
  std::string base_url;
  // The signing key (64 hex digits, made on first start when missing);
  // empty: derived from the TOTP key file.
  std::string key_file;
  Duration link_ttl = std::chrono::hours(24 * 7);
  // How far back the activity page reads.
  Duration activity_window = std::chrono::hours(24 * 90);

  bool enabled() const { return !base_url.empty(); }
};

// What a link lets its holder do.
enum class LinkPurpose : std::uint8_t {
  kActivity = 1,  // read the account's activity page, as often as wanted until it expires
  kNotMe = 2,     // "this wasn't me": lock the account, once
};

// A verified link's contents.
struct OwnerLink {
  LinkPurpose purpose = LinkPurpose::kActivity;
  std::string account;
  TimePoint expires{};
  std::string nonce;  // 32 hex digits, unique per link: what "works once" records
};

// Signs and verifies the links to the owners' pages. A token is, in
// unpadded URL-safe base64: version (1) | purpose (1) | expiry in Unix
// seconds (8, big-endian) | random nonce (16) | account (UTF-8) |
// HMAC-SHA-256 (32, libsodium's crypto_auth_hmacsha256) of everything before
// it under the key. The signature is the authorization: a token changed in
// any byte, for another account or purpose, does not verify; an expired one
// is refused. Whether a link was used is the caller's record (OnceRecords).
// Thread-safe (const after construction). Not copyable: the key is wiped on
// destruction.
class OwnerLinks {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  static constexpr std::size_t kMaxTokenBytes = 1024;

  // REQUIRES: key.size() == kKeyBytes; config.enabled().
  OwnerLinks(std::span<const std::uint8_t> key, const OwnerPagesConfig& config);
  ~OwnerLinks();
  OwnerLinks(const OwnerLinks&) = delete;
  OwnerLinks& operator=(const OwnerLinks&) = delete;

  // A new token for `account`, valid until now + link_ttl (`*expires`).
  std::string token(LinkPurpose purpose, std::string_view account, TimePoint now,
                    TimePoint* expires = nullptr) const;
  // The page's URL with a new token: <base_url>/owner/activity?t=... or
  // <base_url>/owner/not-me?t=...
  std::string url(LinkPurpose purpose, std::string_view account, TimePoint now,
                  TimePoint* expires = nullptr) const;
  // Fails with `link_invalid` (malformed, altered, another key) or
  // `link_expired`.
  Result<OwnerLink> verify(std::string_view token, TimePoint now) const;

  const OwnerPagesConfig& config() const { return config_; }

 private:
  std::array<std::uint8_t, kKeyBytes> key_{};
  OwnerPagesConfig config_;
};

// The page paths under base_url, by purpose: "/owner/activity", "/owner/not-me".
std::string_view owner_page_path(LinkPurpose purpose);

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_OWNER_LINKS_H_
