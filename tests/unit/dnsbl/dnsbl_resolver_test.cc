#include "dnsbl/dnsbl_resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

namespace mamori::dnsbl {
namespace {

IpAddress ip(std::string_view s) { return *IpAddress::parse(s); }

TEST(DnsblQueryName, ReversesIpv4Octets) {
  EXPECT_EQ(query_name(ip("203.0.113.5"), "zen.example"), "5.113.0.203.zen.example");
  EXPECT_EQ(query_name(ip("::ffff:127.0.0.2"), "zen.example"), "2.0.0.127.zen.example");
}

TEST(DnsblQueryName, ReversesIpv6Nibbles) {
  EXPECT_EQ(query_name(ip("2001:db8::1"), "zen.example"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example");
}

TEST(DnsblListing, Only127AddressesOutsideTheErrorRangeList) {
  EXPECT_TRUE(is_listing(0x7f000002));   // 127.0.0.2
  EXPECT_TRUE(is_listing(0x7f00000a));   // 127.0.0.10
  EXPECT_FALSE(is_listing(0x7ffffffe));  // 127.255.255.254: "public resolver" error
  EXPECT_FALSE(is_listing(0xc0000201));  // 192.0.2.1
}

TEST(DnsblResolver, RejectsBadZonesAndServers) {
  SystemClock clock;
  DnsblConfig c;
  c.zones = {"bad zone"};
  auto r = DnsblResolver::start(c, clock);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_dnsbl");
  c.zones = {"zen.example"};
  c.servers = "not an address";
  r = DnsblResolver::start(c, clock);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_dnsbl");
}

// A DNS server that never answers: the lookup fails open after the timeout,
// is counted, and is not cached.
TEST(DnsblResolver, ASilentServerFailsOpenAfterTheTimeout) {
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);

  SystemClock clock;
  DnsblConfig c;
  c.zones = {"zen.example"};
  c.timeout = std::chrono::milliseconds(200);
  c.servers = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto r = DnsblResolver::start(c, clock);
  ASSERT_TRUE(r.ok()) << r.error().message;
  DnsblResolver& res = **r;

  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  std::string zone = "unset";
  for (int i = 0; i < 2; ++i) {
    res.check(ip("192.0.2.1"), [&](const std::string& z) {
      std::lock_guard lock(mu);
      zone = z;
      ++answered;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return answered == 2; }));
  EXPECT_EQ(zone, "");
  EXPECT_EQ(res.metrics().lookups.load(), 1u);  // the second check joined the first
  EXPECT_GE(res.metrics().timeouts.load(), 1u);
  EXPECT_EQ(res.listed(ip("192.0.2.1")), "");  // not cached: asks again
  EXPECT_EQ(res.metrics().cache_hits.load(), 0u);
  close(s);
}

TEST(DnsblResolver, NoZonesAnswersAtOnce) {
  SystemClock clock;
  auto r = DnsblResolver::start(DnsblConfig{}, clock);
  ASSERT_TRUE(r.ok());
  bool called = false;
  (*r)->check(ip("192.0.2.1"), [&](const std::string& z) {
    called = true;
    EXPECT_EQ(z, "");
  });
  EXPECT_TRUE(called);
}

}  // namespace
}  // namespace mamori::dnsbl
