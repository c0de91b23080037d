// Scale: one node holds 5,000 idle connections, each a real peer (its own Ed25519
// identity, TLS 1.3 with mutual authentication, the Hello exchange), holds no read
// buffer for any of them once they are quiet, and still answers a query from a peer
// that arrives after them. bench/idle measures what each of those connections costs
// in memory.
#include "datafold/net/network_core.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

#include <gtest/gtest.h>

#include "support/test_nodes.hpp"
#include "testkit/fd_limit.hpp"
#include "testkit/idle_peer_fleet.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kIdleConnections = 5000;
// Both ends of every connection live in this process, plus the node's listener,
// epoll and the test's own descriptors.
constexpr std::size_t kDescriptorsNeeded = 2 * kIdleConnections + 256;
// Handshakes in flight at once: enough to keep the node busy, few enough that none
// waits long in the accept queue.
constexpr std::size_t kParallelHandshakes = 32;
// A bound, not an expectation: the fleet opens in about 13 s in a plain build, but
// ThreadSanitizer makes each handshake several times slower (82 s alone on 2 cores,
// and more with another suite running beside it).
constexpr auto kOpenDeadline = 180s;

QueryResult answer_greeting(const Query& query) {
  QueryResult result;
  for (const auto& field : query.fields) result.results.push_back({field, Json("hello, " + field)});
  return result;
}

TEST(IdleConnections, FiveThousandIdlePeersAndTheNodeStillAnswersANewOne) {
  const std::size_t limit = testkit::raise_fd_limit();
  if (limit < kDescriptorsNeeded)
    GTEST_SKIP() << "needs " << kDescriptorsNeeded << " file descriptors; the hard limit (ulimit -Hn) allows "
                 << limit;

  auto config = testing::loopback_config();
  config.max_connections = kIdleConnections + 16;
  // The idle peers never answer a ping, and three missed pongs close a connection:
  // on a slow machine the test could outlast that at the default 30 s interval.
  config.ping_interval = 10min;
  auto node = testing::start_node(config);
  ASSERT_TRUE(node);
  node->set_query_callback([](Query query) { return answer_greeting(query); });

  testkit::IdlePeerFleet idle(kIdleConnections);
  const std::size_t opened = idle.open(node->listen_port(), config.network_name, kOpenDeadline, kParallelHandshakes);
  ASSERT_EQ(opened, kIdleConnections) << "last failure: " << idle.last_failure();
  // The node adopts a connection just after answering its Hello.
  ASSERT_TRUE(testing::eventually([&] { return node->stats().open_connections == kIdleConnections; }, 30s))
      << node->stats().open_connections << " open";

  // Idle, the connections hold no read buffer: the node's memory budget, charged
  // 16 KiB for each read in progress, drains to (almost) nothing. A reader woken with
  // nothing to read that then waited holding its buffer (as before 2d0f674) left 57
  // to 1,352 of these 5,000 charged, 0.9 to 22 MB in six runs, until their peers
  // spoke again.
  constexpr std::uint64_t kHeldAtMost = 4 * 16 * 1024;  // four read buffers of 5,000
  EXPECT_TRUE(testing::eventually([&] { return node->stats().memory_in_use_bytes <= kHeldAtMost; }, 10s))
      << node->stats().memory_in_use_bytes << " bytes of the memory budget held by idle connections";

  auto newcomer = testing::start_node();
  ASSERT_TRUE(newcomer);
  testing::introduce(*newcomer, *node);
  auto answer = newcomer->query_node(node->local_node_id(), Query{"Greeting", {"world"}, "", 0, std::nullopt});
  ASSERT_TRUE(answer) << answer.error().to_string();
  ASSERT_EQ(answer->results.size(), 1u);
  EXPECT_EQ(answer->results[0].value(), Json("hello, world"));

  const auto stats = node->stats();
  EXPECT_EQ(stats.open_connections, kIdleConnections + 1);
  EXPECT_EQ(stats.inbound_accepted, kIdleConnections + 1);
  EXPECT_EQ(stats.handshake_failures, 0u);
  EXPECT_EQ(stats.queries_answered, 1u);

  // The idle peers hang up; the node lets every connection go and keeps the newcomer.
  idle.close_all();
  EXPECT_TRUE(testing::eventually([&] { return node->stats().open_connections == 1; }, 30s))
      << node->stats().open_connections << " open";
  auto again = newcomer->query_node(node->local_node_id(), Query{"Greeting", {"again"}, "", 0, std::nullopt});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->results[0].value(), Json("hello, again"));
  EXPECT_TRUE(newcomer->stop());
  EXPECT_TRUE(node->stop());
}

}  // namespace
}  // namespace datafold::net
