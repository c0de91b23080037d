#include "datafold/net/host_port.hpp"

#include <gtest/gtest.h>

namespace datafold::net {
namespace {

TEST(HostPort, ParsesIpv4NamesAndBracketedIpv6WithScope) {
  auto v4 = parse_host_port("10.0.0.1:9000");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "10.0.0.1");
  EXPECT_EQ(v4->port, 9000);
  auto name = parse_host_port("node.example.org:1");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->host, "node.example.org");
  auto v6 = parse_host_port("[fe80::1%eth0]:9000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "fe80::1%eth0");
  EXPECT_EQ(v6->to_string(), "[fe80::1%eth0]:9000");
}

TEST(HostPort, RefusesWhatIsNotHostAndPort) {
  for (const char* bad : {"", "10.0.0.1", "10.0.0.1:", ":9000", "::1:9000", "[::1]9000", "[::1", "a:0", "a:65536",
                          "a:9x", "a:-1"})
    EXPECT_FALSE(parse_host_port(bad)) << bad;
}

TEST(HostPort, ListenAddressesAreIpLiteralsAndMayUsePortZero) {
  EXPECT_TRUE(parse_listen_address("0.0.0.0:0"));
  EXPECT_TRUE(parse_listen_address("[::]:9000"));
  EXPECT_TRUE(parse_listen_address("[fe80::1%lo]:9000"));
  EXPECT_FALSE(parse_listen_address("localhost:9000"));
  EXPECT_FALSE(parse_listen_address("::]:9000"));
}

TEST(HostPort, FormatsWhatParsesBack) {
  EXPECT_EQ(format_host_port("::1", 7), "[::1]:7");
  EXPECT_EQ(format_host_port("127.0.0.1", 7), "127.0.0.1:7");
  EXPECT_EQ(parse_host_port(format_host_port("2001:db8::5", 80))->host, "2001:db8::5");
}

}  // namespace
}  // namespace datafold::net
