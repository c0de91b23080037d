// IP addresses as sockets report them and peers write them.
#include "core/ip_address.hpp"

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

TEST(IpAddress, Ipv4MappedAddressesReadAsIpv4) {
  EXPECT_EQ(ip_text(asio::ip::make_address("::ffff:192.0.2.1")), "192.0.2.1");
  EXPECT_EQ(ip_text(asio::ip::make_address("2001:db8::1")), "2001:db8::1");
  EXPECT_EQ(format_peer_endpoint({asio::ip::make_address("::ffff:127.0.0.1"), 4000}), "127.0.0.1:4000");
  EXPECT_EQ(format_peer_endpoint({asio::ip::make_address("2001:db8::1"), 4000}), "[2001:db8::1]:4000");
}

TEST(IpAddress, ParsesLiteralsOnlyAndKeepsALinkLocalScopeAsAName) {
  ASSERT_TRUE(parse_ip("192.0.2.1"));
  ASSERT_TRUE(parse_ip("2001:DB8::1"));
  EXPECT_EQ(ip_text(*parse_ip("2001:DB8:0::1")), "2001:db8::1");
  EXPECT_EQ(ip_text(*parse_ip("::ffff:192.0.2.1")), "192.0.2.1");
  // "lo" exists everywhere; a link-local address scoped to it keeps the name.
  const auto scoped = parse_ip("fe80::1%lo");
  ASSERT_TRUE(scoped);
  EXPECT_EQ(ip_text(*scoped), "fe80::1%lo");
  for (const char* bad : {"", "example.org", "192.0.2.1:80", "[::1]", "1.2.3", "::1 ", "2001:db8::1::2"})
    EXPECT_FALSE(parse_ip(bad)) << bad;
  EXPECT_FALSE(parse_ip(std::string(100, '1')));
}

TEST(IpAddress, RoutableUnicastExcludesWhatCannotNameThisHostFromElsewhere) {
  for (const char* yes : {"192.0.2.1", "10.1.2.3", "192.168.1.1", "2001:db8::1", "fd00::1", "::ffff:198.51.100.1"})
    EXPECT_TRUE(is_routable_unicast(*parse_ip(yes))) << yes;
  for (const char* no : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "169.254.1.1", "224.0.0.1", "239.255.77.77",
                         "255.255.255.255", "::", "::1", "fe80::1", "ff02::1", "ff12::77:77", "fec0::1",
                         "::ffff:127.0.0.1"})
    EXPECT_FALSE(is_routable_unicast(*parse_ip(no))) << no;
  EXPECT_TRUE(is_link_local(*parse_ip("169.254.0.9")));
  EXPECT_TRUE(is_link_local(*parse_ip("fe80::9")));
  EXPECT_FALSE(is_link_local(*parse_ip("10.0.0.9")));
}

}  // namespace
}  // namespace datafold::net::detail
