// A node answers a peer's waiting requests a turn at a time, inside the application's
// TurnScope (a store's read transaction): requests that wait together share one turn,
// and every request is answered whatever the scope does. Two real nodes on loopback.
#include "datafold/net/network_core.hpp"

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::eventually;
using testing::introduce;
using testing::start_node;

constexpr int kQueries = 17;  // one turn's cap (16) and one more

thread_local bool t_in_scope = false;

class TurnScopes : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = testing::loopback_config();
    config.handler_threads = 1;
    config.max_requests_per_second_per_peer = 0;  // the burst below is not what is tested
    server_ = start_node(config);
    client_ = start_node();
    ASSERT_TRUE(server_ && client_);
    introduce(*client_, *server_);
    // Each answer says whether it was made inside a scope.
    server_->set_page_callback([this](const Query& query, const PageRequest&, const RequestContext&) {
      answered_++;
      if (!t_in_scope) answered_outside_++;
      QueryPage page;
      page.result.results.push_back(FieldResult{query.fields.at(0), Json(t_in_scope)});
      return page;
    });
  }

  // Sends kQueries queries at once; the answers, in the order sent.
  std::vector<NetworkResult<QueryResult>> ask_all() {
    std::vector<std::future<NetworkResult<QueryResult>>> pending;
    for (int i = 0; i < kQueries; ++i)
      pending.push_back(client_->async_query_node(server_->local_node_id(), Query{"S", {"f"}, "", 0, std::nullopt}));
    std::vector<NetworkResult<QueryResult>> answers;
    for (auto& answer : pending) answers.push_back(answer.get());
    return answers;
  }

  std::unique_ptr<NetworkCore> server_;
  std::unique_ptr<NetworkCore> client_;
  std::atomic<int> answered_{0};
  std::atomic<int> answered_outside_{0};
};

TEST_F(TurnScopes, RequestsWaitingTogetherAreAnsweredInOneTurnInsideTheScope) {
  std::atomic<int> turns{0};
  server_->set_turn_scope([&](const std::function<void()>& answer) {
    // The first turn holds the handler thread until every query has arrived, so the
    // rest wait together for the next turn.
    if (turns++ == 0)
      (void)eventually([&] { return server_->stats().requests_received >= kQueries; });
    t_in_scope = true;
    answer();
    t_in_scope = false;
  });
  // A connection first, so the queries go out together.
  ASSERT_TRUE(client_->connect_to_node(server_->local_node_id()));

  const auto answers = ask_all();
  for (const auto& answer : answers) {
    ASSERT_TRUE(answer) << answer.error().to_string();
    EXPECT_EQ(answer->find("f")->value(), Json(true)) << "answered inside the scope";
  }
  EXPECT_EQ(answered_outside_.load(), 0);
  // The first turn took one query; the 16 that waited meanwhile take one more (the
  // last to arrive may just miss it and take a third).
  EXPECT_LE(turns.load(), 3) << kQueries << " queries that waited together took " << turns.load() << " turns";
}

// Two peers whose requests wait together: their turns share the next scope (a store's
// one transaction for both), and each peer's replies leave when its own turn ends, not
// when the scope does, so one peer's answers never wait for another's turn.
TEST_F(TurnScopes, PeersWaitingTogetherShareAScopeAndEachPeersRepliesLeaveWithItsTurn) {
  constexpr int kEach = 8;
  auto other_client = start_node();
  ASSERT_TRUE(other_client);
  introduce(*other_client, *server_);
  const NodeId first_peer = client_->local_node_id();
  const NodeId second_peer = other_client->local_node_id();

  std::atomic<int> scopes{0};
  std::atomic<bool> holding{false};
  thread_local int t_scope = 0;
  server_->set_turn_scope([&](const std::function<void()>& answer) {
    t_scope = ++scopes;
    // The first scope (the opener alone) holds the handler thread until both peers'
    // queries wait behind it.
    if (t_scope == 1) {
      holding = true;
      (void)eventually([&] { return server_->stats().requests_received >= 1 + 2 * kEach; });
    }
    answer();
    t_scope = 0;
  });

  // Per peer: queries answered (on the server) and answers received (by the peer).
  std::mutex mutex;
  std::map<NodeId, std::set<int>> scopes_of;  // which scopes answered each peer
  std::map<std::pair<int, NodeId>, int> answered_in;  // by scope and peer
  std::atomic<int> answered_first{0}, answered_second{0}, received_first{0}, received_second{0};
  std::atomic<int> waits{0}, waits_met{0};
  server_->set_page_callback([&](const Query& query, const PageRequest&, const RequestContext& requester) {
    const bool first = requester.node_id == first_peer;
    const NodeId other = first ? second_peer : first_peer;
    bool other_went_before = false;
    {
      std::lock_guard lock(mutex);
      scopes_of[requester.node_id].insert(t_scope);
      if (answered_in[{t_scope, requester.node_id}]++ == 0) {
        // This peer's turn begins: any turn of the other before it in this scope is over.
        other_went_before = t_scope > 1 && answered_in[{t_scope, other}] > 0;
      }
    }
    if (other_went_before) {
      // Its replies left when its turn ended: it gets them while this scope is open.
      waits++;
      if (eventually([&] {
            return first ? received_second.load() >= answered_second.load()
                         : received_first.load() >= answered_first.load();
          }))
        waits_met++;
    }
    (first ? answered_first : answered_second)++;
    QueryPage page;
    page.result.results.push_back(FieldResult{query.fields.at(0), Json(t_scope)});
    return page;
  });
  ASSERT_TRUE(client_->connect_to_node(server_->local_node_id()));
  ASSERT_TRUE(other_client->connect_to_node(server_->local_node_id()));

  const Query query{"S", {"f"}, "", 0, std::nullopt};
  std::atomic<int> failed{0};
  const auto ask = [&](NetworkCore& client, std::atomic<int>& received) {
    client.async_query_node(server_->local_node_id(), query,
                            [&failed, counter = &received](NetworkResult<QueryResult> result) {
                              if (!result) failed++;
                              ++*counter;
                            });
  };
  ask(*client_, received_first);  // the opener
  ASSERT_TRUE(eventually([&] { return holding.load(); }));
  for (int i = 0; i < kEach; ++i) {
    ask(*client_, received_first);
    ask(*other_client, received_second);
  }
  ASSERT_TRUE(eventually([&] { return received_first.load() == 1 + kEach && received_second.load() == kEach; }))
      << received_first.load() << " and " << received_second.load() << " answers received";
  EXPECT_EQ(failed.load(), 0);

  std::lock_guard lock(mutex);
  std::vector<int> shared;
  for (const int scope : scopes_of[first_peer])
    if (scope > 1 && scopes_of[second_peer].count(scope) > 0) shared.push_back(scope);
  EXPECT_FALSE(shared.empty()) << "the peers' waiting turns were answered in scopes of their own";
  EXPECT_GE(waits.load(), 1) << "no turn followed the other peer's in a shared scope";
  EXPECT_EQ(waits_met.load(), waits.load()) << "a peer's replies waited for the end of the scope";
}

TEST_F(TurnScopes, EveryRequestIsAnsweredWhenTheScopeThrowsOrForgetsToAnswer) {
  std::atomic<int> turns{0};
  server_->set_turn_scope([&](const std::function<void()>& answer) {
    switch (turns++ % 3) {
      case 0: throw std::runtime_error("scope broke before answering");
      case 1: return;  // never calls answer
      default:
        answer();
        throw std::runtime_error("scope broke after answering");
    }
  });
  ASSERT_TRUE(client_->connect_to_node(server_->local_node_id()));

  const auto answers = ask_all();
  for (const auto& answer : answers) ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(answered_.load(), kQueries) << "each query answered once, none twice";
  EXPECT_GE(turns.load(), 1);
}

}  // namespace
}  // namespace datafold::net
