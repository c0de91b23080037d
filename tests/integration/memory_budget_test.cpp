// The node's memory budget (NetworkConfig::memory_budget_bytes, DESIGN.md section
// 10.5) under the attack that took a node from 15 MB to 772 MB: authenticated peers
// that pipeline queries for big replies and never read one. The node stops reading
// from each once it holds its share (TCP pushes back), closes those that stay so or
// hold more than their share when the budget is spent, and keeps serving a
// well-behaved peer; what peers make it hold never passes the budget by more than
// one reply per connection whose replies were flowing (see TlsConnection::enqueue_frame).
#include "datafold/net/network_core.hpp"

#include <memory>
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

constexpr std::size_t kBudget = 8u << 20;  // share: 1 MiB (the floor; 8 MiB / 128 is less)
constexpr std::size_t kBudgetAttackers = 16;
constexpr std::size_t kBudgetReplyPadding = 32 * 1024;
constexpr std::size_t kBudgetBatch = 16;  // 512 KiB of replies asked per write
// 32 MiB of replies per attacker at most: far beyond loopback socket buffers plus its
// share, so a node that never pushes back fails the test instead of running on.
constexpr std::size_t kBudgetMaxBatches = 64;
// A reply frame, with room for its envelope.
constexpr std::size_t kBudgetReplyFrame = kBudgetReplyPadding + 1024;

TEST(MemoryBudget, PeersThatNeverReadCannotPushTheNodePastItsBudgetAndAWellBehavedPeerIsServed) {
  auto config = testing::loopback_config();
  config.memory_budget_bytes = kBudget;
  config.backpressure_stall_timeout = 2s;
  config.max_requests_per_second_per_peer = 0;  // the budget alone, not the rate, holds them
  auto server = testing::start_node(config);
  auto resident = testing::start_node();
  ASSERT_TRUE(server && resident);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);
  const NodeId& id = server->local_node_id();
  ASSERT_TRUE(gets_correct_answers(*resident, id));
  EXPECT_EQ(server->stats().memory_budget_bytes, kBudget);

  std::vector<std::unique_ptr<RawTlsClient>> attackers;
  for (std::size_t i = 0; i < kBudgetAttackers; ++i) {
    auto attacker = std::make_unique<RawTlsClient>();
    ASSERT_TRUE(attacker->connect(server->listen_port()));
    ASSERT_TRUE(attacker->exchange_hello());
    attackers.push_back(std::move(attacker));
  }
  ASSERT_TRUE(testing::eventually([&] { return server->stats().open_connections == kBudgetAttackers + 1; }));

  // Each attacker writes its batches (the queries are small: the kernel takes them
  // whether or not the node reads) and stops at a write the node does not take
  // within its deadline (it stopped reading, or closed it). None reads a reply.
  std::vector<bool> pushed_back(kBudgetAttackers, false);
  for (std::size_t round = 0; round < kBudgetMaxBatches; ++round) {
    for (std::size_t i = 0; i < kBudgetAttackers; ++i) {
      if (pushed_back[i]) continue;
      std::vector<Message> batch;
      for (std::size_t q = 0; q < kBudgetBatch; ++q)
        batch.push_back(raw_query(*attackers[i], "Bulk", Json{{"padding", kBudgetReplyPadding}}));
      if (!attackers[i]->write(testing::frames_of(batch), 200ms)) {
        pushed_back[i] = true;
      }
    }
    // While the attackers' replies pile up, the well-behaved peer is served.
    EXPECT_TRUE(gets_correct_answers(*resident, id)) << "after round " << round;
    EXPECT_LE(server->stats().memory_in_use_bytes, kBudget + (kBudgetAttackers + 1) * kBudgetReplyFrame) << "round " << round;
  }

  // Stalled past their deadline (or over their share when the budget was spent), the
  // attackers are closed, and what they made the node hold is released.
  EXPECT_TRUE(testing::eventually([&] { return server->stats().open_connections == 1; }, 30s))
      << server->stats().open_connections << " connections open";
  EXPECT_TRUE(testing::eventually([&] { return server->stats().memory_in_use_bytes < kBudgetReplyFrame; }));
  const auto stats = server->stats();
  EXPECT_GE(stats.connections_closed_over_budget, kBudgetAttackers);
  EXPECT_GE(stats.backpressure_pauses, 1u);
  RecordProperty("memory_peak_bytes", std::to_string(stats.memory_peak_bytes));
  RecordProperty("connections_closed_over_budget", std::to_string(stats.connections_closed_over_budget));
  RecordProperty("backpressure_pauses", std::to_string(stats.backpressure_pauses));
  EXPECT_GT(stats.memory_peak_bytes, kBudget / 2) << "the attack never filled the budget: it tests nothing";
  EXPECT_LE(stats.memory_peak_bytes, kBudget + (kBudgetAttackers + 1) * kBudgetReplyFrame)
      << "peers pushed the node past its budget";
  for (auto& attacker : attackers) EXPECT_TRUE(attacker->wait_closed(10s));
  EXPECT_TRUE(gets_correct_answers(*resident, id));
}

}  // namespace
}  // namespace datafold::net
