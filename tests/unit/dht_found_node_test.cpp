#include "discovery/dht/dht_found_node.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace datafold::net::discovery {
namespace {

TEST(DhtDialableAddress, BareHostsTakeTheAnnouncedPort) {
  EXPECT_EQ(dht_dialable_address("203.0.113.7", 9000), "203.0.113.7:9000");
  EXPECT_EQ(dht_dialable_address("2001:db8::7", 9000), "[2001:db8::7]:9000");
  EXPECT_EQ(dht_dialable_address("[2001:db8::7]", 9000), "[2001:db8::7]:9000");
  EXPECT_EQ(dht_dialable_address("node.example.org", 9000), "node.example.org:9000");
}

TEST(DhtDialableAddress, AnAnnouncedPortWins) {
  EXPECT_EQ(dht_dialable_address("203.0.113.7:9100", 9000), "203.0.113.7:9100");
  EXPECT_EQ(dht_dialable_address("[2001:db8::7]:9100", 0), "[2001:db8::7]:9100");
}

TEST(DhtDialableAddress, DropsWhatCannotBeDialled) {
  // A DHT value has no sender address to stand in for "any".
  EXPECT_EQ(dht_dialable_address("0.0.0.0", 9000), std::nullopt);
  EXPECT_EQ(dht_dialable_address("[::]:9000", 9000), std::nullopt);
  EXPECT_EQ(dht_dialable_address("", 9000), std::nullopt);
  // No port anywhere.
  EXPECT_EQ(dht_dialable_address("203.0.113.7", 0), std::nullopt);
  // Not an address.
  EXPECT_EQ(dht_dialable_address("203.0.113.7:0", 9000), std::nullopt);
  EXPECT_EQ(dht_dialable_address("1.2.3.4:abc", 9000), std::nullopt);
  EXPECT_EQ(dht_dialable_address("host name", 9000), std::nullopt);
  EXPECT_EQ(dht_dialable_address("evil\n:9000", 9000), std::nullopt);
  EXPECT_EQ(dht_dialable_address("2001:db8::zz", 9000), std::nullopt);
}

TEST(DhtFoundNodes, BuildsNodeInfoWithDhtAddressesInAnnouncedOrder) {
  auto identity = Identity::generate();
  ASSERT_TRUE(identity.ok());
  AnnouncementFields a;
  a.node_id = identity->node_id();
  a.public_key = identity->public_key();
  a.tcp_port = 9000;
  a.addresses = {"198.51.100.1", "0.0.0.0", "[2001:db8::1]:9001", "198.51.100.1:9000"};
  a.capabilities = {true, false};
  a.ttl_seconds = 600;
  const auto read_at = std::chrono::system_clock::time_point{std::chrono::milliseconds{1'700'000'000'000}};

  const DhtFoundNode found = make_found_node(a, read_at);
  EXPECT_EQ(found.info.node_id, a.node_id);
  EXPECT_EQ(found.info.public_key, a.public_key);
  EXPECT_EQ(found.info.capabilities, a.capabilities);
  EXPECT_EQ(found.info.last_seen, read_at);
  ASSERT_EQ(found.info.addresses.size(), 2u);  // the unspecified one dropped, the repeat merged
  EXPECT_EQ(found.info.addresses[0].address, "198.51.100.1:9000");
  EXPECT_EQ(found.info.addresses[1].address, "[2001:db8::1]:9001");
  for (const auto& address : found.info.addresses) {
    EXPECT_EQ(address.source, AddressSource::Dht);
    EXPECT_EQ(address.last_seen, read_at);
    EXPECT_EQ(address.last_success, std::chrono::system_clock::time_point{});
  }
  EXPECT_EQ(found.info.address, "198.51.100.1:9000");
  EXPECT_EQ(found.announcement, a);
}

TEST(DhtFoundNodes, ListsAcceptedValuesOnlyAndNotGoodbyes) {
  auto identity = Identity::generate();
  ASSERT_TRUE(identity.ok());
  AnnouncementFields live;
  live.node_id = identity->node_id();
  live.tcp_port = 9000;
  live.addresses = {"198.51.100.1"};
  live.ttl_seconds = 600;
  AnnouncementFields goodbye = live;
  goodbye.ttl_seconds = 0;

  std::vector<DhtValueCheck> checks(4);
  checks[0] = {DhtVerdict::Accepted, 10, live};
  checks[1] = {DhtVerdict::Superseded, 10, live};
  checks[2] = {DhtVerdict::Replayed, 10, live};
  checks[3] = {DhtVerdict::Malformed, 10, std::nullopt};
  const auto nodes = found_nodes(checks, {});
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].info.node_id, live.node_id);

  checks[0].fields = goodbye;
  EXPECT_TRUE(found_nodes(checks, {}).empty());
}

}  // namespace
}  // namespace datafold::net::discovery
