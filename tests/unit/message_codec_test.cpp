#include "datafold/net/message_codec.hpp"

#include <gtest/gtest.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "datafold.pb.h"
#include "core/value_codec.hpp"

namespace datafold::net {
namespace {

namespace wire = ::datafold::wire;

std::span<const std::uint8_t> codec_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Uuid codec_id(std::uint8_t fill) {
  std::array<std::uint8_t, Uuid::kSize> b{};
  b.fill(fill);
  b[6] = static_cast<std::uint8_t>(0x40 | (fill & 0x0f));
  b[8] = static_cast<std::uint8_t>(0x80 | (fill & 0x3f));
  return Uuid{b};
}

template <std::size_t N>
std::array<std::uint8_t, N> counting(std::uint8_t start) {
  std::array<std::uint8_t, N> b{};
  for (std::size_t i = 0; i < N; ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return b;
}

// Field-by-field equality, with a readable failure for each field (the
// message structs have no operator==).
void expect_same(const Message& got, const Message& want) {
  ASSERT_EQ(got.index(), want.index()) << "got " << to_string(type_of(got)) << ", want "
                                       << to_string(type_of(want));
  std::visit(
      [&got](const auto& w) {
        using T = std::decay_t<decltype(w)>;
        const T& g = std::get<T>(got);
        if constexpr (std::is_same_v<T, HelloMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.min_version, w.min_version);
          EXPECT_EQ(g.max_version, w.max_version);
          EXPECT_EQ(g.node_id, w.node_id);
          EXPECT_EQ(g.listen_port, w.listen_port);
          EXPECT_EQ(g.capabilities, w.capabilities);
          EXPECT_EQ(g.agent, w.agent);
          EXPECT_EQ(g.network_name, w.network_name);
          EXPECT_EQ(g.observed_address, w.observed_address);
          EXPECT_EQ(g.mapped_address, w.mapped_address);
        } else if constexpr (std::is_same_v<T, QueryMessage>) {
          EXPECT_EQ(g.query_id, w.query_id);
          EXPECT_EQ(g.query, w.query);
          EXPECT_EQ(g.trust_proof.public_key, w.trust_proof.public_key);
          EXPECT_EQ(g.trust_proof.signature, w.trust_proof.signature);
          EXPECT_EQ(g.trust_proof.trust_distance, w.trust_proof.trust_distance);
          EXPECT_EQ(g.trust_proof.timestamp_ms, w.trust_proof.timestamp_ms);
          EXPECT_EQ(g.stream_window, w.stream_window);
        } else if constexpr (std::is_same_v<T, QueryResponseMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.query_id, w.query_id);
          EXPECT_EQ(g.result, w.result);
          EXPECT_EQ(g.part, w.part);
          EXPECT_EQ(g.more, w.more);
        } else if constexpr (std::is_same_v<T, QueryCreditMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.query_id, w.query_id);
          EXPECT_EQ(g.parts, w.parts);
          EXPECT_EQ(g.cancel, w.cancel);
        } else if constexpr (std::is_same_v<T, ListSchemasRequestMessage>) {
          EXPECT_EQ(g.request_id, w.request_id);
        } else if constexpr (std::is_same_v<T, SchemaListResponseMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.request_id, w.request_id);
          EXPECT_EQ(g.schemas, w.schemas);
        } else if constexpr (std::is_same_v<T, NodeAnnouncementMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.signed_announcement, w.signed_announcement);
        } else if constexpr (std::is_same_v<T, ErrorMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.code, w.code);
          EXPECT_EQ(g.message, w.message);
          EXPECT_EQ(g.details, w.details);
          EXPECT_EQ(g.related_message_id, w.related_message_id);
        } else if constexpr (std::is_same_v<T, PingMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.sent_at_us, w.sent_at_us);
        } else if constexpr (std::is_same_v<T, PongMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.ping_id, w.ping_id);
          EXPECT_EQ(g.sent_at_us, w.sent_at_us);
        } else if constexpr (std::is_same_v<T, DialBackRequestMessage>) {
          EXPECT_EQ(g.request_id, w.request_id);
          EXPECT_EQ(g.port, w.port);
        } else if constexpr (std::is_same_v<T, DialBackResponseMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.request_id, w.request_id);
          EXPECT_EQ(g.reachable, w.reachable);
          EXPECT_EQ(g.address, w.address);
          EXPECT_EQ(g.detail, w.detail);
        } else if constexpr (std::is_same_v<T, RelayRequestMessage>) {
          EXPECT_EQ(g.request_id, w.request_id);
          EXPECT_EQ(g.kind, w.kind);
          EXPECT_EQ(g.node, w.node);
          EXPECT_EQ(g.token, w.token);
        } else if constexpr (std::is_same_v<T, RelayResponseMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.request_id, w.request_id);
          EXPECT_EQ(g.status, w.status);
          EXPECT_EQ(g.message, w.message);
          EXPECT_EQ(g.token, w.token);
          EXPECT_EQ(g.max_circuit_seconds, w.max_circuit_seconds);
          EXPECT_EQ(g.max_circuit_bytes, w.max_circuit_bytes);
        } else if constexpr (std::is_same_v<T, HolePunchMessage>) {
          EXPECT_EQ(g.request_id, w.request_id);
          EXPECT_EQ(g.phase, w.phase);
          EXPECT_EQ(g.addresses, w.addresses);
          EXPECT_EQ(g.reachable, w.reachable);
        } else if constexpr (std::is_same_v<T, HolePunchResponseMessage>) {
          EXPECT_EQ(g.message_id, w.message_id);
          EXPECT_EQ(g.request_id, w.request_id);
          EXPECT_EQ(g.addresses, w.addresses);
          EXPECT_EQ(g.reachable, w.reachable);
        } else {
          static_assert(std::is_same_v<T, UnknownMessage>);
          EXPECT_EQ(g.message_id, w.message_id);
        }
      },
      want);
}

std::string signed_announcement_bytes() {
  wire::NodeAnnouncement a;
  a.set_node_id(std::string(32, '\x11'));
  a.set_public_key(std::string(32, '\x22'));
  a.set_tcp_port(9000);
  a.add_addresses("192.0.2.7:9000");
  a.set_network_name("datafold");
  a.set_sequence(3);
  wire::SignedAnnouncement s;
  s.set_announcement(a.SerializeAsString());
  s.set_signature(std::string(64, '\x33'));
  return s.SerializeAsString();
}

// One of every message kind, with every field set to something that is not its default.
std::vector<Message> sample_messages() {
  std::vector<Message> out;

  HelloMessage hello;
  hello.message_id = codec_id(0x01);
  hello.min_version = 1;
  hello.max_version = 3;
  hello.node_id = NodeId{counting<32>(0x40)};
  hello.listen_port = 65535;
  hello.capabilities = {true, false};
  hello.agent = "datafold-net/test";
  hello.network_name = "testnet";
  hello.observed_address = "[2001:db8::7]:49152";
  hello.mapped_address = "203.0.113.9:41000";
  out.emplace_back(hello);

  QueryMessage query;
  query.query_id = codec_id(0x02);
  query.query.schema_name = "UserProfile";
  query.query.fields = {"username", "email", ""};
  query.query.pub_key = "key-text";
  query.query.trust_distance = 7;
  query.query.filter = Json{{"age", {{"gte", 18}}}, {"bin", Json::binary({1, 2, 3})}};
  query.trust_proof.public_key = PublicKey{counting<32>(0x80)};
  query.trust_proof.signature.assign(64, 0x5a);
  query.trust_proof.trust_distance = 2;
  query.trust_proof.timestamp_ms = -1;  // before 1970 still round-trips
  out.emplace_back(query);

  QueryMessage no_filter = query;
  no_filter.query_id = codec_id(0x03);
  no_filter.query.filter.reset();
  no_filter.trust_proof.signature.clear();
  out.emplace_back(no_filter);

  QueryMessage null_filter = no_filter;
  null_filter.query_id = codec_id(0x04);
  null_filter.query.filter = Json(nullptr);  // a null filter is not "no filter"
  out.emplace_back(null_filter);

  QueryResponseMessage response;
  response.message_id = codec_id(0x05);
  response.query_id = codec_id(0x02);
  response.result.results = {
      {"username", Json("alice")},
      {"email", SchemaError{SchemaError::Kind::InvalidPermission, "needs distance 0"}},
      {"age", Json(31)},
      {"missing", SchemaError{SchemaError::Kind::MappingError, ""}},
      {"blob", Json{{"a", {1, 2.5, nullptr, false}}}},
  };
  out.emplace_back(response);

  QueryResponseMessage empty_response;
  empty_response.message_id = codec_id(0x06);
  empty_response.query_id = codec_id(0x07);
  out.emplace_back(empty_response);

  // Asked in parts, continuing after a cursor; a part with more to come; the credit.
  QueryMessage streamed = query;
  streamed.query_id = codec_id(0x1c);
  streamed.query.limit = 1000;
  streamed.query.cursor = std::string("\x01\x00position", 10);
  streamed.stream_window = 8;
  out.emplace_back(streamed);
  QueryResponseMessage part = response;
  part.message_id = codec_id(0x1d);
  part.query_id = codec_id(0x1c);
  part.part = 3;
  part.more = true;
  out.emplace_back(part);
  QueryResponseMessage last_part = part;
  last_part.message_id = codec_id(0x1e);
  last_part.part = 4;
  last_part.more = false;
  last_part.result.cursor = std::string("\x01\xff", 2);
  out.emplace_back(last_part);
  out.emplace_back(QueryCreditMessage{codec_id(0x1f), codec_id(0x1c), 2, false});
  out.emplace_back(QueryCreditMessage{codec_id(0x20), codec_id(0x1c), 0, true});

  out.emplace_back(ListSchemasRequestMessage{codec_id(0x08)});

  SchemaListResponseMessage schemas;
  schemas.message_id = codec_id(0x09);
  schemas.request_id = codec_id(0x08);
  schemas.schemas = {{"UserProfile", "1.0", "public profile"}, {"Orders", "2", std::nullopt},
                     {"Empty", "", std::string()},  // an empty description is still a description
                     {"Fields", "3", std::nullopt,
                      {{"name", "string", true}, {"age", "integer", false}, {"any", "", true}}}};
  out.emplace_back(schemas);

  NodeAnnouncementMessage announcement;
  announcement.message_id = codec_id(0x0a);
  announcement.signed_announcement = signed_announcement_bytes();
  out.emplace_back(announcement);

  ErrorMessage error;
  error.message_id = codec_id(0x0b);
  error.code = ErrorCode::SchemaNotFound;
  error.message = "no such schema";
  error.details = "Missing";
  error.related_message_id = codec_id(0x02);
  out.emplace_back(error);

  ErrorMessage bare_error;
  bare_error.message_id = codec_id(0x0c);
  bare_error.code = ErrorCode::ProtocolError;
  out.emplace_back(bare_error);

  out.emplace_back(PingMessage{codec_id(0x0d), 1'700'000'000'000'000});
  out.emplace_back(PongMessage{codec_id(0x0e), codec_id(0x0d), 1'700'000'000'000'000});

  out.emplace_back(DialBackRequestMessage{codec_id(0x10), 9000});
  out.emplace_back(DialBackResponseMessage{codec_id(0x11), codec_id(0x10), true, "198.51.100.7:9000", ""});
  out.emplace_back(DialBackResponseMessage{codec_id(0x12), codec_id(0x10), false, "198.51.100.7:9000", "connection refused"});

  RelayRequestMessage reserve;
  reserve.request_id = codec_id(0x13);
  reserve.kind = RelayRequestMessage::Kind::Reserve;
  out.emplace_back(reserve);
  RelayRequestMessage connect;
  connect.request_id = codec_id(0x14);
  connect.kind = RelayRequestMessage::Kind::Connect;
  connect.node = NodeId{counting<32>(0x60)};
  out.emplace_back(connect);
  RelayRequestMessage invite;
  invite.request_id = codec_id(0x15);
  invite.kind = RelayRequestMessage::Kind::Invite;
  invite.node = NodeId{counting<32>(0x61)};
  invite.token = counting<32>(0xa0);
  out.emplace_back(invite);

  RelayResponseMessage reserved;
  reserved.message_id = codec_id(0x16);
  reserved.request_id = codec_id(0x13);
  reserved.status = RelayResponseMessage::Status::Ok;
  reserved.max_circuit_seconds = 1800;
  reserved.max_circuit_bytes = 1ull << 28;
  out.emplace_back(reserved);
  RelayResponseMessage circuit;
  circuit.message_id = codec_id(0x17);
  circuit.request_id = codec_id(0x14);
  circuit.status = RelayResponseMessage::Status::Ok;
  circuit.token = counting<32>(0xa0);
  out.emplace_back(circuit);
  RelayResponseMessage refused;
  refused.message_id = codec_id(0x18);
  refused.request_id = codec_id(0x14);
  refused.status = RelayResponseMessage::Status::NoReservation;
  refused.message = "no reservation";
  out.emplace_back(refused);

  HolePunchMessage punch;
  punch.request_id = codec_id(0x19);
  punch.phase = HolePunchMessage::Phase::Connect;
  punch.addresses = {"203.0.113.9:41000", "[2001:db8::9]:41000"};
  punch.reachable = true;
  out.emplace_back(punch);
  HolePunchMessage sync;
  sync.request_id = codec_id(0x1a);
  sync.phase = HolePunchMessage::Phase::Sync;
  out.emplace_back(sync);
  out.emplace_back(HolePunchResponseMessage{codec_id(0x1b), codec_id(0x19), {"198.51.100.4:52000"}, false});
  out.emplace_back(UnknownMessage{codec_id(0x0f)});
  return out;
}

TEST(MessageCodec, EveryMessageRoundTrips) {
  const auto messages = sample_messages();
  // Every alternative of Message is covered.
  std::vector<bool> seen(std::variant_size_v<Message>, false);
  for (const auto& m : messages) {
    SCOPED_TRACE(std::string(to_string(type_of(m))));
    seen[m.index()] = true;
    const std::string bytes = encode_envelope(m);
    auto decoded = decode_envelope(codec_bytes(bytes));
    ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
    expect_same(*decoded, m);
    // Deterministic: encoding what was decoded gives the same bytes.
    EXPECT_EQ(encode_envelope(*decoded), bytes);
  }
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_TRUE(seen[i]) << "no sample of alternative " << i;
}

TEST(MessageCodec, AppendFrameAddsHeaderAndKeepsWhatWasThere) {
  const auto messages = sample_messages();
  std::string out = "prefix";
  for (const auto& m : messages) append_frame(m, out);

  ASSERT_EQ(out.substr(0, 6), "prefix");
  std::size_t pos = 6;
  for (const auto& m : messages) {
    ASSERT_LE(pos + kFrameHeaderBytes, out.size());
    const auto* p = reinterpret_cast<const std::uint8_t*>(out.data() + pos);
    const std::size_t len = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                            (std::size_t{p[2]} << 8) | p[3];
    EXPECT_EQ(out.substr(pos + kFrameHeaderBytes, len), encode_envelope(m));
    pos += kFrameHeaderBytes + len;
  }
  EXPECT_EQ(pos, out.size());
}

TEST(MessageCodec, MessageIdsAndTypes) {
  const auto messages = sample_messages();
  EXPECT_EQ(message_id(messages[0]), codec_id(0x01));
  EXPECT_EQ(message_id(messages[1]), codec_id(0x02));  // a query's id is its query_id
  EXPECT_EQ(related_message_id(messages[1]), std::nullopt);
  EXPECT_EQ(message_id(Message{ListSchemasRequestMessage{codec_id(0x08)}}), codec_id(0x08));
  EXPECT_EQ(related_message_id(messages[4]), codec_id(0x02));  // response -> query
  EXPECT_EQ(related_message_id(Message{PongMessage{codec_id(1), codec_id(2), 0}}), codec_id(2));
  ErrorMessage e;
  EXPECT_EQ(related_message_id(Message{e}), std::nullopt);
  e.related_message_id = codec_id(3);
  EXPECT_EQ(related_message_id(Message{e}), codec_id(3));

  EXPECT_EQ(to_string(MessageType::Hello), "Hello");
  EXPECT_EQ(to_string(MessageType::SchemaListResponse), "SchemaListResponse");
  EXPECT_EQ(to_string(MessageType::Unknown), "Unknown");
  EXPECT_EQ(to_string(type_of(Message{PingMessage{}})), "Ping");
  EXPECT_EQ(to_string(SchemaError::Kind::InvalidPermission), "InvalidPermission");
  EXPECT_EQ(to_string(SchemaError::Kind::InvalidDSL), "InvalidDSL");
}

// The C++ enums are the wire numbers; static_cast between them is the mapping.
static_assert(static_cast<int>(ErrorCode::InvalidMessage) == wire::INVALID_MESSAGE);
static_assert(static_cast<int>(ErrorCode::AuthenticationFailed) == wire::AUTHENTICATION_FAILED);
static_assert(static_cast<int>(ErrorCode::TrustValidationFailed) == wire::TRUST_VALIDATION_FAILED);
static_assert(static_cast<int>(ErrorCode::SchemaNotFound) == wire::SCHEMA_NOT_FOUND);
static_assert(static_cast<int>(ErrorCode::PermissionDenied) == wire::PERMISSION_DENIED);
static_assert(static_cast<int>(ErrorCode::QueryFailed) == wire::QUERY_FAILED);
static_assert(static_cast<int>(ErrorCode::InternalError) == wire::INTERNAL_ERROR);
static_assert(static_cast<int>(ErrorCode::ProtocolError) == wire::PROTOCOL_ERROR);
static_assert(static_cast<int>(ErrorCode::Timeout) == wire::TIMEOUT);
static_assert(static_cast<int>(ErrorCode::UnsupportedVersion) == wire::UNSUPPORTED_VERSION);
static_assert(static_cast<int>(ErrorCode::ResourceExhausted) == wire::RESOURCE_EXHAUSTED);
static_assert(static_cast<int>(ErrorCode::UnsupportedMessage) == wire::UNSUPPORTED_MESSAGE);
static_assert(static_cast<int>(ErrorCode::InvalidDsl) == wire::INVALID_DSL);
static_assert(static_cast<int>(SchemaError::Kind::NotFound) == wire::SchemaError::NOT_FOUND);
static_assert(static_cast<int>(SchemaError::Kind::InvalidField) == wire::SchemaError::INVALID_FIELD);
static_assert(static_cast<int>(SchemaError::Kind::InvalidPermission) == wire::SchemaError::INVALID_PERMISSION);
static_assert(static_cast<int>(SchemaError::Kind::InvalidTransform) == wire::SchemaError::INVALID_TRANSFORM);
static_assert(static_cast<int>(SchemaError::Kind::InvalidData) == wire::SchemaError::INVALID_DATA);
static_assert(static_cast<int>(SchemaError::Kind::InvalidDSL) == wire::SchemaError::INVALID_DSL);
static_assert(static_cast<int>(SchemaError::Kind::MappingError) == wire::SchemaError::MAPPING_ERROR);

TEST(MessageCodec, ErrorCodeAndKindOnTheWire) {
  for (int code = 1000; code <= 1011; ++code) {
    ErrorMessage e;
    e.message_id = codec_id(1);
    e.code = static_cast<ErrorCode>(code);
    wire::Envelope env;
    ASSERT_TRUE(env.ParseFromString(encode_envelope(e)));
    EXPECT_EQ(static_cast<int>(env.error().code()), code);
  }
  QueryResponseMessage r;
  r.message_id = codec_id(1);
  r.query_id = codec_id(2);
  r.result.results = {{"f", SchemaError{SchemaError::Kind::InvalidPermission, "no"}}};
  wire::Envelope env;
  ASSERT_TRUE(env.ParseFromString(encode_envelope(r)));
  EXPECT_EQ(env.query_response().results(0).error().kind(), wire::SchemaError::INVALID_PERMISSION);
  EXPECT_EQ(env.related_message_id(), std::string(reinterpret_cast<const char*>(codec_id(2).bytes().data()), 16));
}

TEST(MessageCodec, UnknownErrorCodeFromNewerPeerPassesThrough) {
  wire::Envelope env;
  env.set_message_id(std::string(16, '\x01'));
  env.mutable_error()->set_code(static_cast<wire::ErrorCode>(1234));
  env.mutable_error()->set_message("future");
  auto decoded = decode_envelope(codec_bytes(env.SerializeAsString()));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(static_cast<int>(std::get<ErrorMessage>(*decoded).code), 1234);
}

// ---------------------------------------------------------------- rejection

void expect_invalid(const wire::Envelope& env, std::string_view why) {
  SCOPED_TRACE(std::string(why));
  auto decoded = decode_envelope(codec_bytes(env.SerializeAsString()));
  ASSERT_FALSE(decoded.ok()) << "decoded as " << to_string(type_of(*decoded));
  EXPECT_EQ(decoded.error().kind, ErrorKind::Message);
  EXPECT_EQ(decoded.error().code, ErrorCode::InvalidMessage);
}

wire::Envelope envelope_of(const Message& m) {
  const std::string bytes = encode_envelope(m);
  // Values may nest deeper than protobuf's default limit allows (see value_codec.hpp).
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetRecursionLimit(detail::kProtoRecursionLimit);
  wire::Envelope env;
  EXPECT_TRUE(env.ParseFromCodedStream(&in));
  return env;
}

TEST(MessageCodec, MalformedIdsAreRejected) {
  for (const auto& m : sample_messages()) {
    SCOPED_TRACE(std::string(to_string(type_of(m))));
    for (std::size_t len : {0u, 1u, 15u, 17u, 32u}) {
      auto env = envelope_of(m);
      env.set_message_id(std::string(len, '\x42'));
      expect_invalid(env, "message_id of " + std::to_string(len) + " bytes");
    }
    for (std::size_t len : {1u, 15u, 17u}) {
      auto env = envelope_of(m);
      env.set_related_message_id(std::string(len, '\x42'));
      expect_invalid(env, "related_message_id of " + std::to_string(len) + " bytes");
    }
  }
}

TEST(MessageCodec, RepliesNeedTheIdTheyAnswer) {
  for (const auto& m : sample_messages()) {
    const auto type = type_of(m);
    if (type != MessageType::QueryResponse && type != MessageType::SchemaListResponse &&
        type != MessageType::Pong && type != MessageType::DialBackResponse && type != MessageType::RelayResponse &&
        type != MessageType::HolePunchResponse && type != MessageType::QueryCredit)
      continue;
    auto env = envelope_of(m);
    env.clear_related_message_id();
    expect_invalid(env, to_string(type));
  }
  // An Error may answer nothing (e.g. a frame that could not be parsed).
  ErrorMessage e;
  e.message_id = codec_id(1);
  auto decoded = decode_envelope(codec_bytes(encode_envelope(e)));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<ErrorMessage>(*decoded).related_message_id, std::nullopt);
}

TEST(MessageCodec, MalformedKeysAndNodeIdsAreRejected) {
  const auto messages = sample_messages();
  for (std::size_t len : {0u, 16u, 31u, 33u}) {
    auto hello = envelope_of(messages[0]);
    hello.mutable_hello()->set_node_id(std::string(len, '\x07'));
    expect_invalid(hello, "Hello.node_id of " + std::to_string(len));

    auto query = envelope_of(messages[1]);
    query.mutable_query()->mutable_trust_proof()->set_public_key(std::string(len, '\x07'));
    expect_invalid(query, "TrustProof.public_key of " + std::to_string(len));
  }
  auto query = envelope_of(messages[1]);
  query.mutable_query()->mutable_trust_proof()->set_signature(std::string(63, '\x01'));
  expect_invalid(query, "63-byte signature");

  query = envelope_of(messages[1]);
  query.mutable_query()->clear_trust_proof();
  expect_invalid(query, "no trust proof");

  query = envelope_of(messages[1]);
  query.mutable_query()->clear_query();
  expect_invalid(query, "no query");

  auto hello = envelope_of(messages[0]);
  hello.mutable_hello()->set_listen_port(65536);
  expect_invalid(hello, "listen_port above 65535");
}

TEST(MessageCodec, HelloObservedAddressIsOptionalAndAdvisory) {
  // An older peer's Hello has no field 8: it decodes, with no observed address.
  auto older = envelope_of(sample_messages()[0]);
  older.mutable_hello()->clear_observed_address();
  std::string bytes;
  older.SerializeToString(&bytes);
  auto decoded = decode_envelope(codec_bytes(bytes));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<HelloMessage>(*decoded).observed_address, "");

  // The codec does not judge the text: whoever uses it parses it, so a peer's
  // odd value costs it nothing but its report.
  auto odd = envelope_of(sample_messages()[0]);
  odd.mutable_hello()->set_observed_address("not an address");
  odd.SerializeToString(&bytes);
  decoded = decode_envelope(codec_bytes(bytes));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<HelloMessage>(*decoded).observed_address, "not an address");
}

TEST(MessageCodec, MalformedBodiesAreRejected) {
  const auto messages = sample_messages();
  auto response = envelope_of(messages[4]);
  response.mutable_query_response()->add_results()->set_field("no outcome");
  expect_invalid(response, "FieldResult without outcome");

  response = envelope_of(messages[4]);
  response.mutable_query_response()->mutable_results(1)->mutable_error()->set_kind(
      static_cast<wire::SchemaError::Kind>(7));
  expect_invalid(response, "unknown SchemaError kind");

  response = envelope_of(messages[4]);
  response.mutable_query_response()->mutable_results(0)->mutable_value()->Clear();
  expect_invalid(response, "value of no kind");

  auto query = envelope_of(messages[1]);
  auto* entries = query.mutable_query()->mutable_query()->mutable_filter()->mutable_map_value();
  *entries->add_entries() = entries->entries(0);
  expect_invalid(query, "filter repeats a key");

  wire::Envelope error;
  error.set_message_id(std::string(16, '\x01'));
  error.mutable_error()->set_code(static_cast<wire::ErrorCode>(-5));
  expect_invalid(error, "negative error code");
}

TEST(MessageCodec, GarbageIsRejected) {
  const std::vector<std::string> garbage = {
      std::string(),                          // empty: a valid but id-less envelope
      std::string("\xff\xff\xff\xff", 4),     // bad tag
      std::string("\x0a\x10\x01", 3),         // message_id shorter than announced
      std::string("\x0a\xff\xff\xff\xff\x0f", 6),  // absurd length
      std::string("\x0c", 1),                 // end-group tag at top level
      "hello, world",
  };
  for (const auto& g : garbage) {
    auto decoded = decode_envelope(codec_bytes(g));
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, ErrorCode::InvalidMessage);
  }

  // Trailing bytes after a stray end-group tag must not be silently ignored.
  std::string with_end_group = encode_envelope(PingMessage{codec_id(1), 5}) + std::string("\x0c\x08\x01", 3);
  EXPECT_FALSE(decode_envelope(codec_bytes(with_end_group)).ok());

  // Proto3 strings must be UTF-8.
  google::protobuf::LogSilencer quiet;
  wire::Envelope env = envelope_of(sample_messages()[0]);
  env.mutable_hello()->set_agent(std::string("\xff\xfe", 2));
  std::string bad_utf8;
  env.SerializePartialToString(&bad_utf8);
  EXPECT_FALSE(decode_envelope(codec_bytes(bad_utf8)).ok());
}

TEST(MessageCodec, TruncatedAndMutatedEnvelopesNeverCrash) {
  std::mt19937 rng(12345);
  for (const auto& m : sample_messages()) {
    const std::string bytes = encode_envelope(m);
    for (std::size_t n = 0; n < bytes.size(); ++n)
      (void)decode_envelope(codec_bytes(bytes.substr(0, n)));  // must return, either way
    for (int i = 0; i < 200; ++i) {
      std::string mutated = bytes;
      mutated[rng() % mutated.size()] = static_cast<char>(rng());
      auto decoded = decode_envelope(codec_bytes(mutated));
      if (decoded.ok()) {
        // Whatever decodes re-encodes to something that decodes the same.
        const std::string again = encode_envelope(*decoded);
        auto twice = decode_envelope(codec_bytes(again));
        ASSERT_TRUE(twice.ok());
        EXPECT_EQ(encode_envelope(*twice), again);
      }
    }
  }
}

TEST(MessageCodec, UnknownBodyDecodesToUnknownMessage) {
  // Envelope { message_id, 99: { 1: "future" } }: a body from a newer peer.
  std::string bytes = encode_envelope(UnknownMessage{codec_id(0x2a)});
  const std::string body = "\x0a\x06" "future";
  bytes += "\x9a\x06";  // field 99, wire type 2
  bytes += static_cast<char>(body.size());
  bytes += body;
  auto decoded = decode_envelope(codec_bytes(bytes));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  ASSERT_EQ(type_of(*decoded), MessageType::Unknown);
  EXPECT_EQ(message_id(*decoded), codec_id(0x2a));

  // Also an unknown varint field and an envelope with no body at all.
  std::string varint_body = encode_envelope(UnknownMessage{codec_id(0x2b)}) + "\xa0\x06\x01";
  decoded = decode_envelope(codec_bytes(varint_body));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<UnknownMessage>(*decoded).message_id, codec_id(0x2b));

  // ...but the id rules still hold: no id, no message.
  decoded = decode_envelope(codec_bytes(std::string("\x9a\x06\x00", 3)));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::InvalidMessage);
}

TEST(MessageCodec, DeepValuesUpToTheLimitDecode) {
  // 64 levels of maps is 192 protobuf nesting levels, beyond protobuf's
  // default limit of 100: the codec must raise it to accept what it promises.
  Json filter = "leaf";
  for (int i = 0; i < detail::kMaxValueDepth; ++i) filter = Json{{"k", std::move(filter)}};
  QueryMessage q = std::get<QueryMessage>(sample_messages()[1]);
  q.query.filter = filter;
  auto decoded = decode_envelope(codec_bytes(encode_envelope(q)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  expect_same(*decoded, q);

  // One level more is refused.
  wire::Envelope env = envelope_of(q);
  wire::Value* v = env.mutable_query()->mutable_query()->mutable_filter();
  while (v->has_map_value()) v = v->mutable_map_value()->mutable_entries(0)->mutable_value();
  v->mutable_list_value()->add_values()->set_int_value(1);
  expect_invalid(env, "65 levels");
}

TEST(MessageCodec, HostileNestingIsRefusedWithoutExhaustingTheStack) {
  // 5000 nested lists as raw bytes: Envelope{Query{Query{filter: Value{list: ...}}}}.
  // Built inside out; each level is a length-delimited field.
  auto wrap = [](std::uint8_t tag, const std::string& inner) {
    std::string out(1, static_cast<char>(tag));
    std::size_t n = inner.size();
    while (n >= 0x80) {
      out += static_cast<char>((n & 0x7f) | 0x80);
      n >>= 7;
    }
    out += static_cast<char>(n);
    return out + inner;
  };
  std::string value = "\x18\x02";  // int_value = 1 (zigzag)
  for (int i = 0; i < 5000; ++i) value = wrap(0x0a, wrap(0x3a, value));  // ListValue.values / Value.list_value
  std::string bytes = std::string("\x0a\x10", 2) + std::string(16, '\x01') +
                      wrap(0x5a, wrap(0x0a, wrap(0x2a, value)));
  auto decoded = decode_envelope(codec_bytes(bytes));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::InvalidMessage);
}

TEST(MessageCodec, TooDeepResultValueIsSentAsInvalidData) {
  Json deep = 1;
  for (int i = 0; i < detail::kMaxValueDepth + 1; ++i) deep = Json::array({std::move(deep)});
  QueryResponseMessage r;
  r.message_id = codec_id(1);
  r.query_id = codec_id(2);
  r.result.results = {{"ok", Json(5)}, {"deep", deep}};
  auto decoded = decode_envelope(codec_bytes(encode_envelope(r)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  const auto& results = std::get<QueryResponseMessage>(*decoded).result.results;
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].value(), Json(5));
  ASSERT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].field, "deep");
  EXPECT_EQ(results[1].error().kind, SchemaError::Kind::InvalidData);
}

TEST(MessageCodec, UnparsableAnnouncementBytesGoAsEmptyAnnouncement) {
  NodeAnnouncementMessage a;
  a.message_id = codec_id(1);
  a.signed_announcement = "\xff\xff not protobuf";
  auto decoded = decode_envelope(codec_bytes(encode_envelope(a)));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<NodeAnnouncementMessage>(*decoded).signed_announcement, "");
}

}  // namespace
}  // namespace datafold::net
