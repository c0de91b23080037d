// A node answers a peer's waiting requests a turn at a time, inside the application's
// TurnScope (a store's read transaction): requests that wait together share one turn,
// and every request is answered whatever the scope does. Two real nodes on loopback.
#include "datafold/net/network_core.hpp"

#include <atomic>
#include <future>
#include <mutex>
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
