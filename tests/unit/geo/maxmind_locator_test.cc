#include "geo/maxmind_locator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/temp_dir.h"

namespace mamori::geo {
namespace {

const std::string kData = std::string(MAMORI_TEST_DATA) + "/geoip/";

IpAddress ip(std::string_view s) { return *IpAddress::parse(s); }

std::unique_ptr<MaxmindLocator> all_three() {
  auto l = MaxmindLocator::open({kData + "GeoLite2-City-Test.mmdb", kData + "GeoLite2-ASN-Test.mmdb",
                                 kData + "GeoIP2-Anonymous-IP-Test.mmdb"});
  EXPECT_TRUE(l) << l.error().message;
  return std::move(*l);
}

TEST(MaxmindLocator, CityDatabaseGivesCountryCityZoneAndCoordinates) {
  auto l = all_three();
  const Location cn = l->locate(ip("175.16.199.7"));
  EXPECT_EQ(cn.country, "CN");
  EXPECT_EQ(cn.city, "Changchun");
  EXPECT_EQ(cn.time_zone, "Asia/Harbin");
  ASSERT_TRUE(cn.has_coordinates);
  EXPECT_NEAR(cn.latitude, 43.88, 0.01);
  EXPECT_NEAR(cn.longitude, 125.32, 0.01);
  EXPECT_EQ(l->locate(ip("81.2.69.160")).country, "GB");
  EXPECT_EQ(l->locate(ip("81.2.69.160")).city, "London");
}

// `cp new.mmdb old.mmdb` truncates the file the daemon loaded before it
// writes the new one: lookups meanwhile must go on from what was loaded.
TEST(MaxmindLocator, FileTruncatedOrRewrittenInPlaceChangesNothingUntilReload) {
  mamori::testing::TempDir tmp;
  const std::string city = tmp.path() + "/city.mmdb";
  std::filesystem::copy_file(kData + "GeoLite2-City-Test.mmdb", city);
  auto l = MaxmindLocator::open({city, "", ""});
  ASSERT_TRUE(l) << l.error().message;
  { std::ofstream truncate(city, std::ios::trunc | std::ios::binary); }
  EXPECT_EQ(std::filesystem::file_size(city), 0u);
  for (int i = 0; i < 256; ++i) (void)(*l)->locate(ip("175.16.199." + std::to_string(i)));
  EXPECT_EQ((*l)->locate(ip("81.2.69.160")).city, "London");
  // Half a file (a copy in progress) is refused and the loaded one stays.
  {
    std::ifstream in(kData + "GeoLite2-City-Test.mmdb", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(city, std::ios::trunc | std::ios::binary);
    out.write(all.data(), std::streamsize(all.size() / 2));
  }
  Status half = (*l)->reload();
  EXPECT_FALSE(half.ok());
  EXPECT_NE(half.error().message.find(city), std::string::npos) << half.error().message;
  EXPECT_EQ((*l)->locate(ip("175.16.199.7")).country, "CN");
  std::filesystem::copy_file(kData + "GeoLite2-City-Test.mmdb", city,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE((*l)->reload().ok());
  EXPECT_EQ((*l)->locate(ip("175.16.199.7")).city, "Changchun");
}

TEST(MaxmindLocator, Ipv6NetworksAreFound) {
  auto l = all_three();
  const Location jp = l->locate(ip("2001:240::1"));
  EXPECT_EQ(jp.country, "JP");
  EXPECT_TRUE(jp.has_coordinates);
}

TEST(MaxmindLocator, UnknownAddressGivesEmptyLocation) {
  auto l = all_three();
  const Location none = l->locate(ip("10.1.2.3"));
  EXPECT_EQ(none.country, "");
  EXPECT_FALSE(none.has_coordinates);
  EXPECT_EQ(none.asn, 0u);
  EXPECT_FALSE(none.anonymous());
}

TEST(MaxmindLocator, AsnDatabaseGivesNumberAndOrganisation) {
  auto l = all_three();
  const Location a = l->locate(ip("1.128.0.1"));
  EXPECT_EQ(a.asn, 1221u);
  EXPECT_EQ(a.asn_org, "Telstra Pty Ltd");
}

TEST(MaxmindLocator, AnonymousDatabaseFlagsTorVpnHostingProxy) {
  auto l = all_three();
  const Location all = l->locate(ip("81.2.69.1"));
  EXPECT_TRUE(all.anonymous_vpn && all.hosting_provider && all.public_proxy && all.tor_exit_node);
  const Location tor = l->locate(ip("1.124.213.1"));
  EXPECT_TRUE(tor.tor_exit_node);
  EXPECT_FALSE(tor.hosting_provider);
  EXPECT_TRUE(l->locate(ip("71.160.223.9")).hosting_provider);
  EXPECT_FALSE(l->locate(ip("175.16.199.7")).anonymous());
}

TEST(MaxmindLocator, CountryDatabaseServesTheCitySlot) {
  auto l = MaxmindLocator::open({kData + "GeoLite2-Country-Test.mmdb", "", ""});
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ((*l)->locate(ip("81.2.69.160")).country, "GB");
  EXPECT_EQ((*l)->locate(ip("81.2.69.160")).city, "");
}

TEST(MaxmindLocator, BrokenDatabaseIsRefusedWithTheFileNamed) {
  auto l = MaxmindLocator::open({kData + "GeoIP2-City-Test-Broken-Double-Format.mmdb", "", ""});
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, "invalid_geoip");
  EXPECT_NE(l.error().message.find("Broken-Double-Format.mmdb"), std::string::npos);
  EXPECT_NE(l.error().message.find("bad data"), std::string::npos) << l.error().message;
}

TEST(MaxmindLocator, MissingFileAndWrongKindAreRefused) {
  auto missing = MaxmindLocator::open({kData + "nope.mmdb", "", ""});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.mmdb"), std::string::npos);
  auto wrong = MaxmindLocator::open({"", kData + "GeoLite2-City-Test.mmdb", ""});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("not a asn"), std::string::npos) << wrong.error().message;
}

TEST(MaxmindLocator, ReloadSwapsInTheNewFileAndKeepsTheOldOnFailure) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/city.mmdb";
  std::filesystem::copy_file(kData + "GeoLite2-City-Test.mmdb", path);
  auto l = MaxmindLocator::open({path, "", ""});
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)->locate(ip("175.16.199.7")).city, "Changchun");

  // A broken file in its place: reload fails, the old databases stay.
  std::filesystem::copy_file(kData + "GeoIP2-City-Test-Broken-Double-Format.mmdb", path + ".new");
  std::filesystem::rename(path + ".new", path);
  Status s = (*l)->reload();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "invalid_geoip");
  EXPECT_EQ((*l)->locate(ip("175.16.199.7")).city, "Changchun");

  // A Country database in its place: reload succeeds, cities are gone.
  std::filesystem::copy_file(kData + "GeoLite2-Country-Test.mmdb", path + ".new");
  std::filesystem::rename(path + ".new", path);
  ASSERT_TRUE((*l)->reload());
  EXPECT_EQ((*l)->locate(ip("81.2.69.160")).country, "GB");
  EXPECT_EQ((*l)->locate(ip("81.2.69.160")).city, "");
}

}  // namespace
}  // namespace mamori::geo
