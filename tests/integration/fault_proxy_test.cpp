// Queries and schema listings through a fault-injecting proxy: every fault ends in
// the error a user should see, at the right time, without a hang; afterwards
// nothing of the broken connection is left (client, proxy, server), the client is
// answered again once the network heals, and the server serves others throughout.
#include "datafold/net/network_core.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/fault_proxy.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::FaultProxy;
using Direction = FaultProxy::Direction;
using Clock = std::chrono::steady_clock;

// Longer than any request here may take before we call it a hang; shorter than
// the request deadline of the clients whose requests must fail "at once".
constexpr auto kNoHang = 30s;
// After a connection fails, the client redials in the background after this
// (±50 %): far longer than the leak checks take, so they see the broken
// connection gone rather than racing a new one.
constexpr auto kRedialDelay = 2s;
// Enough for pings to notice a silent link, or for a backoff to run out.
constexpr auto kSettle = 20s;

// A client for faults that end in silence: a short request deadline, and pings
// that notice the dead link soon after and close it.
NetworkConfig silent_link_client() {
  auto config = testing::loopback_config();
  config.request_timeout = 500ms;
  config.handshake_timeout = 500ms;
  config.ping_interval = 250ms;
  config.redial_initial_delay = kRedialDelay;
  return config;
}

// A client for faults that break the link: its requests must fail when the link
// does, long before this deadline.
NetworkConfig broken_link_client() {
  auto config = testing::loopback_config();
  config.request_timeout = 60s;
  config.redial_initial_delay = kRedialDelay;
  return config;
}

enum class Ask { Query, SchemaListing };

const char* name_of(Ask what) { return what == Ask::Query ? "Query" : "SchemaListing"; }
void PrintTo(Ask what, std::ostream* out) { *out << name_of(what); }

// What a request came back with: the answer as text (so a wrong value shows), or the error.
using Answer = NetworkResult<std::string>;

const Query kQuery{"Profile", {"name", "age"}, "", 0, std::nullopt};
const std::vector<SchemaInfo> kSchemas{{"Profile", "2", "people"}, {"Orders", "1", std::nullopt}};

std::string render(const QueryResult& result) {
  std::string text;
  for (const auto& field : result.results) text += field.field + "=" + (field.ok() ? field.value().dump() : "?") + " ";
  return text;
}

std::string render(const std::vector<SchemaInfo>& schemas) {
  std::string text;
  for (const auto& schema : schemas) text += schema.name + "/" + schema.version + " ";
  return text;
}

std::string expected_answer(Ask what) {
  return what == Ask::Query ? "name=\"alice\" age=42 " : "Profile/2 Orders/1 ";
}

void serve(NetworkCore& server) {
  server.set_query_callback([](Query query) {
    QueryResult result;
    for (const auto& field : query.fields)
      result.results.push_back({field, field == "name" ? Json("alice") : Json(42)});
    return result;
  });
  server.set_schema_list_callback([] { return kSchemas; });
}

std::future<Answer> ask(NetworkCore& client, const NodeId& server, Ask what) {
  auto promise = std::make_shared<std::promise<Answer>>();
  auto answer = promise->get_future();
  if (what == Ask::Query) {
    client.async_query_node(server, kQuery, [promise](NetworkResult<QueryResult> r) {
      promise->set_value(r ? Answer(render(*r)) : Answer(std::move(r).error()));
    });
  } else {
    client.async_list_available_schemas(server, [promise](NetworkResult<std::vector<SchemaInfo>> r) {
      promise->set_value(r ? Answer(render(*r)) : Answer(std::move(r).error()));
    });
  }
  return answer;
}

// The outcome, or nullopt if there was none within kNoHang.
std::optional<Answer> await(std::future<Answer>& answer) {
  if (answer.wait_for(kNoHang) != std::future_status::ready) return std::nullopt;
  return answer.get();
}

std::string describe(const std::optional<Answer>& answer) {
  if (!answer) return "no answer: the request hung";
  return *answer ? "answer: " + answer->value() : "error: " + answer->error().to_string();
}

const char* name_of(Direction direction) { return direction == Direction::ToServer ? "to server" : "to client"; }

// Client -> proxy -> server. The client knows the server's id and key, but only
// the proxy's address, so every dial goes through the proxy and still proves the
// server's identity.
class FaultProxyTest : public ::testing::TestWithParam<Ask> {
 protected:
  void start(NetworkConfig client_config) {
    server_ = testing::start_node();
    ASSERT_TRUE(server_);
    serve(*server_);
    proxy_ = FaultProxy::start(testing::address_of(*server_));
    ASSERT_TRUE(proxy_);
    // Dial out only: otherwise the server, having lost it, would redial the client
    // directly and the next requests would bypass the proxy.
    client_config.accept_connections = false;
    client_ = testing::start_node(std::move(client_config));
    ASSERT_TRUE(client_);
    NodeInfo info;
    info.node_id = server_->local_node_id();
    info.public_key = server_->public_key();
    info.address = proxy_->address();
    client_->add_known_node(info);
  }

  std::future<Answer> ask_server() { return ask(*client_, server_->local_node_id(), GetParam()); }

  std::optional<Answer> ask_and_wait() {
    auto answer = ask_server();
    return await(answer);
  }

  // Requests of this test's kind the server has answered.
  std::uint64_t server_answered() const {
    const auto stats = server_->stats();
    return GetParam() == Ask::Query ? stats.queries_answered : stats.schema_listings_answered;
  }

  // Opens the connection the next fault will hit, with a request that must succeed.
  void connect_through_proxy() {
    const auto answer = ask_and_wait();
    ASSERT_TRUE(answer && *answer) << describe(answer);
    ASSERT_EQ(answer->value(), expected_answer(GetParam()));
  }

  // A fault that ends in silence: the request fails with Timeout when `deadline`
  // (the request's or the handshake's) has passed, not before.
  void expect_timeout_after(std::chrono::milliseconds deadline) {
    const auto sent = Clock::now();
    const auto answer = ask_and_wait();
    ASSERT_TRUE(answer && !*answer) << describe(answer);
    EXPECT_EQ(answer->error().kind, ErrorKind::Timeout) << describe(answer);
    EXPECT_EQ(answer->error().code, ErrorCode::Timeout) << describe(answer);
    EXPECT_GE(Clock::now() - sent, deadline);
  }

  // A fault that breaks the link: the request fails with a Connection error, long
  // before its 60 s deadline, and never with a garbled answer.
  void expect_connection_error() {
    const auto answer = ask_and_wait();
    ASSERT_TRUE(answer && !*answer) << describe(answer);
    EXPECT_EQ(answer->error().kind, ErrorKind::Connection) << describe(answer);
  }

  // The broken connection is gone from the client, and no request is left waiting.
  void expect_client_clean() {
    EXPECT_TRUE(eventually([&] { return client_->stats().open_connections == 0; }, kSettle))
        << client_->stats().open_connections << " connections still open";
    EXPECT_EQ(client_->stats().requests_pending, 0u);
  }

  // Once the network heals: nothing left in the proxy or on the server, the client
  // is answered again on a new connection, and a client that reaches the server
  // directly is answered as ever.
  void expect_recovery() {
    proxy_->clear();
    EXPECT_TRUE(eventually([&] { return proxy_->open_connections() == 0; }, kSettle))
        << proxy_->open_connections() << " proxied connections still open";
    EXPECT_TRUE(eventually([&] { return server_->stats().open_connections == 0; }, kSettle))
        << server_->stats().open_connections << " connections still open on the server";

    const auto dialled = client_->stats().outbound_dialled;
    // Until its redial backoff runs out the client fails fast, as documented; a
    // user asks again, and so does this.
    std::optional<Answer> answer;
    EXPECT_TRUE(eventually(
        [&] {
          answer = ask_and_wait();
          return answer && *answer;
        },
        kSettle))
        << describe(answer);
    if (answer && *answer) {
      EXPECT_EQ(answer->value(), expected_answer(GetParam()));
    }
    EXPECT_GT(client_->stats().outbound_dialled, dialled);

    auto bystander = testing::start_node();
    ASSERT_TRUE(bystander);
    testing::introduce(*bystander, *server_);
    auto direct = ask(*bystander, server_->local_node_id(), GetParam());
    const auto direct_answer = await(direct);
    ASSERT_TRUE(direct_answer && *direct_answer) << describe(direct_answer);
    EXPECT_EQ(direct_answer->value(), expected_answer(GetParam()));
  }

  // Declared first, destroyed last: the nodes stop before the proxy goes.
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<NetworkCore> server_;
  std::unique_ptr<NetworkCore> client_;
};

TEST_P(FaultProxyTest, DelayedLinkStillGivesRightAnswers) {
  ASSERT_NO_FATAL_FAILURE(start(broken_link_client()));
  proxy_->delay(Direction::Both, 50ms);  // the handshake goes through it too

  std::vector<std::future<Answer>> answers;
  for (int i = 0; i < 4; ++i) answers.push_back(ask_server());
  for (auto& answer : answers) {
    const auto outcome = await(answer);
    ASSERT_TRUE(outcome && *outcome) << describe(outcome);
    EXPECT_EQ(outcome->value(), expected_answer(GetParam()));
  }
  EXPECT_EQ(proxy_->accepted_connections(), 1u);  // all on one connection
  EXPECT_EQ(client_->stats().requests_failed, 0u);
  EXPECT_EQ(client_->stats().requests_pending, 0u);
}

TEST_P(FaultProxyTest, StallAfterHandshakeTimesOutAtTheRequestDeadline) {
  const auto config = silent_link_client();
  ASSERT_NO_FATAL_FAILURE(start(config));
  ASSERT_NO_FATAL_FAILURE(connect_through_proxy());
  proxy_->stall(Direction::Both);

  ASSERT_NO_FATAL_FAILURE(expect_timeout_after(config.request_timeout));
  expect_client_clean();  // its pings went unanswered, so it closed the link
  expect_recovery();
}

TEST_P(FaultProxyTest, StallDuringHandshakeFailsTheDialAtTheHandshakeDeadline) {
  const auto config = silent_link_client();
  ASSERT_NO_FATAL_FAILURE(start(config));
  proxy_->stall(Direction::Both);

  ASSERT_NO_FATAL_FAILURE(expect_timeout_after(config.handshake_timeout));
  EXPECT_EQ(client_->stats().handshake_failures, 1u);
  expect_client_clean();
  expect_recovery();
}

TEST_P(FaultProxyTest, CutFailsEveryPendingRequestAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start(broken_link_client()));
  ASSERT_NO_FATAL_FAILURE(connect_through_proxy());
  // Replies are held back, so the requests stay pending once the server has answered them.
  proxy_->stall(Direction::ToClient);
  constexpr int kPending = 8;
  const auto answered_before = server_answered();
  std::vector<std::future<Answer>> answers;
  for (int i = 0; i < kPending; ++i) answers.push_back(ask_server());
  ASSERT_TRUE(eventually([&] { return server_answered() == answered_before + kPending; }, kSettle));
  EXPECT_EQ(client_->stats().requests_pending, static_cast<std::uint64_t>(kPending));

  proxy_->cut();
  for (auto& answer : answers) {
    const auto outcome = await(answer);
    ASSERT_TRUE(outcome && !*outcome) << describe(outcome);
    EXPECT_EQ(outcome->error().kind, ErrorKind::Connection) << describe(outcome);
  }
  expect_client_clean();
  expect_recovery();
}

TEST_P(FaultProxyTest, CutMidFrameFailsTheRequestWithAConnectionError) {
  ASSERT_NO_FATAL_FAILURE(start(broken_link_client()));
  ASSERT_NO_FATAL_FAILURE(connect_through_proxy());
  for (const auto direction : {Direction::ToClient, Direction::ToServer}) {
    SCOPED_TRACE(name_of(direction));
    // Three bytes: inside the 5-byte header of the TLS record that carries the message.
    proxy_->cut_after(direction, 3);
    ASSERT_NO_FATAL_FAILURE(expect_connection_error());
    expect_client_clean();
    ASSERT_NO_FATAL_FAILURE(expect_recovery());  // leaves a connection up for the next round
  }
}

TEST_P(FaultProxyTest, TruncatedStreamTimesOutAtTheRequestDeadline) {
  const auto config = silent_link_client();
  ASSERT_NO_FATAL_FAILURE(start(config));
  ASSERT_NO_FATAL_FAILURE(connect_through_proxy());
  for (const auto direction : {Direction::ToClient, Direction::ToServer}) {
    SCOPED_TRACE(name_of(direction));
    proxy_->truncate_after(direction, 3);  // the peer waits on half a record, forever
    ASSERT_NO_FATAL_FAILURE(expect_timeout_after(config.request_timeout));
    expect_client_clean();
    ASSERT_NO_FATAL_FAILURE(expect_recovery());
  }
}

TEST_P(FaultProxyTest, FlippedBitsAreCaughtByTls) {
  ASSERT_NO_FATAL_FAILURE(start(broken_link_client()));
  ASSERT_NO_FATAL_FAILURE(connect_through_proxy());
  for (const auto direction : {Direction::ToClient, Direction::ToServer}) {
    SCOPED_TRACE(name_of(direction));
    // Inside the encrypted body of the next record: the AEAD tag no longer matches.
    proxy_->flip_byte_at(direction, 10);
    ASSERT_NO_FATAL_FAILURE(expect_connection_error());
    expect_client_clean();
    ASSERT_NO_FATAL_FAILURE(expect_recovery());
  }
  // Corruption that keeps coming, as from a faulty NIC: every 16th byte, so every
  // record (at least 22 bytes) is hit, whichever way it goes.
  proxy_->flip_every(Direction::Both, 16);
  ASSERT_NO_FATAL_FAILURE(expect_connection_error());
  expect_client_clean();
  expect_recovery();
}

INSTANTIATE_TEST_SUITE_P(QueriesAndSchemaListings, FaultProxyTest,
                         ::testing::Values(Ask::Query, Ask::SchemaListing),
                         [](const ::testing::TestParamInfo<Ask>& info) { return name_of(info.param); });

}  // namespace
}  // namespace datafold::net
