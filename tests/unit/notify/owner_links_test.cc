#include "notify/owner_links.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>

#include "notify/once_records.h"
#include "store/embedded/embedded_store.h"
#include "testing/temp_dir.h"

namespace mamori::notify {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const TimePoint kT0 = from_unix_ms(1'795'435'200'000);  // 2026-11-23T12:00:00Z

std::array<std::uint8_t, 32> key(std::uint8_t fill) {
  std::array<std::uint8_t, 32> k;
  k.fill(fill);
  return k;
}

OwnerPagesConfig config() {
  OwnerPagesConfig c;
  c.base_url = "https://login.example/mamori/";
  return c;
}

TEST(OwnerLinks, RoundTripsAccountPurposeAndExpiry) {
  ASSERT_GE(sodium_init(), 0);
  OwnerLinks links(key(1), config());
  TimePoint expires{};
  const std::string t = links.token(LinkPurpose::kNotMe, "アリス@example.jp", kT0, &expires);
  EXPECT_EQ(expires, kT0 + hours(24 * 7));
  auto v = links.verify(t, kT0 + hours(1));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->account, "アリス@example.jp");
  EXPECT_EQ(v->purpose, LinkPurpose::kNotMe);
  EXPECT_EQ(v->expires, expires);
  EXPECT_EQ(v->nonce.size(), 32u);
  // Each link has its own nonce.
  EXPECT_NE(links.verify(links.token(LinkPurpose::kNotMe, "a", kT0), kT0)->nonce,
            links.verify(links.token(LinkPurpose::kNotMe, "a", kT0), kT0)->nonce);
  // URL-safe and without padding: goes into a URL as it is.
  EXPECT_EQ(t.find_first_of("+/=%&?"), std::string::npos) << t;
  EXPECT_TRUE(links.url(LinkPurpose::kActivity, "bob", kT0)
                  .starts_with("https://login.example/mamori/owner/activity?t="));
  EXPECT_TRUE(links.url(LinkPurpose::kNotMe, "bob", kT0)
                  .starts_with("https://login.example/mamori/owner/not-me?t="));
}

TEST(OwnerLinks, ExpiredLinksAreRefused) {
  OwnerLinks links(key(1), config());
  const std::string t = links.token(LinkPurpose::kActivity, "bob", kT0);
  EXPECT_TRUE(links.verify(t, kT0 + hours(24 * 7) - seconds(1)));
  auto v = links.verify(t, kT0 + hours(24 * 7));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, "link_expired");
}

TEST(OwnerLinks, TamperedLinksAreRefused) {
  OwnerLinks links(key(1), config());
  const std::string t = links.token(LinkPurpose::kActivity, "bob", kT0);
  // Every character changed in turn: none verifies.
  for (std::size_t i = 0; i < t.size(); ++i) {
    std::string bad = t;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    auto v = links.verify(bad, kT0);
    ASSERT_FALSE(v) << i;
    EXPECT_EQ(v.error().code, "link_invalid");
  }
  for (const std::string& bad : {std::string(), t.substr(0, t.size() - 1), t + "A",
                                 std::string("not a token"), std::string(2000, 'A')})
    EXPECT_FALSE(links.verify(bad, kT0)) << bad;
  // Another key's link.
  OwnerLinks other(key(2), config());
  EXPECT_EQ(other.verify(t, kT0).error().code, "link_invalid");
}

TEST(OwnerLinks, BoundToTheAccountAndPurpose) {
  OwnerLinks links(key(1), config());
  // The account is inside the signed bytes: a link made for "bob" names bob
  // and no other; rewriting its account bytes breaks the signature.
  const std::string t = links.token(LinkPurpose::kActivity, "bob", kT0);
  ASSERT_EQ(links.verify(t, kT0)->account, "bob");
  std::vector<unsigned char> raw(t.size());
  std::size_t n = 0;
  ASSERT_EQ(sodium_base642bin(raw.data(), raw.size(), t.data(), t.size(), nullptr, &n, nullptr,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING),
            0);
  raw.resize(n);
  const std::size_t account_at = 26;
  ASSERT_EQ(std::string(raw.begin() + account_at, raw.begin() + account_at + 3), "bob");
  auto encode = [](const std::vector<unsigned char>& bytes) {
    std::string out(
        sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.pop_back();
    return out;
  };
  ASSERT_EQ(encode(raw), t);
  raw[account_at] = 'r';  // "rob"
  EXPECT_EQ(links.verify(encode(raw), kT0).error().code, "link_invalid");
  // The purpose too: an activity link turned into a not-me link.
  raw[account_at] = 'b';
  raw[1] = std::uint8_t(LinkPurpose::kNotMe);
  EXPECT_EQ(links.verify(encode(raw), kT0).error().code, "link_invalid");
}

TEST(OnceRecords, AKeyIsClaimedOnceAcrossRestarts) {
  mamori::testing::TempDir tmp;
  {
    auto store = std::move(*store::EmbeddedStore::open(tmp.path()));
    OnceRecords once(*store, *store);
    auto first = once.claim("not-me:abc", "bob", kT0);
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->first);
    // Claimed again before its write is committed, and after: refused.
    auto again = once.claim("not-me:abc", "bob", kT0);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->first);
    ASSERT_TRUE(store->wait(first->ticket));
    EXPECT_FALSE(once.claim("not-me:abc", "bob", kT0)->first);
    EXPECT_TRUE(once.claim("not-me:abd", "bob", kT0)->first);
    store->drain();
  }
  auto store = std::move(*store::EmbeddedStore::open(tmp.path()));
  OnceRecords once(*store, *store);
  EXPECT_FALSE(once.claim("not-me:abc", "bob", kT0)->first);
  auto when = store->owner_action("not-me:abc");
  ASSERT_TRUE(when && *when);
  EXPECT_EQ(**when, kT0);
}

}  // namespace
}  // namespace mamori::notify
