// Relays on loopback (DESIGN.md section 10.3): a node reserves at a relay, another
// reaches it knowing only its relayed address, the two run TLS end to end through the
// circuit, and the relay's limits hold. The NAT matrix (netsim) shows the same
// across real NATs; here the mechanics.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "core/relayed_address.hpp"
#include "support/relay_nodes.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

NetworkConfig relay_config() {
  auto config = loopback_config();
  config.relay = true;
  return config;
}

// Loopback is one host: a hole punch would always succeed and replace the circuit
// these tests look at. (hole_punch_test.cpp lets it.)
NetworkConfig no_punch_config() {
  auto config = loopback_config();
  config.hole_punching = false;
  return config;
}

// A node that keeps a reservation at `relay` whatever its reachability.
NetworkConfig reserving_config(const NetworkCore& relay) {
  auto config = no_punch_config();
  config.use_relays = NetworkConfig::RelayUse::Always;
  config.relays = {address_of(relay)};
  return config;
}

QueryResult answer_with_name(const Query& query) {
  QueryResult result;
  for (const auto& field : query.fields) result.results.push_back({field, Json("from-" + field)});
  return result;
}

Query name_query() {
  Query query;
  query.schema_name = "Anything";
  query.fields = {"name"};
  return query;
}

TEST(Relay, ANodeKnownOnlyByItsRelayedAddressAnswersThroughTheCircuit) {
  auto relay = start_node(relay_config());
  ASSERT_TRUE(relay);
  auto hidden = start_node(reserving_config(*relay));
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query q) { return answer_with_name(q); });
  auto caller = start_node(no_punch_config());
  ASSERT_TRUE(caller);

  const auto relayed = wait_for_relayed_address(*hidden);
  ASSERT_FALSE(relayed.empty()) << "no reservation at the relay";
  auto parsed = detail::parse_relayed_address(relayed);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->names(relay->local_node_id()));
  EXPECT_EQ(relay->reachability().relay.reservations, 1u);

  know_only_at(*caller, *hidden, {relayed});
  auto answer = caller->query_node(hidden->local_node_id(), name_query());
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  ASSERT_EQ(answer->results.size(), 1u);
  EXPECT_EQ(std::get<Json>(answer->results[0].outcome), Json("from-name"));

  // Both ends see the connection as relayed, through this relay.
  auto seen_by_caller = caller->known_nodes().at(hidden->local_node_id());
  ASSERT_TRUE(seen_by_caller.relayed_via);
  EXPECT_EQ(*seen_by_caller.relayed_via, relay->local_node_id());
  EXPECT_EQ(seen_by_caller.path, ConnectionPath::Relayed);
  ASSERT_TRUE(eventually([&] {
    auto nodes = hidden->known_nodes();
    auto it = nodes.find(caller->local_node_id());
    return it != nodes.end() && it->second.relayed_via == relay->local_node_id();
  }));
  EXPECT_EQ(relay->reachability().relay.circuits_opened, 1u);
  EXPECT_GE(caller->stats().relayed_connections, 1u);

  // Many requests over the one circuit, and the relay carried bytes it cannot read.
  for (int i = 0; i < 50; ++i) {
    auto again = caller->query_node(hidden->local_node_id(), name_query());
    ASSERT_TRUE(again.ok()) << again.error().to_string();
  }
  EXPECT_GT(relay->reachability().relay.bytes_relayed, 0u);
}

TEST(Relay, ARunningCircuitCountsAgainstTheRelaysMemoryBudgetUntilItEnds) {
  // A circuit's pump buffers (16 KiB each way) are memory its ends make the relay
  // hold, like a connection's write queue.
  constexpr std::size_t kCircuitHolds = 2 * 16 * 1024;
  auto relay = start_node(relay_config());
  ASSERT_TRUE(relay);
  auto hidden = start_node(reserving_config(*relay));
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query q) { return answer_with_name(q); });
  auto caller = start_node(no_punch_config());
  ASSERT_TRUE(caller);
  const auto relayed = wait_for_relayed_address(*hidden);
  ASSERT_FALSE(relayed.empty()) << "no reservation at the relay";
  const auto before = relay->stats().memory_in_use_bytes;
  EXPECT_LT(before, kCircuitHolds);

  know_only_at(*caller, *hidden, {relayed});
  auto answer = caller->query_node(hidden->local_node_id(), name_query());
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(relay->reachability().relay.circuits_running, 1u);
  EXPECT_GE(relay->stats().memory_in_use_bytes, kCircuitHolds);

  ASSERT_TRUE(caller->stop());  // its end of the circuit closes, so does the circuit
  EXPECT_TRUE(eventually([&] { return relay->reachability().relay.circuits_running == 0; }));
  EXPECT_TRUE(eventually([&] { return relay->stats().memory_in_use_bytes < kCircuitHolds; }))
      << relay->stats().memory_in_use_bytes << " bytes still held";
}

TEST(Relay, ACallerAskingForANodeWithoutAReservationIsToldSo) {
  auto relay = start_node(relay_config());
  ASSERT_TRUE(relay);
  auto absent = start_node(no_punch_config());  // never reserved anywhere
  ASSERT_TRUE(absent);
  auto caller = start_node(no_punch_config());
  ASSERT_TRUE(caller);
  const auto made_up = detail::RelayedAddress::of(relay->local_node_id(), *parse_host_port(address_of(*relay)));
  know_only_at(*caller, *absent, {made_up.to_string()});
  auto answer = caller->query_node(absent->local_node_id(), name_query());
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().kind, ErrorKind::Connection) << answer.error().to_string();
  EXPECT_NE(answer.error().message.find("no reservation"), std::string::npos) << answer.error().message;
  EXPECT_EQ(relay->reachability().relay.circuits_opened, 0u);
}

TEST(Relay, ANodeThatDoesNotRelayRefusesReservations) {
  auto plain = start_node(no_punch_config());  // relaying off, the default
  ASSERT_TRUE(plain);
  auto hopeful = start_node(reserving_config(*plain));
  ASSERT_TRUE(hopeful);
  // It connects, asks, and is refused; no relayed address appears.
  ASSERT_TRUE(eventually([&] { return !plain->connected_nodes().empty(); }, 10s));
  EXPECT_FALSE(eventually([&] { return !hopeful->reachability().relayed_addresses.empty(); }, 1s));
  EXPECT_FALSE(plain->reachability().relay.enabled);
}

TEST(Relay, AnAddressThatNamesTheWrongRelayIsRefusedByTheTlsIdentityCheck) {
  // The relayed address claims a relay id the node at that address does not have:
  // the caller's dial to "the relay" authenticates someone else and stops there.
  auto relay = start_node(relay_config());
  ASSERT_TRUE(relay);
  auto hidden = start_node(reserving_config(*relay));
  ASSERT_TRUE(hidden);
  auto impostor_id = start_node(no_punch_config());
  ASSERT_TRUE(impostor_id);
  ASSERT_FALSE(wait_for_relayed_address(*hidden).empty());
  auto caller = start_node(no_punch_config());
  ASSERT_TRUE(caller);
  const auto wrong = detail::RelayedAddress::of(impostor_id->local_node_id(), *parse_host_port(address_of(*relay)));
  know_only_at(*caller, *hidden, {wrong.to_string()});
  auto answer = caller->query_node(hidden->local_node_id(), name_query());
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(relay->reachability().relay.circuits_opened, 0u);
}

TEST(Relay, ALimitOfCircuitsPerPeerRefusesTheExtraOnesWhileTheFirstKeepsAnswering) {
  auto config = relay_config();
  config.relay_limits.max_circuits_per_peer = 1;
  auto relay = start_node(config);
  ASSERT_TRUE(relay);
  auto hidden = start_node(reserving_config(*relay));
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query q) { return answer_with_name(q); });
  const auto relayed = wait_for_relayed_address(*hidden);
  ASSERT_FALSE(relayed.empty());

  auto first = start_node(no_punch_config());
  ASSERT_TRUE(first);
  know_only_at(*first, *hidden, {relayed});
  ASSERT_TRUE(first->query_node(hidden->local_node_id(), name_query()).ok());

  auto second = start_node(no_punch_config());
  ASSERT_TRUE(second);
  know_only_at(*second, *hidden, {relayed});
  auto refused = second->query_node(hidden->local_node_id(), name_query());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("circuits"), std::string::npos) << refused.error().message;
  EXPECT_GE(relay->reachability().relay.circuits_refused, 1u);

  auto still = first->query_node(hidden->local_node_id(), name_query());
  EXPECT_TRUE(still.ok()) << still.error().to_string();
}

TEST(Relay, ACircuitCutAtItsByteLimitFailsTheRequestsOnItAsConnectionErrors) {
  auto config = relay_config();
  config.relay_limits.max_circuit_bytes = 16 * 1024;  // the handshakes and a few queries
  auto relay = start_node(config);
  ASSERT_TRUE(relay);
  auto hidden = start_node(reserving_config(*relay));
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query q) { return answer_with_name(q); });
  const auto relayed = wait_for_relayed_address(*hidden);
  ASSERT_FALSE(relayed.empty());
  auto caller = start_node(no_punch_config());
  ASSERT_TRUE(caller);
  know_only_at(*caller, *hidden, {relayed});

  int answered = 0;
  int failed = 0;
  for (int i = 0; i < 200 && failed == 0; ++i) {
    auto answer = caller->query_node(hidden->local_node_id(), name_query());
    if (answer.ok()) {
      ++answered;
      ASSERT_EQ(std::get<Json>(answer->results[0].outcome), Json("from-name"));
    } else {
      ++failed;
      EXPECT_EQ(answer.error().kind, ErrorKind::Connection) << answer.error().to_string();
    }
  }
  EXPECT_GT(answered, 0);
  EXPECT_EQ(failed, 1) << "the cut never came, or came without an error";
  EXPECT_TRUE(eventually([&] { return relay->reachability().relay.circuits_cut == 1; }));
}

TEST(Relay, ACircuitHeldOpenPastItsTimeLimitIsCutAndTheNextQueryOpensAFreshOne) {
  // An idle caller holding a circuit for ever would keep a relay slot for ever: the
  // relay cuts the circuit when its time is up, both ends see the connection go, and
  // a query after that is answered through a new circuit.
  auto config = relay_config();
  config.relay_limits.max_circuit_duration = 1s;
  auto relay = start_node(config);
  ASSERT_TRUE(relay);
  auto hidden = start_node(reserving_config(*relay));
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query q) { return answer_with_name(q); });
  const auto relayed = wait_for_relayed_address(*hidden);
  ASSERT_FALSE(relayed.empty());
  auto caller = start_node(no_punch_config());
  ASSERT_TRUE(caller);
  know_only_at(*caller, *hidden, {relayed});

  ASSERT_TRUE(caller->query_node(hidden->local_node_id(), name_query()).ok());
  EXPECT_TRUE(eventually([&] { return relay->reachability().relay.circuits_cut == 1; }))
      << "the circuit outlived its limit";
  EXPECT_TRUE(eventually([&] { return !caller->connected_nodes().contains(hidden->local_node_id()); }))
      << "the caller still counts the cut circuit as a connection";
  EXPECT_EQ(relay->reachability().relay.circuits_running, 0u);

  auto again = caller->query_node(hidden->local_node_id(), name_query());
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(std::get<Json>(again->results[0].outcome), Json("from-name"));
  EXPECT_EQ(relay->reachability().relay.circuits_opened, 2u);
  // The reservation is not a circuit: it outlives the cut.
  EXPECT_EQ(hidden->reachability().relayed_addresses.size(), 1u);
}

}  // namespace
}  // namespace datafold::net::testing
