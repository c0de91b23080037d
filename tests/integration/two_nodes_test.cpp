// Two real nodes on loopback list each other's schemas and query each other.
#include "datafold/net/network_core.hpp"

#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "datafold/net/message.hpp"

#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::introduce;
using testing::start_node;

QueryResult answer_profile(const Query& query) {
  QueryResult result;
  for (const auto& field : query.fields) {
    if (field == "username") {
      result.results.push_back({field, Json("alice")});
    } else if (field == "age") {
      result.results.push_back({field, Json(42)});
    } else if (field == "email") {
      result.results.push_back({field, SchemaError{SchemaError::Kind::InvalidPermission, "needs distance 1"}});
    } else {
      result.results.push_back({field, SchemaError{SchemaError::Kind::InvalidField, "no field " + field}});
    }
  }
  return result;
}

TEST(TwoNodes, ListEachOthersSchemasAndQueryEachOther) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(a && b);
  a->set_schema_list_callback([] { return std::vector<SchemaInfo>{{"UserProfile", "1", "people"}}; });
  b->set_schema_list_callback([] { return std::vector<SchemaInfo>{{"Orders", "3", std::nullopt}, {"Items", "1", std::nullopt}}; });
  a->set_query_callback([](Query q) { return answer_profile(q); });
  b->set_query_callback([](Query q) {
    QueryResult r;
    for (const auto& f : q.fields) r.results.push_back({f, Json::array({f, q.schema_name})});
    return r;
  });
  introduce(*a, *b);
  introduce(*b, *a);

  auto b_schemas = a->list_available_schemas(b->local_node_id());
  ASSERT_TRUE(b_schemas) << b_schemas.error().to_string();
  ASSERT_EQ(b_schemas->size(), 2u);
  EXPECT_EQ((*b_schemas)[0].name, "Orders");
  EXPECT_EQ((*b_schemas)[0].version, "3");
  EXPECT_FALSE((*b_schemas)[0].description);

  auto a_schemas = b->list_available_schemas(a->local_node_id());
  ASSERT_TRUE(a_schemas) << a_schemas.error().to_string();
  ASSERT_EQ(a_schemas->size(), 1u);
  EXPECT_EQ((*a_schemas)[0], (SchemaInfo{"UserProfile", "1", "people"}));

  Query q{"UserProfile", {"username", "email", "age", "nope"}, "", 0, std::nullopt};
  auto result = b->query_node(a->local_node_id(), q);
  ASSERT_TRUE(result) << result.error().to_string();
  ASSERT_EQ(result->results.size(), 4u);
  EXPECT_EQ(result->results[0].field, "username");
  EXPECT_EQ(result->results[0].value(), Json("alice"));
  EXPECT_EQ(result->results[1].field, "email");
  EXPECT_EQ(result->results[1].error().kind, SchemaError::Kind::InvalidPermission);
  EXPECT_EQ(result->results[2].value(), Json(42));
  EXPECT_EQ(result->results[3].error().kind, SchemaError::Kind::InvalidField);

  auto other_way = a->query_node(b->local_node_id(), Query{"Orders", {"x", "y"}, "", 0, Json{{"id", 7}}});
  ASSERT_TRUE(other_way) << other_way.error().to_string();
  EXPECT_EQ(other_way->find("y")->value(), Json::array({"y", "Orders"}));

  // Each node counted what it answered and timed what it asked.
  EXPECT_EQ(a->stats().queries_answered, 1u);
  EXPECT_EQ(a->stats().schema_listings_answered, 1u);
  EXPECT_EQ(b->stats().request_latency_count, 2u);  // one listing, one query
  EXPECT_EQ(b->stats().request_latency_buckets.back(), 2u);

  // Both directions share one pooled connection.
  EXPECT_EQ(a->connected_nodes().count(b->local_node_id()), 1u);
  EXPECT_EQ(a->stats().open_connections, 1u);
  EXPECT_EQ(b->stats().open_connections, 1u);
}

TEST(TwoNodes, ServerSeesVerifiedKeyNotTheClaim) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(a && b);
  std::promise<std::pair<Query, RequestContext>> seen;
  a->set_query_callback([&](Query q, const RequestContext& ctx) {
    seen.set_value({q, ctx});
    return QueryResult{};
  });
  introduce(*b, *a);
  // The client claims distance 0 and someone else's key: the server writes what it verified.
  auto r = b->query_node(a->local_node_id(), Query{"S", {}, a->public_key().to_string(), 0, std::nullopt});
  ASSERT_TRUE(r) << r.error().to_string();
  auto [query, ctx] = seen.get_future().get();
  EXPECT_EQ(query.pub_key, b->public_key().to_string());
  EXPECT_EQ(ctx.node_id, b->local_node_id());
  EXPECT_EQ(ctx.public_key, b->public_key());
  EXPECT_EQ(query.trust_distance, NetworkConfig{}.unknown_trust_distance);
}

TEST(TwoNodes, KnownNodesDescribeThePeer) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(a && b);
  introduce(*a, *b);
  ASSERT_TRUE(a->connect_to_node(b->local_node_id()));
  auto known = a->known_nodes();
  ASSERT_EQ(known.count(b->local_node_id()), 1u);
  const auto& info = known.at(b->local_node_id());
  EXPECT_EQ(info.public_key, b->public_key());
  EXPECT_EQ(info.protocol_version, kMaxProtocolVersion);
  EXPECT_EQ(info.health, NodeHealth::Healthy);
  EXPECT_TRUE(info.capabilities.supports_query);
  // b learned a's listening address from the Hello, without being told.
  ASSERT_TRUE(testing::eventually([&] { return b->known_nodes().count(a->local_node_id()) == 1; }));
  EXPECT_EQ(b->known_nodes().at(a->local_node_id()).address, testing::address_of(*a));
}

TEST(TwoNodes, UnknownNodeIsADiscoveryError) {
  auto a = start_node();
  ASSERT_TRUE(a);
  auto other = Identity::generate();
  auto r = a->query_node(other->node_id(), Query{"S", {"f"}, "", 0, std::nullopt});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Discovery);
}

TEST(TwoNodes, ConnectToAddressLearnsTheId) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(a && b);
  auto id = a->connect_to_address(testing::address_of(*b));
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(*id, b->local_node_id());
  // b set no query callback: the peer says so, with the request's own error code.
  auto r = a->query_node(b->local_node_id(), Query{"S", {"f"}, "", 0, std::nullopt});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::QueryFailed);
}

TEST(TwoNodes, SimultaneousDialsEndWithOneConnection) {
  for (int round = 0; round < 5; ++round) {
    auto a = start_node();
    auto b = start_node();
    ASSERT_TRUE(a && b);
    a->set_query_callback([](Query) { return QueryResult{}; });
    b->set_query_callback([](Query) { return QueryResult{}; });
    introduce(*a, *b);
    introduce(*b, *a);
    auto from_a = std::async(std::launch::async, [&] { return a->query_node(b->local_node_id(), Query{"S", {}, "", 0, std::nullopt}); });
    auto from_b = std::async(std::launch::async, [&] { return b->query_node(a->local_node_id(), Query{"S", {}, "", 0, std::nullopt}); });
    auto ra = from_a.get();
    auto rb = from_b.get();
    EXPECT_TRUE(ra) << ra.error().to_string();
    EXPECT_TRUE(rb) << rb.error().to_string();
    // Any duplicate is retired once it has nothing in flight.
    EXPECT_TRUE(testing::eventually([&] {
      return a->stats().open_connections == 1 && b->stats().open_connections == 1;
    })) << "round " << round << ": a has " << a->stats().open_connections << ", b has "
        << b->stats().open_connections;
    EXPECT_TRUE(a->query_node(b->local_node_id(), Query{"S", {}, "", 0, std::nullopt}));
    EXPECT_TRUE(b->query_node(a->local_node_id(), Query{"S", {}, "", 0, std::nullopt}));
  }
}

TEST(TwoNodes, QueryingItselfRunsLocally) {
  auto a = start_node();
  ASSERT_TRUE(a);
  a->set_query_callback([](Query q, const RequestContext& ctx) {
    QueryResult r;
    r.results.push_back({"distance", Json(ctx.trust_distance)});
    r.results.push_back({"schema", Json(q.schema_name)});
    return r;
  });
  auto r = a->query_node(a->local_node_id(), Query{"Mine", {}, "", 5, std::nullopt});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->find("distance")->value(), Json(0));
}

TEST(TwoNodes, MismatchedIdentityIsAConfigError) {
  auto config = testing::loopback_config();
  config.identity = *Identity::generate();
  auto other = Identity::generate();
  auto core = NetworkCore::create(config, other->node_id(), std::nullopt);
  ASSERT_FALSE(core);
  EXPECT_EQ(core.error().kind, ErrorKind::Config);
  auto wrong_key = NetworkCore::create(config, NodeId{}, other->public_key().to_string());
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().kind, ErrorKind::Config);
  EXPECT_TRUE(NetworkCore::create(config, config.identity->node_id(), config.identity->public_key().to_string()));
}

}  // namespace
}  // namespace datafold::net
