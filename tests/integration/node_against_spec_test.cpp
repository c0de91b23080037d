// What an independent client, written from docs/PROTOCOL.md alone, sees a node do: the
// ALPN refusal of section 1, the whole-query errors of sections 7.3 and 9, and the
// per-field schema listing of section 7.5 (issue 14, part 4).
#include "datafold/net/network_core.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include "datafold/net/query_refusal.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::introduce;
using testing::RawTlsClient;
using testing::start_node;

// A data layer in fold_db's per-field shape, as a node's store answers: UserProfile has
// `username` (anyone) and `email` (distance <= 1); a filter is {field: value} on them.
QueryResult answer_profile(const Query& query, const RequestContext& requester) {
  QueryResult result;
  const auto fail_all = [&](SchemaError::Kind kind, const std::string& why) {
    for (const auto& field : query.fields) result.results.push_back({field, SchemaError{kind, why}});
    return result;
  };
  if (query.schema_name != "UserProfile") return fail_all(SchemaError::Kind::NotFound, "schema '" + query.schema_name + "' not found");
  if (query.filter) {
    if (!query.filter->is_object()) return fail_all(SchemaError::Kind::InvalidDSL, "filter must be a JSON object");
    for (const auto& clause : query.filter->items())
      if (clause.key() != "username" && clause.key() != "email")
        return fail_all(SchemaError::Kind::InvalidDSL, "filter names unknown field '" + clause.key() + "'");
  }
  for (const auto& field : query.fields) {
    if (field == "username")
      result.results.push_back({field, Json::array({"alice", "bob"})});
    else if (field == "email" && requester.trust_distance <= 1)
      result.results.push_back({field, Json::array({"alice@example.org", "bob@example.org"})});
    else if (field == "email")
      result.results.push_back({field, SchemaError{SchemaError::Kind::InvalidPermission,
                                                   "field 'email' needs trust distance <= 1"}});
    else
      result.results.push_back({field, SchemaError{SchemaError::Kind::InvalidField, "no field '" + field + "'"}});
  }
  return result;
}

std::unique_ptr<NetworkCore> profile_node() {
  auto node = start_node();
  if (node) node->set_query_callback([](Query q, const RequestContext& who) { return answer_profile(q, who); });
  return node;
}

// ------------------------------------------------------------------ (a) ALPN, section 1

// The reason OpenSSL gives for an alert the peer sent during the handshake.
int alert_reason(const std::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() ? ERR_GET_REASON(static_cast<unsigned long>(ec.value()))
                                                          : 0;
}

TEST(NodeAgainstSpec, AClientOfferingNoAlpnFailsTheHandshakeWithNoApplicationProtocol) {
  auto node = profile_node();
  ASSERT_TRUE(node);
  RawTlsClient raw;
  raw.offer_alpn(std::nullopt);
  ASSERT_FALSE(raw.connect(node->listen_port())) << "the TLS handshake completed without ALPN";
  EXPECT_EQ(alert_reason(raw.connect_error()), SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL)
      << raw.connect_error().message();
}

TEST(NodeAgainstSpec, AClientOfferingAnotherProtocolFailsTheHandshakeWithNoApplicationProtocol) {
  auto node = profile_node();
  ASSERT_TRUE(node);
  RawTlsClient raw;
  raw.offer_alpn("http/1.1");
  ASSERT_FALSE(raw.connect(node->listen_port()));
  EXPECT_EQ(alert_reason(raw.connect_error()), SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL)
      << raw.connect_error().message();

  // The same client offering datafold/1 gets in, and the node still serves.
  raw.offer_alpn(std::string(kAlpnProtocol));
  ASSERT_TRUE(raw.connect(node->listen_port())) << raw.connect_error().message();
  EXPECT_TRUE(raw.exchange_hello());
}

// ------------------------------------------------------------------ (b)-(d) sections 7.3, 9

QueryMessage spec_query(const RawTlsClient& raw, std::string schema, std::vector<std::string> fields,
                       std::optional<Json> filter = std::nullopt) {
  QueryMessage request;
  request.query_id = Uuid::random();
  request.query.schema_name = std::move(schema);
  request.query.fields = std::move(fields);
  request.query.filter = std::move(filter);
  request.trust_proof.public_key = raw.identity().public_key();  // the connection's key: no signature needed
  return request;
}

// What the node sends back to `request`, as the wire carries it.
std::optional<Message> ask(RawTlsClient& raw, const QueryMessage& request) {
  if (!raw.send(request)) return std::nullopt;
  return raw.read_message();
}

TEST(NodeAgainstSpec, AnUnknownSchemaIsOneSchemaNotFoundErrorAndTheConnectionStays) {
  auto node = profile_node();
  ASSERT_TRUE(node);
  RawTlsClient raw;
  ASSERT_TRUE(raw.connect(node->listen_port()));
  ASSERT_TRUE(raw.exchange_hello());

  const auto request = spec_query(raw, "Nope", {"a", "b"});
  const auto reply = ask(raw, request);
  ASSERT_TRUE(reply);
  const auto* error = std::get_if<ErrorMessage>(&*reply);
  ASSERT_NE(error, nullptr) << "expected Error{SCHEMA_NOT_FOUND}, got message kind " << reply->index();
  EXPECT_EQ(error->code, ErrorCode::SchemaNotFound);
  EXPECT_EQ(error->related_message_id, request.query_id);
  EXPECT_EQ(error->message, "schema 'Nope' not found");

  // The connection stays: the next query on it is answered.
  const auto next = ask(raw, spec_query(raw, "UserProfile", {"username"}));
  ASSERT_TRUE(next);
  ASSERT_TRUE(std::holds_alternative<QueryResponseMessage>(*next));
}

TEST(NodeAgainstSpec, AnUnknownSchemaFailsQueryNodeAndAStreamedQueryAlike) {
  auto server = profile_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  introduce(*client, *server);

  auto whole = client->query_node(server->local_node_id(), Query{"Nope", {"a"}, "", 0, std::nullopt});
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().code, ErrorCode::SchemaNotFound) << whole.error().to_string();

  auto stream = client->stream_query(server->local_node_id(), Query{"Nope", {"a"}, "", 0, std::nullopt});
  ASSERT_TRUE(stream) << stream.error().to_string();
  auto part = (*stream)->next();
  ASSERT_FALSE(part);
  EXPECT_EQ(part.error().code, ErrorCode::SchemaNotFound) << part.error().to_string();
}

TEST(NodeAgainstSpec, AFilterTheNodeCannotRunIsOneInvalidDslError) {
  auto server = profile_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  introduce(*client, *server);

  for (const Json& filter : {Json{{"age", 3}}, Json::array({"username"})}) {
    auto result = client->query_node(server->local_node_id(), Query{"UserProfile", {"username"}, "", 0, filter});
    ASSERT_FALSE(result) << filter.dump();
    EXPECT_EQ(result.error().code, ErrorCode::InvalidDsl) << result.error().to_string();
  }
  // A filter it can run is answered.
  auto good = client->query_node(server->local_node_id(),
                                 Query{"UserProfile", {"username"}, "", 0, Json{{"username", "bob"}}});
  ASSERT_TRUE(good) << good.error().to_string();
}

TEST(NodeAgainstSpec, AQueryThatMayReadNothingItAskedForIsPermissionDenied) {
  auto server = profile_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  introduce(*client, *server);

  // The client is a stranger to the server: email only is nothing it may read.
  auto denied = client->query_node(server->local_node_id(), Query{"UserProfile", {"email"}, "", 0, std::nullopt});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::PermissionDenied) << denied.error().to_string();
  EXPECT_EQ(denied.error().kind, ErrorKind::Trust);
  EXPECT_NE(denied.error().message.find("field 'email' needs trust distance <= 1"), std::string::npos)
      << denied.error().message;

  // With one readable field beside it, the denied one is an entry in its slot.
  auto partial =
      client->query_node(server->local_node_id(), Query{"UserProfile", {"username", "email"}, "", 0, std::nullopt});
  ASSERT_TRUE(partial) << partial.error().to_string();
  ASSERT_EQ(partial->results.size(), 2u);
  EXPECT_EQ(partial->results[0].value(), Json::array({"alice", "bob"}));
  EXPECT_EQ(partial->results[1].error().kind, SchemaError::Kind::InvalidPermission);

  // A field that does not exist is not a denial: it stays an entry in its slot.
  auto unknown = client->query_node(server->local_node_id(), Query{"UserProfile", {"nope"}, "", 0, std::nullopt});
  ASSERT_TRUE(unknown) << unknown.error().to_string();
  EXPECT_EQ(unknown->results.at(0).error().kind, SchemaError::Kind::InvalidField);
}

// ------------------------------------------------------------------ listing, section 7.5

TEST(NodeAgainstSpec, TheListingSaysEachFieldsNameTypeAndWhetherTheRequesterMayReadIt) {
  auto server = profile_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  server->set_schema_list_callback([](const RequestContext& who) {
    SchemaInfo info{"UserProfile", "1", "people"};
    info.fields = {{"username", "string", true}, {"email", "string", who.trust_distance <= 1}, {"extra", "", false}};
    return std::vector<SchemaInfo>{info};
  });
  introduce(*client, *server);

  auto listed = client->list_available_schemas(server->local_node_id());
  ASSERT_TRUE(listed) << listed.error().to_string();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].fields, (std::vector<SchemaFieldInfo>{
                                     {"username", "string", true}, {"email", "string", false}, {"extra", "", false}}));
}

}  // namespace
}  // namespace datafold::net
