// RunOn::IoThread: a query callback and a completion handler that declare they never
// block run on the node's I/O thread, with no hand-off to the handler pool. What a
// user notices: the answers are the same, a blocking call made there is refused
// (it would deadlock), and an error found as a query is issued still reaches the
// handler only after async_query_node has returned.
#include "datafold/net/network_core.hpp"

#include <chrono>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::introduce;
using testing::start_node;

Query name_and_age_query() {
  Query query;
  query.schema_name = "Anything";
  query.fields = {"name", "age"};
  return query;
}

// What a blocking call of `node` says when made where the callback runs.
std::string blocking_call_refusal(NetworkCore& node, const NodeId& peer) {
  auto listed = node.list_available_schemas(peer);
  return listed ? std::string("the blocking call ran") : listed.error().to_string();
}

TEST(RunOnIoThread, AQueryCallbackOnTheIoThreadAnswersAndABlockingCallThereIsRefused) {
  auto server = start_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  std::promise<std::string> refusal;
  auto said = refusal.get_future();
  bool first = true;  // the callback runs on the server's one I/O thread at a time
  server->set_query_callback(
      [&, client_id = client->local_node_id()](Query query) {
        if (std::exchange(first, false)) refusal.set_value(blocking_call_refusal(*server, client_id));
        QueryResult result;
        for (auto& field : query.fields) result.results.push_back({field, Json("value of " + field)});
        return result;
      },
      RunOn::IoThread);
  introduce(*client, *server);

  for (int i = 0; i < 3; ++i) {
    auto answer = client->query_node(server->local_node_id(), name_and_age_query());
    ASSERT_TRUE(answer.ok()) << answer.error().to_string();
    ASSERT_EQ(answer->results.size(), 2u);
    EXPECT_EQ(std::get<Json>(answer->results[0].outcome), Json("value of name"));
    EXPECT_EQ(std::get<Json>(answer->results[1].outcome), Json("value of age"));
  }
  ASSERT_EQ(said.wait_for(10s), std::future_status::ready);
  EXPECT_NE(said.get().find("I/O thread"), std::string::npos);
}

TEST(RunOnIoThread, ACompletionOnTheIoThreadGetsTheAnswerAndABlockingCallThereIsRefused) {
  auto server = start_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  server->set_query_callback([](Query query) {
    QueryResult result;
    for (auto& field : query.fields) result.results.push_back({field, Json(field)});
    return result;
  });
  introduce(*client, *server);

  std::promise<std::pair<NetworkResult<QueryResult>, std::string>> done;
  auto outcome = done.get_future();
  client->async_query_node(
      server->local_node_id(), name_and_age_query(),
      [&](NetworkResult<QueryResult> answer) {
        done.set_value({std::move(answer), blocking_call_refusal(*client, server->local_node_id())});
      },
      RunOn::IoThread);
  ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready);
  auto [answer, refusal] = outcome.get();
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(std::get<Json>(answer->results[0].outcome), Json("name"));
  EXPECT_NE(refusal.find("I/O thread"), std::string::npos) << refusal;
}

// Answered as it is read, a query still keeps to the per-peer rate (served late, not
// refused), and the node counts what it answered.
TEST(RunOnIoThread, AQueryCallbackOnTheIoThreadKeepsThePeersRateAndIsCounted) {
  auto server_config = testing::loopback_config();
  server_config.max_requests_per_second_per_peer = 100;
  server_config.request_burst_per_peer = 5;
  auto server = start_node(server_config);
  auto client = start_node();
  ASSERT_TRUE(server && client);
  server->set_query_callback(
      [](Query query) {
        QueryResult result;
        for (auto& field : query.fields) result.results.push_back({field, Json(field)});
        return result;
      },
      RunOn::IoThread);
  introduce(*client, *server);

  constexpr int kQueries = 40;  // 35 past the burst: a third of a second of the rate
  std::vector<std::future<NetworkResult<QueryResult>>> answers;
  for (int i = 0; i < kQueries; ++i) answers.push_back(client->async_query_node(server->local_node_id(), name_and_age_query()));
  for (auto& answer : answers) {
    ASSERT_EQ(answer.wait_for(20s), std::future_status::ready);
    auto got = answer.get();
    EXPECT_TRUE(got.ok()) << got.error().to_string();
  }
  const auto stats = server->stats();
  EXPECT_EQ(stats.queries_answered, std::uint64_t{kQueries});
  EXPECT_GE(stats.requests_rate_limited, 1u);
}

// A handler that issues the next query from an error would recurse without end if an
// error found at once were handed to it inside the call.
TEST(RunOnIoThread, AnErrorFoundAsTheQueryIsIssuedReachesTheHandlerAfterTheCallReturns) {
  auto client = start_node();
  ASSERT_TRUE(client);
  const std::vector<std::uint8_t> some_key(32, 7);
  const NodeId stranger = NodeId::from_public_key(some_key);  // known to no one
  std::promise<void> returned;
  auto call_returned = returned.get_future().share();
  std::promise<std::pair<bool, NetworkResult<QueryResult>>> handled;
  auto outcome = handled.get_future();
  client->async_query_node(
      stranger, name_and_age_query(),
      [&, call_returned](NetworkResult<QueryResult> answer) {
        // Inline, this would wait for a call that cannot return until it does.
        const bool after = call_returned.wait_for(5s) == std::future_status::ready;
        handled.set_value({after, std::move(answer)});
      },
      RunOn::IoThread);
  returned.set_value();
  ASSERT_EQ(outcome.wait_for(15s), std::future_status::ready);
  auto [after, answer] = outcome.get();
  EXPECT_TRUE(after) << "the handler ran inside async_query_node";
  EXPECT_FALSE(answer.ok());
}

}  // namespace
}  // namespace datafold::net
