// Attack on the in-flight limit per connection (DESIGN.md sections 8 and 11:
// max_in_flight_per_connection) while a well-behaved peer keeps asking the node for
// schemas and answers: a raw peer sends far more requests than the limit at once and
// does not wait for any answer. The node reads no more than the limit and answers all.
#include "datafold/net/network_core.hpp"

#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "support/gate.hpp"
#include "support/known_answers.hpp"
#include "support/raw_requests.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::gets_correct_answers;
using testing::raw_query;
using testing::RawTlsClient;

constexpr std::size_t kMaxInFlight = 4;
constexpr std::size_t kSent = 10;

// Once the limit is reached the node stops reading from that connection (TCP
// pushes back) instead of answering each excess request with an Error: the
// excess waits in the socket, costs the node nothing, and is answered once slots
// free. The previous behaviour (an Error{ResourceExhausted} per excess request)
// sent a flooder more bytes than it sent.
TEST(LimitsAttack, RequestsBeyondTheInFlightLimitWaitUnreadAndAreAllAnsweredOnceSlotsFree) {
  auto config = testing::loopback_config();
  config.max_in_flight_per_connection = kMaxInFlight;
  // The held requests occupy kMaxInFlight handler threads; others remain for everyone else.
  config.handler_threads = kMaxInFlight + 2;
  auto server = testing::start_node(config);
  auto resident = testing::start_node();
  ASSERT_TRUE(server && resident);
  testing::Gate gate;
  testing::serve_known_answers(*server, [waiter = gate.waiter()](const Query& q) {
    if (q.schema_name == "Hold") waiter.wait();
  });
  testing::introduce(*resident, *server);

  RawTlsClient attacker;
  ASSERT_TRUE(attacker.connect(server->listen_port()));
  ASSERT_TRUE(attacker.exchange_hello());
  std::vector<Message> flood;
  std::vector<Uuid> ids;
  for (std::size_t i = 0; i < kSent; ++i) {
    auto query = raw_query(attacker, "Hold");
    ids.push_back(query.query_id);
    flood.push_back(std::move(query));
  }
  ASSERT_TRUE(attacker.write(testing::frames_of(flood)));  // all at once, in one write

  // The node reads them in order: the first kMaxInFlight are held in the callback,
  // and it decodes no more from this connection while they are.
  ASSERT_TRUE(gate.wait_for_waiters(static_cast<int>(kMaxInFlight)));
  EXPECT_TRUE(testing::eventually([&] { return server->stats().requests_in_flight_limited >= 1; }));

  // While the attacker's held requests fill its connection's limit, the resident peer is served.
  EXPECT_TRUE(gets_correct_answers(*resident, server->local_node_id()));
  EXPECT_EQ(gate.waiters(), static_cast<int>(kMaxInFlight)) << "an excess request reached the application";
  // Only the held requests (and the resident's two) were taken off the wire.
  EXPECT_EQ(server->stats().requests_received, kMaxInFlight + 2);

  // Released, every request is answered, none with an Error, and the connection is usable again.
  gate.open();
  std::set<Uuid> answered;
  for (std::size_t i = 0; i < kSent; ++i) {
    auto reply = attacker.read_message();
    ASSERT_TRUE(reply) << "no reply to request " << i;
    auto* response = std::get_if<QueryResponseMessage>(&*reply);
    ASSERT_NE(response, nullptr) << "request " << i << " was not answered with a QueryResponse";
    answered.insert(response->query_id);
  }
  EXPECT_EQ(answered, std::set<Uuid>(ids.begin(), ids.end()));
  auto after = raw_query(attacker, "After");
  ASSERT_TRUE(attacker.send(after));
  auto reply = attacker.read_message();
  ASSERT_TRUE(reply);
  ASSERT_TRUE(std::holds_alternative<QueryResponseMessage>(*reply));
  EXPECT_EQ(std::get<QueryResponseMessage>(*reply).query_id, after.query_id);

  // Every request reached the handlers: the resident's listing and query, all the attacker's.
  EXPECT_TRUE(testing::eventually([&] { return server->stats().queries_answered == kSent + 2; }));
  EXPECT_EQ(server->stats().requests_received, kSent + 3);
  EXPECT_EQ(server->stats().schema_listings_answered, 1u);
}

}  // namespace
}  // namespace datafold::net
