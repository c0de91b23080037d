// Peers that lie or send garbage: refused or answered with an error, and the node
// keeps serving everyone else.
#include "datafold/net/network_core.hpp"

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::RawTlsClient;
using testing::start_node;

std::unique_ptr<NetworkCore> serving_node() {
  auto node = start_node();
  if (node) {
    node->set_query_callback([](Query q) {
      QueryResult r;
      r.results.push_back({"schema", Json(q.schema_name)});
      return r;
    });
  }
  return node;
}

// A well-behaved peer still gets answers.
void expect_still_serving(NetworkCore& server) {
  auto client = start_node();
  ASSERT_TRUE(client);
  testing::introduce(*client, server);
  auto r = client->query_node(server.local_node_id(), Query{"alive", {}, "", 0, std::nullopt});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->find("schema")->value(), Json("alive"));
}

// The first Error among the next few messages (the node's Hello may come first).
std::optional<ErrorMessage> first_error(RawTlsClient& raw) {
  for (int i = 0; i < 3; ++i) {
    auto m = raw.read_message();
    if (!m) break;
    if (auto* e = std::get_if<ErrorMessage>(&*m)) return *e;
  }
  return std::nullopt;
}

std::string header(std::uint32_t length) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
          static_cast<char>(length)};
}

TEST(HostilePeer, ImpostorAtTheRightAddressIsRefused) {
  auto real = serving_node();
  auto impostor = serving_node();
  auto client = start_node();
  ASSERT_TRUE(real && impostor && client);
  // The client believes `real` lives where `impostor` listens.
  NodeInfo info;
  info.node_id = real->local_node_id();
  info.address = testing::address_of(*impostor);
  client->add_known_node(info);
  auto r = client->query_node(real->local_node_id(), Query{"S", {}, "", 0, std::nullopt});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Authentication) << r.error().to_string();
  EXPECT_EQ(r.error().code, ErrorCode::AuthenticationFailed);
  EXPECT_TRUE(client->connected_nodes().empty());
  EXPECT_EQ(client->known_nodes().at(real->local_node_id()).health, NodeHealth::Unreachable);
}

TEST(HostilePeer, PlainTcpGarbageIsDroppedAndNodeKeepsServing) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server->listen_port()});
  const std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(4096, '\xff');
  std::error_code ec;
  asio::write(socket, asio::buffer(garbage), ec);
  // The node ends the TLS attempt: reading gets an error or EOF, never a hang.
  socket.non_blocking(false);
  char buf[256];
  io.run_for(std::chrono::milliseconds(1));
  bool closed = false;
  for (int i = 0; i < 64 && !closed; ++i) {
    socket.read_some(asio::buffer(buf), ec);
    closed = static_cast<bool>(ec);
  }
  EXPECT_TRUE(closed);
  expect_still_serving(*server);
  EXPECT_GE(server->stats().handshake_failures, 1u);
}

TEST(HostilePeer, OversizeLengthPrefixGetsProtocolErrorAndClose) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  RawTlsClient raw;
  ASSERT_TRUE(raw.connect(server->listen_port()));
  ASSERT_TRUE(raw.exchange_hello());
  ASSERT_TRUE(raw.write(header(0xFFFFFFF0u) + "abc"));
  auto reply = raw.read_message();
  ASSERT_TRUE(reply);
  ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*reply));
  EXPECT_EQ(std::get<ErrorMessage>(*reply).code, ErrorCode::ProtocolError);
  EXPECT_TRUE(raw.wait_closed());
  expect_still_serving(*server);
}

TEST(HostilePeer, TruncatedFrameThenHangUpHarmsNothing) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  {
    RawTlsClient raw;
    ASSERT_TRUE(raw.connect(server->listen_port()));
    ASSERT_TRUE(raw.exchange_hello());
    ASSERT_TRUE(raw.write(header(100) + std::string(10, 'x')));
  }  // hangs up mid-frame
  expect_still_serving(*server);
}

TEST(HostilePeer, UndecodableEnvelopesGetInvalidMessageThenClose) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  RawTlsClient raw;
  ASSERT_TRUE(raw.connect(server->listen_port()));
  ASSERT_TRUE(raw.exchange_hello());
  const std::string junk = "\xff\xff\xff\xff\x0f";
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(raw.write(header(static_cast<std::uint32_t>(junk.size())) + junk));
    auto reply = raw.read_message();
    ASSERT_TRUE(reply) << "no reply to invalid frame " << i;
    ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*reply));
    EXPECT_EQ(std::get<ErrorMessage>(*reply).code, ErrorCode::InvalidMessage);
  }
  EXPECT_TRUE(raw.wait_closed()) << "repeated violations must close the connection";
  expect_still_serving(*server);
}

// A query answered on the handler pool reaches it undecoded (only its id and window are
// read as it arrives): one that then fails to decode is still refused as one the
// connection could not decode, and counts as much toward the close.
TEST(HostilePeer, QueriesThatOnlyFailToDecodeOnThePoolGetInvalidMessageThenClose) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  RawTlsClient raw;
  ASSERT_TRUE(raw.connect(server->listen_port()));
  ASSERT_TRUE(raw.exchange_hello());
  for (int i = 0; i < 3; ++i) {
    QueryMessage query;
    query.query_id = Uuid::random();
    query.query.schema_name = "SCHEMA-NAME";
    query.trust_proof.public_key = raw.identity().public_key();
    query.stream_window = static_cast<std::uint32_t>(i);  // answered whole and in parts alike
    std::string bytes = encode_envelope(query);
    const auto at = bytes.find("SCHEMA-NAME");
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 4, "\xff\xfe\xff\xfe");  // not UTF-8: the query does not decode
    ASSERT_TRUE(raw.write(header(static_cast<std::uint32_t>(bytes.size())) + bytes));
    auto reply = raw.read_message();
    ASSERT_TRUE(reply) << "no reply to invalid query " << i;
    ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*reply));
    EXPECT_EQ(std::get<ErrorMessage>(*reply).code, ErrorCode::InvalidMessage);
  }
  EXPECT_TRUE(raw.wait_closed()) << "repeated violations must close the connection";
  expect_still_serving(*server);
}

TEST(HostilePeer, UnknownEnvelopeKindGetsUnsupportedMessageAndConnectionStays) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  RawTlsClient raw;
  ASSERT_TRUE(raw.connect(server->listen_port()));
  ASSERT_TRUE(raw.exchange_hello());

  const Uuid id = Uuid::random();
  // Hand-built envelope: message_id (field 1), then a body in field 99, which this
  // version does not know: tag (99 << 3 | 2) = 794 = varint 9a 06.
  const std::string body = "from a newer protocol";
  std::string bytes = "\x0a\x10";
  bytes.append(reinterpret_cast<const char*>(id.bytes().data()), id.bytes().size());
  bytes += "\x9a\x06";
  bytes += static_cast<char>(body.size());
  bytes += body;
  ASSERT_TRUE(raw.write(header(static_cast<std::uint32_t>(bytes.size())) + bytes));
  auto reply = raw.read_message();
  ASSERT_TRUE(reply);
  ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*reply));
  const auto& error = std::get<ErrorMessage>(*reply);
  EXPECT_EQ(error.code, ErrorCode::UnsupportedMessage);
  ASSERT_TRUE(error.related_message_id);
  EXPECT_EQ(*error.related_message_id, id);

  // Still open: a query on the same connection is answered.
  QueryMessage query;
  query.query_id = Uuid::random();
  query.query.schema_name = "after-unknown";
  query.trust_proof.public_key = raw.identity().public_key();
  ASSERT_TRUE(raw.send(query));
  auto answer = raw.read_message();
  ASSERT_TRUE(answer);
  ASSERT_TRUE(std::holds_alternative<QueryResponseMessage>(*answer));
  EXPECT_EQ(std::get<QueryResponseMessage>(*answer).query_id, query.query_id);
}

TEST(HostilePeer, DisjointProtocolVersionsGetUnsupportedVersion) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  RawTlsClient raw;
  ASSERT_TRUE(raw.connect(server->listen_port()));
  HelloMessage hello;
  hello.message_id = Uuid::random();
  hello.min_version = kMaxProtocolVersion + 1;
  hello.max_version = kMaxProtocolVersion + 5;
  hello.node_id = raw.identity().node_id();
  hello.network_name = "datafold-test";
  ASSERT_TRUE(raw.send(hello));
  // The node sends its own Hello first (both sides speak at once), then refuses.
  auto refusal = first_error(raw);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->code, ErrorCode::UnsupportedVersion);
  EXPECT_TRUE(raw.wait_closed());
}

TEST(HostilePeer, WrongNetworkNameIsRefused) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  RawTlsClient raw;
  ASSERT_TRUE(raw.connect(server->listen_port()));
  HelloMessage hello;
  hello.message_id = Uuid::random();
  hello.node_id = raw.identity().node_id();
  hello.network_name = "someone-elses-network";
  ASSERT_TRUE(raw.send(hello));
  EXPECT_TRUE(raw.wait_closed());
  expect_still_serving(*server);
}

TEST(HostilePeer, HelloClaimingAnotherIdIsRefused) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  RawTlsClient raw;
  ASSERT_TRUE(raw.connect(server->listen_port()));
  HelloMessage hello;
  hello.message_id = Uuid::random();
  hello.node_id = server->local_node_id();  // not the key it proved
  hello.network_name = "datafold-test";
  ASSERT_TRUE(raw.send(hello));
  auto refusal = first_error(raw);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->code, ErrorCode::AuthenticationFailed);
}

TEST(HostilePeer, TrustProofWithSomeoneElsesKeyIsRefused) {
  auto server = serving_node();
  ASSERT_TRUE(server);
  RawTlsClient raw;
  ASSERT_TRUE(raw.connect(server->listen_port()));
  ASSERT_TRUE(raw.exchange_hello());
  QueryMessage query;
  query.query_id = Uuid::random();
  query.query.schema_name = "S";
  query.trust_proof.public_key = server->public_key();  // not ours
  ASSERT_TRUE(raw.send(query));
  auto reply = raw.read_message();
  ASSERT_TRUE(reply);
  ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*reply));
  EXPECT_EQ(std::get<ErrorMessage>(*reply).code, ErrorCode::TrustValidationFailed);
  EXPECT_EQ(std::get<ErrorMessage>(*reply).related_message_id, query.query_id);
  // The operator sees it in the counters.
  EXPECT_TRUE(testing::eventually([&] { return server->stats().trust_refusals == 1; }));
  EXPECT_EQ(server->stats().queries_refused, 1u);
  EXPECT_EQ(server->stats().queries_answered, 0u);
}

TEST(HostilePeer, SilentClientIsCutAtTheHandshakeDeadline) {
  auto config = testing::loopback_config();
  config.handshake_timeout = std::chrono::milliseconds(300);
  auto server = start_node(config);
  ASSERT_TRUE(server);
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server->listen_port()});
  // Sends nothing. The node closes it once the handshake deadline passes.
  bool closed = false;
  std::array<char, 64> buf{};
  socket.async_read_some(asio::buffer(buf), [&](std::error_code ec, std::size_t) { closed = static_cast<bool>(ec); });
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(closed);
  EXPECT_TRUE(testing::eventually([&] { return server->stats().handshake_failures >= 1; }));
}

}  // namespace
}  // namespace datafold::net
