// Hole punching on loopback: a relayed connection is replaced by a direct one, with
// requests flowing the whole time and none lost. Loopback has no NAT: a SYN to a
// port not yet dialling back is reset at once, so a simultaneous open there is luck;
// here the caller is reachable (its DialBack checks say so) and the leader dials it
// back, which is deterministic. The simultaneous open through real NATs is the
// NAT matrix's (netsim).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/relay_nodes.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

QueryResult echo(const Query& query) {
  QueryResult result;
  for (const auto& field : query.fields) result.results.push_back({field, Json(field)});
  return result;
}

Query one_field() {
  Query query;
  query.schema_name = "Anything";
  query.fields = {"name"};
  return query;
}

TEST(HolePunch, ARelayedConnectionIsReplacedByADirectOneWithoutLosingARequest) {
  auto relay_config = loopback_config();
  relay_config.relay = true;
  relay_config.hole_punching = false;
  auto relay = start_node(relay_config);
  ASSERT_TRUE(relay);

  auto hidden_config = loopback_config();
  hidden_config.use_relays = NetworkConfig::RelayUse::Always;
  hidden_config.relays = {address_of(*relay)};
  auto hidden = start_node(hidden_config);
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query q) { return echo(q); });
  const std::string relayed = wait_for_relayed_address(*hidden);
  ASSERT_FALSE(relayed.empty());

  // The caller learns it can be dialled: it asks the relay to dial it back.
  auto caller_config = loopback_config();
  caller_config.use_relays = NetworkConfig::RelayUse::WhenUnreachable;
  auto caller = start_node(caller_config);
  ASSERT_TRUE(caller);
  introduce(*caller, *relay);
  ASSERT_TRUE(caller->connect_to_node(relay->local_node_id()).ok());
  ASSERT_TRUE(eventually([&] { return caller->reachability().status == ReachabilityStatus::Reachable; }, 20s));

  know_only_at(*caller, *hidden, {relayed});

  // Queries all along: the first opens the circuit, the punch happens under the rest.
  int issued = 0;
  int answered = 0;
  std::vector<std::string> failures;
  bool direct = false;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until && issued < 2000) {
    ++issued;
    auto answer = caller->query_node(hidden->local_node_id(), one_field());
    if (answer.ok()) {
      ++answered;
    } else {
      failures.push_back(answer.error().to_string());
    }
    auto nodes = caller->known_nodes();
    auto it = nodes.find(hidden->local_node_id());
    if (it != nodes.end() && caller->connected_nodes().count(hidden->local_node_id()) && !it->second.relayed_via &&
        relay->reachability().relay.circuits_opened >= 1) {
      direct = true;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(direct) << "the connection never went direct";
  // Both ends say how it was made: the leader dialled the caller back, and the caller,
  // which answered the punch, took that dial in as the same.
  EXPECT_EQ(caller->known_nodes().at(hidden->local_node_id()).path, ConnectionPath::HolePunched);
  EXPECT_TRUE(eventually([&] {
    const auto nodes = hidden->known_nodes();
    const auto it = nodes.find(caller->local_node_id());
    return it != nodes.end() && it->second.path == ConnectionPath::HolePunched;
  }));
  EXPECT_EQ(answered, issued) << (failures.empty() ? "" : failures.front());
  EXPECT_TRUE(eventually([&] { return hidden->stats().hole_punches_succeeded >= 1; }));
  EXPECT_EQ(relay->reachability().relay.circuits_opened, 1u);

  // The circuit closes once the relayed connection has nothing left to carry.
  EXPECT_TRUE(eventually([&] { return relay->reachability().relay.circuits_running == 0; }, 15s));
  auto after = caller->query_node(hidden->local_node_id(), one_field());
  EXPECT_TRUE(after.ok()) << after.error().to_string();
}

TEST(HolePunch, ANodeWithHolePunchingOffStaysRelayed) {
  auto relay_config = loopback_config();
  relay_config.relay = true;
  auto relay = start_node(relay_config);
  ASSERT_TRUE(relay);
  auto hidden_config = loopback_config();
  hidden_config.use_relays = NetworkConfig::RelayUse::Always;
  hidden_config.relays = {address_of(*relay)};
  auto hidden = start_node(hidden_config);
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query q) { return echo(q); });
  const std::string relayed = wait_for_relayed_address(*hidden);
  ASSERT_FALSE(relayed.empty());
  auto caller_config = loopback_config();
  caller_config.hole_punching = false;  // the leader asks; this end refuses
  auto caller = start_node(caller_config);
  ASSERT_TRUE(caller);
  know_only_at(*caller, *hidden, {relayed});
  ASSERT_TRUE(caller->query_node(hidden->local_node_id(), one_field()).ok());
  // The leader does not even try: the caller's Hello says it does not punch.
  EXPECT_FALSE(eventually([&] { return hidden->stats().hole_punches_succeeded > 0; }, 2s));
  auto nodes = caller->known_nodes();
  ASSERT_TRUE(nodes.at(hidden->local_node_id()).relayed_via);
}

}  // namespace
}  // namespace datafold::net::testing
