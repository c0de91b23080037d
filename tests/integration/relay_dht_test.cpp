// A node that cannot be dialled and knows no relay finds one in the DHT (DESIGN.md
// section 10.3): the relay's signed announcement under the network key says it
// relays; the node reserves there and a third node, knowing only the node's id,
// reaches it through the circuit (OpenDHT on loopback, LAN discovery off).
#include <gtest/gtest.h>

#include "core/relayed_address.hpp"
#include "support/relay_nodes.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

NetworkConfig relay_dht_config(std::vector<std::string> bootstrap) {
  auto config = loopback_config();
  config.enable_dht = true;
  config.dht_port = 0;
  config.dht_bootstrap = std::move(bootstrap);
  config.dht_lookup_timeout = 15s;
  config.hole_punching = false;  // loopback is one host: a punch would replace the circuit
  return config;
}

TEST(RelayFromDht, ANodeThatKnowsNoRelayReservesAtOneAnnouncedInTheDht) {
  auto relay_config = relay_dht_config({});
  relay_config.relay = true;
  auto relay = start_node(relay_config);
  ASSERT_TRUE(relay);
  const std::string seed = "127.0.0.1:" + std::to_string(relay->dht_stats()->port);

  auto hidden_config = relay_dht_config({seed});
  hidden_config.use_relays = NetworkConfig::RelayUse::Always;  // no relays named, none known
  hidden_config.accept_connections = false;  // no direct way in: the relay is the only one
  auto hidden = start_node(hidden_config);
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query query) {
    QueryResult result;
    for (const auto& field : query.fields) result.results.push_back({field, Json("hidden-" + field)});
    return result;
  });
  ASSERT_TRUE(hidden->known_nodes().empty());

  const auto relayed = wait_for_relayed_address(*hidden);
  ASSERT_FALSE(relayed.empty()) << "no relay found in the DHT";
  auto parsed = detail::parse_relayed_address(relayed);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->names(relay->local_node_id()));
  EXPECT_EQ(relay->reachability().relay.reservations, 1u);

  // The relayed address reaches the DHT too: a caller with the id alone gets
  // through the relay.
  auto caller = start_node(relay_dht_config({seed}));
  ASSERT_TRUE(caller);
  Query query;
  query.schema_name = "Anything";
  query.fields = {"name"};
  auto answer = caller->query_node(hidden->local_node_id(), query);
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(std::get<Json>(answer->results[0].outcome), Json("hidden-name"));
  EXPECT_EQ(caller->known_nodes().at(hidden->local_node_id()).relayed_via, relay->local_node_id());
}

}  // namespace
}  // namespace datafold::net::testing
