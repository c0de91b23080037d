// The node's memory budget (NetworkConfig::memory_budget_bytes, DESIGN.md section
// 10.5) under the attack that took a node from 15 MB to 772 MB: authenticated peers
// that pipeline queries for big replies and never read one. The node stops reading
// from each once it holds its share (TCP pushes back), closes those that stay so or
// hold more than their share when the budget is spent, and keeps serving a
// well-behaved peer; what peers make it hold never passes the budget by more than
// one reply per connection whose replies were flowing (see TlsConnection::enqueue_frame).
#include "datafold/net/network_core.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/gate.hpp"
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

constexpr std::size_t kBudget = 8u << 20;
constexpr std::size_t kShare = 1u << 20;  // each peer's: the floor (8 MiB / 128 connections is less)
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

// Requests the node is still answering hold their bytes against the peer's share. A
// peer whose big requests wait on a slow answer is read no further once they fill its
// share (TCP pushes back), rather than read without end into the handler pool's queue;
// the bytes are the node's to count while it holds them, and are let go once answered.
constexpr std::size_t kBigRequestPadding = 100 * 1024;
constexpr std::size_t kBigRequests = 40;  // 4 MB: four times the share
constexpr auto kStallTimeout = 300ms;

TEST(MemoryBudget, RequestsWaitingForTheirAnswerHoldTheirBytesAgainstThePeersShare) {
  auto config = testing::loopback_config();
  config.memory_budget_bytes = kBudget;
  config.max_requests_per_second_per_peer = 0;  // the share alone, not the rate, holds them
  config.backpressure_stall_timeout = kStallTimeout;
  auto server = testing::start_node(config);
  ASSERT_TRUE(server);
  testing::Gate gate;
  server->set_query_callback([waiter = gate.waiter()](Query q) {
    waiter.wait();
    QueryResult r;
    r.results.push_back({"schema", Json(q.schema_name)});
    return r;
  });
  RawTlsClient peer;
  ASSERT_TRUE(peer.connect(server->listen_port()));
  ASSERT_TRUE(peer.exchange_hello());
  std::vector<Message> requests;
  for (std::size_t i = 0; i < kBigRequests; ++i)
    requests.push_back(raw_query(peer, "Slow", Json{{"padding", std::string(kBigRequestPadding, 'x')}}));
  const std::string frames = testing::frames_of(requests);
  const std::size_t request_bytes = frames.size() / kBigRequests;
  // The kernel's buffers take what the node does not read, and the rest waits: the
  // write goes on in a thread of its own until the node reads again. (Given up at a
  // deadline, it would leave requests unsent, and their answers missing.)
  std::atomic<bool> all_written{false};
  std::thread writer([&] { all_written = peer.write(frames, 30s); });
  struct OpenAndJoin {
    testing::Gate& gate;
    std::thread& writer;
    ~OpenAndJoin() {
      gate.open();
      if (writer.joinable()) writer.join();
    }
  } open_and_join{gate, writer};

  ASSERT_TRUE(testing::eventually([&] { return server->stats().backpressure_pauses >= 1; }))
      << "the node read " << server->stats().requests_received << " requests of " << request_bytes
      << " bytes and never paused: requests being answered hold nothing";
  const auto held = server->stats();
  EXPECT_LE(held.requests_received, kShare / request_bytes + 2) << "read past the peer's share";
  EXPECT_GE(held.memory_in_use_bytes, held.requests_received * request_bytes)
      << held.requests_received << " requests waiting, " << held.memory_in_use_bytes << " bytes counted";

  // Held back by answers the node has yet to give, not by replies it will not read:
  // the peer is not closed as stalled, however long the answers take.
  EXPECT_FALSE(testing::eventually(
      [&] {
        const auto stats = server->stats();
        return stats.open_connections != 1 || stats.connections_closed_over_budget != 0;
      },
      3 * kStallTimeout))
      << "a peer waiting for its answers was closed";

  // Answered, the requests let go of their bytes, and the rest are read and answered.
  gate.open();
  writer.join();
  ASSERT_TRUE(all_written) << "the node read " << server->stats().requests_received << " of " << kBigRequests
                           << " requests";
  std::size_t answered = 0;
  while (answered < kBigRequests) {
    auto reply = peer.read_message(10s);
    ASSERT_TRUE(reply) << answered << " of " << kBigRequests << " answered";
    ASSERT_TRUE(std::holds_alternative<QueryResponseMessage>(*reply)) << answered;
    ++answered;
  }
  EXPECT_EQ(server->stats().requests_received, kBigRequests);
  EXPECT_TRUE(testing::eventually([&] { return server->stats().memory_in_use_bytes < request_bytes; }))
      << server->stats().memory_in_use_bytes << " bytes still counted";
}

// A connection keeps the write buffer a big reply grew for the next reply, but not
// against the peer: with the node's budget spent by a reply bigger than the peer's
// share, a peer that read it and asks again is answered, not closed as a peer over
// its share for a buffer that holds nothing of its.
constexpr std::size_t kLeastBudget = 1u << 20;  // the least allowed: one share
constexpr std::size_t kReplyPastTheShare = 1200 * 1024;

TEST(MemoryBudget, APeerThatReadsRepliesBiggerThanItsShareIsAnsweredAgainNotClosed) {
  auto config = testing::loopback_config();
  config.memory_budget_bytes = kLeastBudget;
  config.max_requests_per_second_per_peer = 0;
  auto server = testing::start_node(config);
  ASSERT_TRUE(server);
  testing::serve_known_answers(*server);
  RawTlsClient peer;
  ASSERT_TRUE(peer.connect(server->listen_port()));
  ASSERT_TRUE(peer.exchange_hello());
  for (int asked = 1; asked <= 3; ++asked) {
    const auto query = raw_query(peer, "Bulk", Json{{"padding", kReplyPastTheShare}});
    ASSERT_TRUE(peer.write(testing::frames_of({query}))) << "query " << asked;
    auto reply = peer.read_message(10s);
    ASSERT_TRUE(reply) << "no reply to query " << asked << " (closed over budget: "
                       << server->stats().connections_closed_over_budget << ")";
    ASSERT_TRUE(std::holds_alternative<QueryResponseMessage>(*reply)) << "query " << asked;
  }
  EXPECT_EQ(server->stats().connections_closed_over_budget, 0u);
  EXPECT_EQ(server->stats().open_connections, 1u);
  // Quiet, the connection lets go of the buffer too.
  EXPECT_TRUE(testing::eventually([&] { return server->stats().memory_in_use_bytes < kReplyPastTheShare / 4; }))
      << server->stats().memory_in_use_bytes << " bytes still counted";
}

}  // namespace
}  // namespace datafold::net
