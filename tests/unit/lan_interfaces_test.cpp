// What a node announces from its interfaces and listen address, and which
// interface an IPv4 datagram came in on. (select_interfaces() reads the host's
// interfaces: tests/integration/lan_discovery_test.cpp drives it.)
#include "discovery/lan/lan_interfaces.hpp"

#include <gtest/gtest.h>

namespace datafold::net::discovery {
namespace {

std::vector<LanInterface> two_interfaces() {
  LanInterface eth0;
  eth0.name = "eth0";
  eth0.index = 2;
  eth0.ipv4 = {{"192.168.1.7", "255.255.255.0", "192.168.1.255"}, {"10.1.0.7", "255.255.0.0", "10.1.255.255"}};
  eth0.ipv6 = {"fe80::7%eth0", "2001:db8::7"};
  eth0.multicast_v4 = eth0.multicast_v6 = true;
  LanInterface wlan0;
  wlan0.name = "wlan0";
  wlan0.index = 3;
  wlan0.ipv6 = {"fe80::8%wlan0", "fd00::8"};  // IPv6 only
  wlan0.multicast_v6 = true;
  return {eth0, wlan0};
}

TEST(LanInterfaces, ADualStackListenerAnnouncesEveryAddressIpv4FirstLinkLocalLast) {
  EXPECT_EQ(addresses_to_announce(two_interfaces(), "::"),
            (std::vector<std::string>{"192.168.1.7", "10.1.0.7", "2001:db8::7", "fd00::8", "fe80::7%eth0",
                                      "fe80::8%wlan0"}));
}

TEST(LanInterfaces, AnIpv4ListenerAnnouncesIpv4Only) {
  EXPECT_EQ(addresses_to_announce(two_interfaces(), "0.0.0.0"),
            (std::vector<std::string>{"192.168.1.7", "10.1.0.7"}));
}

TEST(LanInterfaces, ASpecificListenAddressIsAllThatIsAnnounced) {
  EXPECT_EQ(addresses_to_announce(two_interfaces(), "10.1.0.7"), (std::vector<std::string>{"10.1.0.7"}));
  EXPECT_EQ(addresses_to_announce(two_interfaces(), "fe80::7%eth0"), (std::vector<std::string>{"fe80::7%eth0"}));
}

TEST(LanInterfaces, NoListenAddressAnnouncesNothingSoReceiversUseTheSource) {
  EXPECT_TRUE(addresses_to_announce(two_interfaces(), "").empty());
  EXPECT_TRUE(addresses_to_announce(two_interfaces(), "not an ip").empty());
}

TEST(LanInterfaces, AnIpv4SourceArrivedOnTheInterfaceWhoseSubnetHoldsIt) {
  const auto lans = two_interfaces();
  EXPECT_EQ(interface_for_ipv4_source(lans, "192.168.1.200"), "eth0");
  EXPECT_EQ(interface_for_ipv4_source(lans, "10.1.200.3"), "eth0") << "its second address's subnet";
  EXPECT_EQ(interface_for_ipv4_source(lans, "172.16.0.1"), "");
  EXPECT_EQ(interface_for_ipv4_source(lans, "fe80::1"), "");
  EXPECT_EQ(interface_for_ipv4_source(lans, ""), "");
}

TEST(LanInterfaces, DescribeNamesEveryAddress) {
  EXPECT_EQ(two_interfaces()[1].describe(), "wlan0 (fe80::8%wlan0, fd00::8)");
  EXPECT_EQ(two_interfaces()[1].address(), "") << "no IPv4 address";
  EXPECT_EQ(two_interfaces()[0].address(), "192.168.1.7");
}

}  // namespace
}  // namespace datafold::net::discovery
