// Many requests in flight on one connection; deadlines; stop() with requests pending.
#include "datafold/net/network_core.hpp"

#include <future>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "support/gate.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::Gate;
using testing::introduce;
using testing::start_node;

TEST(InFlight, ThousandQueriesOnOneConnectionAnsweredOutOfOrder) {
  auto config = testing::loopback_config();
  config.handler_threads = 4;
  auto server = start_node(config);
  auto client = start_node();
  ASSERT_TRUE(server && client);
  Gate gate;
  // Every third query waits at the gate, so later queries overtake earlier ones.
  server->set_query_callback([waiter = gate.waiter()](Query q) {
    const int n = q.filter->at("n").get<int>();
    if (n % 3 == 0 && n < 12) waiter.wait();
    QueryResult r;
    r.results.push_back({"n", Json(n)});
    r.results.push_back({"square", Json(n * n)});
    return r;
  });
  introduce(*client, *server);
  ASSERT_TRUE(client->connect_to_node(server->local_node_id()));

  constexpr int kQueries = 1000;
  std::vector<std::future<NetworkResult<QueryResult>>> replies;
  replies.reserve(kQueries);
  for (int n = 0; n < kQueries; ++n) {
    replies.push_back(client->async_query_node(server->local_node_id(), Query{"Numbers", {"n", "square"}, "", 0, Json{{"n", n}}}));
  }
  // The gated ones (0, 3, 6, 9) hold 4 handler threads; answers to others need a free thread,
  // so open the gate once they are all waiting.
  ASSERT_TRUE(gate.wait_for_waiters(4));
  gate.open();
  for (int n = 0; n < kQueries; ++n) {
    auto r = replies[n].get();
    ASSERT_TRUE(r) << "query " << n << ": " << r.error().to_string();
    ASSERT_EQ(r->results.size(), 2u);
    EXPECT_EQ(r->find("n")->value(), Json(n));
    EXPECT_EQ(r->find("square")->value(), Json(n * n));
  }
  EXPECT_EQ(server->stats().open_connections, 1u);
  EXPECT_EQ(server->stats().requests_received, static_cast<std::uint64_t>(kQueries));
}

TEST(InFlight, OutOfOrderRepliesAreMatchedById) {
  auto server = start_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  Gate gate;
  server->set_query_callback([waiter = gate.waiter()](Query q) {
    if (q.schema_name == "slow") waiter.wait();
    QueryResult r;
    r.results.push_back({"schema", Json(q.schema_name)});
    return r;
  });
  introduce(*client, *server);
  auto slow = client->async_query_node(server->local_node_id(), Query{"slow", {}, "", 0, std::nullopt});
  ASSERT_TRUE(gate.wait_for_waiters(1));
  // The fast query is answered while the slow one is still in flight.
  auto fast = client->query_node(server->local_node_id(), Query{"fast", {}, "", 0, std::nullopt});
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->find("schema")->value(), Json("fast"));
  EXPECT_EQ(slow.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  gate.open();
  auto slow_reply = slow.get();
  ASSERT_TRUE(slow_reply);
  EXPECT_EQ(slow_reply->find("schema")->value(), Json("slow"));
}

// A client that gives up on a request after 300 ms, introduced to a server whose
// callback holds a query on schema "stall" at the gate and names the schema of any other.
struct StallingPair {
  Gate gate;
  std::unique_ptr<NetworkCore> server = start_node();
  std::unique_ptr<NetworkCore> client;

  StallingPair() {
    auto client_config = testing::loopback_config();
    client_config.request_timeout = std::chrono::milliseconds(300);
    client = start_node(client_config);
    if (!server || !client) return;
    server->set_query_callback([waiter = gate.waiter()](Query q) {
      if (q.schema_name == "stall") waiter.wait();
      QueryResult r;
      r.results.push_back({"schema", Json(q.schema_name)});
      return r;
    });
    introduce(*client, *server);
  }
  // A test that failed before opening the gate must not leave the server's handler
  // blocked in it: stopping the server would wait for that handler.
  ~StallingPair() { gate.open(); }
  NetworkResult<QueryResult> ask(const std::string& schema) {
    return client->query_node(server->local_node_id(), Query{schema, {}, "", 0, std::nullopt});
  }
};

TEST(InFlight, StalledCallbackGivesTimeoutAndTheLateReplyIsDropped) {
  StallingPair pair;
  ASSERT_TRUE(pair.server && pair.client);
  auto stalled = pair.ask("stall");
  ASSERT_FALSE(stalled);
  EXPECT_EQ(stalled.error().kind, ErrorKind::Timeout);
  EXPECT_EQ(stalled.error().code, ErrorCode::Timeout);
  // Let the stalled callback answer now: its reply arrives after the deadline and is
  // dropped; the connection goes on serving, and the next answer is the right one.
  pair.gate.open();
  auto next = pair.ask("next");
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(next->find("schema")->value(), Json("next"));
  EXPECT_EQ(pair.client->stats().open_connections, 1u);
}

// The deadline timer stays armed for the first request's deadline while later ones
// are sent; answered since, that request's deadline is stale. A request stalled after
// hundreds answered still ends at its own deadline.
TEST(InFlight, ARequestStalledAfterManyAnsweredStillTimesOut) {
  StallingPair pair;
  ASSERT_TRUE(pair.server && pair.client);
  for (int i = 0; i < 300; ++i) {
    auto answered = pair.ask("fast");
    ASSERT_TRUE(answered) << i << ": " << answered.error().to_string();
  }
  auto stalled = pair.ask("stall");
  pair.gate.open();
  ASSERT_FALSE(stalled);
  EXPECT_EQ(stalled.error().kind, ErrorKind::Timeout);
  auto next = pair.ask("next");
  ASSERT_TRUE(next) << next.error().to_string();
}

TEST(InFlight, StopCompletesEveryPendingRequest) {
  auto server = start_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  Gate gate;
  server->set_query_callback([waiter = gate.waiter()](Query) {
    waiter.wait();
    return QueryResult{};
  });
  introduce(*client, *server);
  ASSERT_TRUE(client->connect_to_node(server->local_node_id()));
  std::vector<std::future<NetworkResult<QueryResult>>> replies;
  for (int i = 0; i < 50; ++i)
    replies.push_back(client->async_query_node(server->local_node_id(), Query{"S", {}, "", 0, std::nullopt}));
  ASSERT_TRUE(gate.wait_for_waiters(2));  // the server's handler threads are busy with them
  ASSERT_TRUE(client->stop());
  for (auto& reply : replies) {
    ASSERT_EQ(reply.wait_for(std::chrono::seconds(0)), std::future_status::ready)
        << "stop() returned with a request still pending";
    auto r = reply.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::Connection);
  }
  // A call after stop() fails at once instead of waiting.
  auto late = client->query_node(server->local_node_id(), Query{"S", {}, "", 0, std::nullopt});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().kind, ErrorKind::Connection);
  gate.open();
}

TEST(InFlight, AsyncHandlerRunsOnHandlerPool) {
  auto server = start_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  server->set_query_callback([](Query) { return QueryResult{}; });
  introduce(*client, *server);
  std::promise<bool> blocking_call_worked;
  // A blocking call from inside an async handler must not deadlock: handlers do not
  // run on I/O threads.
  client->async_query_node(server->local_node_id(), Query{"S", {}, "", 0, std::nullopt},
                           [&](NetworkResult<QueryResult> r) {
                             auto again = client->query_node(server->local_node_id(), Query{"S", {}, "", 0, std::nullopt});
                             blocking_call_worked.set_value(r.ok() && again.ok());
                           });
  auto f = blocking_call_worked.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(f.get());
}

}  // namespace
}  // namespace datafold::net
