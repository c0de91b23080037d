#include "node/advertised_addresses.hpp"

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

const std::vector<InterfaceAddress> kInterfaces{
    {"lo", "127.0.0.1", true},   {"lo", "::1", true},          {"eth0", "10.1.0.5", false},
    {"eth0", "fe80::5", false},  {"eth0", "fd00:1::5", false}, {"eth1", "192.168.7.2", false},
};

TEST(AdvertisedAddresses, ASpecificListenAddressIsTheOnlyOne) {
  EXPECT_EQ(addresses_to_announce("10.1.0.5", 9000, kInterfaces, {}, 16), std::vector<std::string>{"10.1.0.5:9000"});
  EXPECT_EQ(addresses_to_announce("127.0.0.1", 7, kInterfaces, {}, 16), std::vector<std::string>{"127.0.0.1:7"});
}

TEST(AdvertisedAddresses, Ipv4AnyIsEveryIpv4AddressButLoopback) {
  EXPECT_EQ(addresses_to_announce("0.0.0.0", 9000, kInterfaces, {}, 16),
            (std::vector<std::string>{"10.1.0.5:9000", "192.168.7.2:9000"}));
}

TEST(AdvertisedAddresses, DualStackAnyAddsIpv6ButNeverLinkLocal) {
  EXPECT_EQ(addresses_to_announce("::", 9000, kInterfaces, {}, 16),
            (std::vector<std::string>{"10.1.0.5:9000", "[fd00:1::5]:9000", "192.168.7.2:9000"}));
}

TEST(AdvertisedAddresses, LoopbackOnlyWhenNothingElseAndExtrasFollowOnce) {
  const std::vector<InterfaceAddress> only_lo{{"lo", "127.0.0.1", true}};
  EXPECT_EQ(addresses_to_announce("0.0.0.0", 1, only_lo, {"203.0.113.9", "127.0.0.1"}, 16),
            (std::vector<std::string>{"127.0.0.1:1", "203.0.113.9:1"}));
  EXPECT_EQ(addresses_to_announce("0.0.0.0", 1, kInterfaces, {"10.1.0.5"}, 16).size(), 2u);
  EXPECT_EQ(addresses_to_announce("::", 1, kInterfaces, {}, 1).size(), 1u);
}

}  // namespace
}  // namespace datafold::net::detail

namespace datafold::net::detail {
namespace {

TEST(OwnAddresses, TheMappedAddressComesFirstWithItsSourceThenInterfacesThenObserved) {
  const std::vector<InterfaceAddress> interfaces{{"eth0", "10.1.0.5", false}};
  const auto own = own_addresses("0.0.0.0", 9000, interfaces, {"203.0.113.9"}, "198.51.100.7:41000", 16);
  ASSERT_EQ(own.size(), 3u);
  EXPECT_EQ(own[0].address, "198.51.100.7:41000");
  EXPECT_EQ(own[0].source, AddressSource::Mapped);
  EXPECT_EQ(own[1].address, "10.1.0.5:9000");
  EXPECT_EQ(own[1].source, AddressSource::Lan);
  EXPECT_EQ(own[2].address, "203.0.113.9:9000");
  EXPECT_EQ(own[2].source, AddressSource::PeerReport);
}

TEST(OwnAddresses, NoMappingNoMappedEntryAndTheLimitHolds) {
  const std::vector<InterfaceAddress> interfaces{{"eth0", "10.1.0.5", false}, {"eth1", "10.2.0.5", false}};
  const auto own = own_addresses("0.0.0.0", 9000, interfaces, {}, "", 16);
  ASSERT_EQ(own.size(), 2u);
  for (const auto& a : own) EXPECT_EQ(a.source, AddressSource::Lan);
  EXPECT_EQ(own_addresses("0.0.0.0", 9000, interfaces, {}, "198.51.100.7:9000", 2).size(), 2u);
  EXPECT_EQ(own_addresses("0.0.0.0", 9000, interfaces, {}, "198.51.100.7:9000", 2)[0].source, AddressSource::Mapped);
}

}  // namespace
}  // namespace datafold::net::detail
