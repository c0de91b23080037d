// Attack on the per-peer request rate (NetworkConfig::max_requests_per_second_per_peer,
// a token bucket per peer node id) while a well-behaved peer keeps asking the node for
// schemas and answers: a raw peer sends a burst far beyond its budget at once, then
// reconnects hoping for a fresh budget. It is slowed to the rate, never sent an Error.
#include "datafold/net/network_core.hpp"

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

// Slow refill, so what the flood spent stays spent for the length of the test's
// steps, yet the excess (paid at this rate) takes only seconds.
constexpr double kRatePerSecond = 2.0;
constexpr std::size_t kBurst = 5;
constexpr std::size_t kFlood = 2 * kBurst;

struct Tally {
  std::size_t answered = 0;
  std::size_t errors = 0;
};

// Sends `count` queries in one write and reads every reply; a missing reply fails the test.
Tally flood(RawTlsClient& attacker, std::size_t count) {
  std::vector<Message> queries;
  for (std::size_t i = 0; i < count; ++i) queries.push_back(raw_query(attacker, "Flood"));
  Tally tally;
  if (!attacker.write(testing::frames_of(queries))) {
    ADD_FAILURE() << "the node stopped reading the flood";
    return tally;
  }
  for (std::size_t i = 0; i < count; ++i) {
    // Each excess request waits for its token: 1 / kRatePerSecond, well inside this.
    auto reply = attacker.read_message(std::chrono::seconds(10));
    if (!reply) {
      ADD_FAILURE() << "no reply to request " << i << " of the flood";
      return tally;
    }
    if (std::holds_alternative<QueryResponseMessage>(*reply)) {
      ++tally.answered;
    } else if (std::holds_alternative<ErrorMessage>(*reply)) {
      ++tally.errors;
    } else {
      ADD_FAILURE() << "request " << i << " got neither an answer nor an Error";
    }
  }
  return tally;
}

// Past its rate a peer is slowed, not refused: every request is answered (the
// excess once the bucket would have admitted it, the connection unread meanwhile),
// no Error frame is sent for it, and another peer is served as before. The
// previous behaviour (an Error{ResourceExhausted} per excess request) sent a
// flooder more bytes than it sent.
TEST(LimitsAttack, PeerOverItsRequestRateIsSlowedWithoutErrorsAndOthersAreNot) {
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
  EXPECT_EQ(first.answered, kFlood);
  EXPECT_EQ(first.errors, 0u);
  const auto after_first = server->stats().requests_rate_limited;
  // The burst passes; the excess ran into the rate (the bucket may refill a token meanwhile).
  EXPECT_GT(after_first, 0u);
  EXPECT_LE(after_first, kFlood - kBurst);

  // The attacker's budget is spent; the resident's is its own (two rounds, four
  // requests: within its own burst, so any limiting would be the attacker's).
  for (int round = 0; round < 2; ++round) EXPECT_TRUE(gets_correct_answers(*resident, id)) << "round " << round;
  EXPECT_EQ(server->stats().requests_rate_limited, after_first) << "the resident was limited by the attacker's rate";

  // A new connection with the same key does not bring a new budget: with a fresh one
  // all kBurst would pass unlimited.
  ASSERT_TRUE(attacker.connect(server->listen_port()));
  ASSERT_TRUE(attacker.exchange_hello());
  const Tally again = flood(attacker, kBurst);
  EXPECT_EQ(again.answered, kBurst);
  EXPECT_EQ(again.errors, 0u);
  EXPECT_GT(server->stats().requests_rate_limited, after_first) << "reconnecting reset the attacker's request budget";

  const auto stats = server->stats();
  EXPECT_EQ(stats.queries_answered, kFlood + kBurst + 2);
  EXPECT_EQ(stats.queries_refused, 0u);
  EXPECT_TRUE(gets_correct_answers(*resident, id));
}

}  // namespace
}  // namespace datafold::net
