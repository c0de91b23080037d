// Checks the test vectors in docs/PROTOCOL.md against the codec, both ways:
// every vector decodes to the message the spec says it is, and encoding that
// message gives the vector's bytes. The document, not this file, is the
// contract; if they disagree, the failure prints what the codec produces.
#include "datafold/net/message_codec.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "datafold/net/identity.hpp"
#include "datafold/net/query_service.hpp"

#ifndef DATAFOLD_SOURCE_DIR
#error "DATAFOLD_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif

namespace datafold::net {
namespace {

constexpr const char* kProtocolDoc = DATAFOLD_SOURCE_DIR "/docs/PROTOCOL.md";

std::span<const std::uint8_t> vector_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string to_hex_block(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (i > 0) out += (i % 16 == 0) ? '\n' : ' ';
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

Uuid uuid_of(std::uint8_t nibble) {
  // 1111...-...-4111-8111-..., a valid v4 layout that is easy to spot in hex.
  std::array<std::uint8_t, Uuid::kSize> b{};
  b.fill(static_cast<std::uint8_t>(nibble * 0x11));
  b[6] = static_cast<std::uint8_t>(0x40 | nibble);
  b[8] = static_cast<std::uint8_t>(0x80 | nibble);
  return Uuid{b};
}

template <std::size_t N>
std::array<std::uint8_t, N> from_hex(std::string_view hex) {
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i)
    out[i] = static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  return out;
}

// RFC 8032 test 1's public key, and its node id (SHA-256 of it).
const PublicKey kKey{from_hex<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")};
const NodeId kNodeId{from_hex<32>("21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9")};

// Envelope field 99 = { 1: "future" }: a body this version does not know.
const std::string kUnknownBody = std::string("\x9a\x06\x08\x0a\x06", 5) + "future";

// RFC 8032 section 7.1, test 1: the key of section 2, from its fixed seed.
Identity rfc8032_test1_identity() {
  return std::move(Identity::from_pem("-----BEGIN PRIVATE KEY-----\n"
                                      "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
                                      "-----END PRIVATE KEY-----\n")
                       .value());
}

struct Vector {
  Message message;
  std::string trailing;  // bytes the codec does not emit (unknown fields), appended to its encoding
};

// The values the document's vectors are stated to hold.
std::map<std::string, Vector> expected_vectors() {
  std::map<std::string, Vector> v;

  HelloMessage hello;
  hello.message_id = uuid_of(1);
  hello.min_version = 1;
  hello.max_version = 1;
  hello.node_id = kNodeId;
  hello.listen_port = 9000;
  hello.capabilities = {true, true};
  hello.agent = "datafold-net/0.1.0";
  hello.network_name = "datafold";
  v["hello"] = {hello, {}};
  // The same Hello as a node sends it since field 8: where it saw the peer come from.
  hello.observed_address = "[2001:db8::7]:49152";
  v["hello-observed"] = {hello, {}};

  QueryMessage query;
  query.query_id = uuid_of(2);
  query.query.schema_name = "UserProfile";
  query.query.fields = {"username", "email"};
  query.query.pub_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  query.query.trust_distance = 1;
  query.query.filter = Json{{"age", {{"gte", 18}}}, {"name", "alice"}, {"tags", {"a", true, nullptr, 1.5}}};
  query.trust_proof.public_key = kKey;
  query.trust_proof.trust_distance = 1;
  query.trust_proof.timestamp_ms = 1'700'000'000'000;
  v["query"] = {query, {}};
  // The same query relayed on the key's behalf, so signed (section 7.2): the signature is
  // made here from RFC 8032 test 1's seed (Ed25519 signatures are deterministic), not
  // copied from the document.
  QueryMessage signed_query = query;
  signed_query.trust_proof = make_trust_proof(rfc8032_test1_identity(), query.query_id, query.query,
                                              query.trust_proof.trust_distance, query.trust_proof.timestamp_ms,
                                              /*sign=*/true);
  v["query-signed"] = {signed_query, {}};

  QueryResponseMessage response;
  response.message_id = uuid_of(3);
  response.query_id = uuid_of(2);
  response.result.results = {
      {"username", Json("alice")},
      {"email", SchemaError{SchemaError::Kind::InvalidPermission, "requires trust distance 0"}},
  };
  v["query-response"] = {response, {}};

  v["list-schemas-request"] = {ListSchemasRequestMessage{uuid_of(4)}, {}};

  // Answers in parts and cursors (section 7.8, 7.9).
  const std::string cursor = std::string("\x01", 1) + "4096" + std::string(16, '\x5c');
  QueryMessage in_parts;
  in_parts.query_id = uuid_of(12);
  in_parts.query.schema_name = "Orders";
  in_parts.query.fields = {"id", "total"};
  in_parts.query.limit = 1000;
  in_parts.query.cursor = cursor;
  in_parts.trust_proof.public_key = kKey;
  in_parts.trust_proof.timestamp_ms = 1'700'000'000'000;
  in_parts.stream_window = 8;
  v["query-in-parts"] = {in_parts, {}};
  QueryResponseMessage first_part;
  first_part.message_id = uuid_of(13);
  first_part.query_id = uuid_of(12);
  first_part.result.results = {{"id", Json{4097, 4098}}, {"total", Json{9.5, 12}}};
  first_part.part = 0;
  first_part.more = true;
  v["query-response-part"] = {first_part, {}};
  QueryResponseMessage last_part;
  last_part.message_id = uuid_of(14);
  last_part.query_id = uuid_of(12);
  last_part.result.results = {{"id", Json{4099}}, {"total", Json{7}}};
  last_part.result.cursor = std::string("\x01", 1) + "4099" + std::string(16, '\x5c');
  last_part.part = 1;
  last_part.more = false;
  v["query-response-last-part"] = {last_part, {}};
  v["query-credit"] = {QueryCreditMessage{uuid_of(15), uuid_of(12), 1, false}, {}};
  v["query-cancel"] = {QueryCreditMessage{uuid_of(6), uuid_of(12), 0, true}, {}};

  SchemaListResponseMessage schemas;
  schemas.message_id = uuid_of(5);
  schemas.request_id = uuid_of(4);
  schemas.schemas = {{"UserProfile", "1.0", "Public user profile"}, {"Orders", "2", std::nullopt}};
  v["schema-list-response"] = {schemas, {}};
  SchemaListResponseMessage with_fields;
  with_fields.message_id = uuid_of(5);
  with_fields.request_id = uuid_of(4);
  with_fields.schemas = {{"UserProfile", "1.0", "Public user profile",
                          {{"username", "string", true}, {"email", "string", false}, {"notes", "", true}}}};
  v["schema-list-response-fields"] = {with_fields, {}};

  ErrorMessage error;
  error.message_id = uuid_of(6);
  error.related_message_id = uuid_of(2);
  error.code = ErrorCode::SchemaNotFound;
  error.message = "schema not found";
  error.details = "Missing";
  v["error"] = {error, {}};
  ErrorMessage invalid_dsl;
  invalid_dsl.message_id = uuid_of(6);
  invalid_dsl.related_message_id = uuid_of(2);
  invalid_dsl.code = ErrorCode::InvalidDsl;
  invalid_dsl.message = "filter names unknown field 'age' of schema UserProfile";
  v["error-invalid-dsl"] = {invalid_dsl, {}};

  v["ping"] = {PingMessage{uuid_of(7), 1'700'000'000'000'000}, {}};
  v["pong"] = {PongMessage{uuid_of(9), uuid_of(7), 1'700'000'000'000'000}, {}};
  v["unknown-body"] = {UnknownMessage{uuid_of(8)}, kUnknownBody};

  v["dial-back-request"] = {DialBackRequestMessage{uuid_of(10), 9000}, {}};
  v["dial-back-response"] = {DialBackResponseMessage{uuid_of(11), uuid_of(10), true, "198.51.100.7:9000", ""}, {}};

  RelayRequestMessage reserve;
  reserve.request_id = uuid_of(12);
  reserve.kind = RelayRequestMessage::Kind::Reserve;
  v["relay-reserve"] = {reserve, {}};
  RelayResponseMessage reserved;
  reserved.message_id = uuid_of(13);
  reserved.request_id = uuid_of(12);
  reserved.status = RelayResponseMessage::Status::Ok;
  reserved.max_circuit_seconds = 1800;
  reserved.max_circuit_bytes = 268'435'456;
  v["relay-reserved"] = {reserved, {}};
  RelayRequestMessage connect;
  connect.request_id = uuid_of(14);
  connect.kind = RelayRequestMessage::Kind::Connect;
  connect.node = kNodeId;
  v["relay-connect"] = {connect, {}};
  RelayToken token;
  for (std::size_t i = 0; i < token.size(); ++i) token[i] = static_cast<std::uint8_t>(0xa0 + i);
  RelayRequestMessage invite;
  invite.request_id = uuid_of(15);
  invite.kind = RelayRequestMessage::Kind::Invite;
  invite.node = kNodeId;
  invite.token = token;
  v["relay-invite"] = {invite, {}};
  RelayResponseMessage circuit;
  circuit.message_id = uuid_of(16);
  circuit.request_id = uuid_of(14);
  circuit.status = RelayResponseMessage::Status::Ok;
  circuit.token = token;
  v["relay-circuit"] = {circuit, {}};

  HolePunchMessage punch;
  punch.request_id = uuid_of(1);
  punch.phase = HolePunchMessage::Phase::Connect;
  punch.addresses = {"203.0.113.9:41000"};
  v["hole-punch-connect"] = {punch, {}};
  v["hole-punch-response"] = {HolePunchResponseMessage{uuid_of(2), uuid_of(1), {"198.51.100.4:52000"}, false}, {}};
  punch.request_id = uuid_of(3);
  punch.phase = HolePunchMessage::Phase::Sync;
  v["hole-punch-sync"] = {punch, {}};
  return v;
}

// Field-by-field equality (the message structs have no operator==).
void expect_same_message(const Message& got, const Message& want) {
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

struct DocVector {
  std::string name;
  std::string frame;  // raw bytes
  int line = 0;
};

// Every fenced block opened with ```hex: a "name: <name>" line, then the
// frame's bytes as hex (whitespace ignored).
std::vector<DocVector> read_doc_vectors(std::string& error) {
  std::ifstream in(kProtocolDoc);
  if (!in) {
    error = std::string("cannot open ") + kProtocolDoc;
    return {};
  }
  std::vector<DocVector> out;
  std::string line;
  int line_no = 0;
  DocVector* current = nullptr;
  std::string hex;
  while (std::getline(in, line)) {
    ++line_no;
    if (!current) {
      if (line == "```hex") {
        current = &out.emplace_back();
        current->line = line_no;
        hex.clear();
      }
      continue;
    }
    if (line.rfind("```", 0) == 0) {
      if (hex.size() % 2 != 0) error += "odd hex digit count in block at line " + std::to_string(current->line) + "\n";
      for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        current->frame += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
      current = nullptr;
      continue;
    }
    if (line.rfind("name:", 0) == 0) {
      std::istringstream words(line.substr(5));
      words >> current->name;
      continue;
    }
    for (char c : line) {
      if (std::isxdigit(static_cast<unsigned char>(c)))
        hex += c;
      else if (!std::isspace(static_cast<unsigned char>(c)))
        error += "unexpected '" + std::string(1, c) + "' at line " + std::to_string(line_no) + "\n";
    }
  }
  if (current) error += "unterminated hex block at line " + std::to_string(current->line) + "\n";
  return out;
}

std::string codec_frame(const Vector& v) {
  std::string envelope = encode_envelope(v.message) + v.trailing;
  const auto n = static_cast<std::uint32_t>(envelope.size());
  std::string frame = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                       static_cast<char>(n)};
  return frame + envelope;
}

TEST(ProtocolVectors, DocumentHasEveryVector) {
  std::string error;
  const auto doc = read_doc_vectors(error);
  ASSERT_TRUE(error.empty()) << error;
  const auto expected = expected_vectors();
  std::map<std::string, int> seen;
  for (const auto& d : doc) {
    ++seen[d.name];
    EXPECT_TRUE(expected.count(d.name)) << "line " << d.line << ": vector '" << d.name
                                        << "' has no expected value in this test";
  }
  for (const auto& [name, v] : expected) {
    EXPECT_EQ(seen[name], 1) << "docs/PROTOCOL.md should hold vector '" << name
                             << "' exactly once; the codec encodes it as:\n```hex\nname: " << name << "\n"
                             << to_hex_block(codec_frame(v)) << "\n```";
  }
}

TEST(ProtocolVectors, VectorsDecodeToTheirMessages) {
  std::string error;
  const auto doc = read_doc_vectors(error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_FALSE(doc.empty());
  const auto expected = expected_vectors();
  for (const auto& d : doc) {
    SCOPED_TRACE("vector '" + d.name + "' at docs/PROTOCOL.md:" + std::to_string(d.line));
    const auto it = expected.find(d.name);
    if (it == expected.end()) continue;  // reported by DocumentHasEveryVector
    const Vector& want = it->second;

    // Through the frame decoder, as a connection reads it.
    FrameDecoder frames;
    frames.feed(vector_bytes(d.frame));
    std::span<const std::uint8_t> payload;
    ASSERT_EQ(frames.next(payload), FrameDecoder::Status::Frame);
    EXPECT_EQ(frames.buffered_bytes(), 0u) << "bytes after the frame";
    auto decoded = decode_envelope(payload);
    ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
    expect_same_message(*decoded, want.message);

    // And back: the codec produces exactly the document's bytes.
    std::string reencoded;
    append_frame(*decoded, reencoded);
    if (want.trailing.empty()) {
      EXPECT_EQ(to_hex_block(reencoded), to_hex_block(d.frame));
    } else {
      // Unknown fields are not kept: the re-encoding is the envelope
      // without them (and a shorter header).
      EXPECT_EQ(to_hex_block(reencoded.substr(kFrameHeaderBytes) + want.trailing),
                to_hex_block(d.frame.substr(kFrameHeaderBytes)));
    }
    EXPECT_EQ(to_hex_block(d.frame), to_hex_block(codec_frame(want)))
        << "the codec encodes '" << d.name << "' as:\n```hex\nname: " << d.name << "\n"
        << to_hex_block(codec_frame(want)) << "\n```";
  }
}

}  // namespace
}  // namespace datafold::net
