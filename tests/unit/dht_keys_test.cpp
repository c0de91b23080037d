#include "discovery/dht/dht_keys.hpp"

#include <gtest/gtest.h>

#include <opendht/infohash.h>

#include <string>

#include "datafold/net/identity.hpp"

namespace datafold::net::discovery {
namespace {

std::string opendht_hex(const std::string& text) { return dht::InfoHash::get(text).toString(); }

TEST(DhtKeys, NodeKeyHashesThePrefixAndTheIdText) {
  auto identity = Identity::generate();
  ASSERT_TRUE(identity.ok());
  const NodeId& id = identity->node_id();
  const std::string text = dht_node_key_text(id);
  EXPECT_EQ(text, "datafold/node/v1/" + id.to_string());
  EXPECT_EQ(text.size(), kDhtNodeKeyPrefix.size() + NodeId::kTextSize);
  // What OpenDHT's own InfoHash::get computes, so any OpenDHT tool finds the value.
  EXPECT_EQ(to_hex(dht_node_key(id)), opendht_hex(text));
}

TEST(DhtKeys, NetworkKeyHashesThePrefixAndTheName) {
  EXPECT_EQ(dht_network_key_text("datafold"), "datafold/network/v1/datafold");
  EXPECT_EQ(to_hex(dht_network_key("datafold")), opendht_hex("datafold/network/v1/datafold"));
  const std::string utf8 = "r\xc3\xa9seau";
  EXPECT_EQ(to_hex(dht_network_key(utf8)), opendht_hex("datafold/network/v1/" + utf8));
}

TEST(DhtKeys, KeysOfDifferentThingsDiffer) {
  auto a = Identity::generate();
  auto b = Identity::generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(dht_node_key(a->node_id()), dht_node_key(b->node_id()));
  EXPECT_NE(dht_network_key("one"), dht_network_key("two"));
  // A network named like a node id is still another key.
  EXPECT_NE(dht_network_key(a->node_id().to_string()), dht_node_key(a->node_id()));
}

}  // namespace
}  // namespace datafold::net::discovery
