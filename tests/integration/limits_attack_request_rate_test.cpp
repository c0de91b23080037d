// Attack on the per-peer request rate (NetworkConfig::max_requests_per_second_per_peer,
// a token bucket per peer node id) while a well-behaved peer keeps asking the node for
// schemas and answers: a raw peer sends a burst far beyond its budget at once, then
// reconnects hoping for a fresh budget.
#include "datafold/net/network_core.hpp"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/known_answers.hpp"
#include "support/raw_requests.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::gets_correct_answers;
using testing::raw_query;
using testing::RawTlsClient;

// Slow refill, so what the flood spent stays spent for the length of the test's steps.
constexpr double kRatePerSecond = 1.0;
constexpr std::size_t kBurst = 10;
constexpr std::size_t kFlood = 3 * kBurst;

struct Tally {
  std::size_t answered = 0;
  std::size_t exhausted = 0;
};

// Sends `count` queries in one write and reads every reply; any other outcome fails the test.
Tally flood(RawTlsClient& attacker, std::size_t count) {
  std::vector<Message> queries;
  for (std::size_t i = 0; i < count; ++i) queries.push_back(raw_query(attacker, "Flood"));
  Tally tally;
  if (!attacker.write(testing::frames_of(queries))) {
    ADD_FAILURE() << "the node stopped reading the flood";
    return tally;
  }
  for (std::size_t i = 0; i < count; ++i) {
    auto reply = attacker.read_message();
    if (!reply) {
      ADD_FAILURE() << "no reply to request " << i << " of the flood";
      return tally;
    }
    if (std::holds_alternative<QueryResponseMessage>(*reply)) {
      ++tally.answered;
    } else if (auto* error = std::get_if<ErrorMessage>(&*reply); error && error->code == ErrorCode::ResourceExhausted) {
      EXPECT_TRUE(error->related_message_id) << "a refusal must say which request it refuses";
      ++tally.exhausted;
    } else {
      ADD_FAILURE() << "request " << i << " got neither an answer nor ResourceExhausted";
    }
  }
  return tally;
}

TEST(LimitsAttack, PeerOverItsRequestRateGetsResourceExhaustedAndOthersDoNot) {
  auto config = testing::loopback_config();
  config.max_requests_per_second_per_peer = kRatePerSecond;
  config.request_burst_per_peer = kBurst;
  auto server = testing::start_node(config);
  auto resident = testing::start_node();
  ASSERT_TRUE(server && resident);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);
  const NodeId& id = server->local_node_id();

  RawTlsClient attacker;
  ASSERT_TRUE(attacker.connect(server->listen_port()));
  ASSERT_TRUE(attacker.exchange_hello());
  const Tally first = flood(attacker, kFlood);
  // The burst passes; the excess is refused (the bucket may refill a token meanwhile).
  EXPECT_GE(first.answered, kBurst);
  EXPECT_GT(first.exhausted, 0u);
  EXPECT_EQ(first.answered + first.exhausted, kFlood);

  // The attacker's budget is spent; the resident's is its own.
  for (int round = 0; round < 3; ++round) EXPECT_TRUE(gets_correct_answers(*resident, id)) << "round " << round;

  // A new connection with the same key does not bring a new budget: with a fresh one
  // all kBurst would pass.
  ASSERT_TRUE(attacker.connect(server->listen_port()));
  ASSERT_TRUE(attacker.exchange_hello());
  const Tally again = flood(attacker, kBurst);
  EXPECT_GT(again.exhausted, 0u) << "reconnecting reset the attacker's request budget";

  const auto stats = server->stats();
  EXPECT_EQ(stats.requests_rate_limited, first.exhausted + again.exhausted);
  EXPECT_EQ(stats.queries_answered, first.answered + again.answered + 3) << "a refused request reached the handler";

  // Having waited for its bucket to refill, the attacker is answered again.
  bool recovered = false;
  for (int attempt = 0; attempt < 200 && !recovered; ++attempt) {
    recovered = flood(attacker, 1).answered == 1;
    if (!recovered) std::this_thread::sleep_for(50ms);  // the refill has no event to wait on
  }
  EXPECT_TRUE(recovered);
  EXPECT_TRUE(gets_correct_answers(*resident, id));
}

}  // namespace
}  // namespace datafold::net
