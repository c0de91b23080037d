// The hot codec (core/hot_codec.hpp) against protobuf's: the same bytes out for
// every QueryRequest and QueryResponse, the same message in for every envelope
// it takes, and every envelope it declines still read (by protobuf).
#include "core/hot_codec.hpp"

#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "core/value_codec.hpp"
#include "datafold/net/message_codec.hpp"

namespace datafold::net::detail {
namespace {

// Protobuf logs every string field that is not UTF-8, and these tests make many.
const bool quiet_protobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string hot_bytes(const Message& message) {
  std::string out;
  EXPECT_TRUE(append_hot_envelope(message, out, false));
  return out;
}

class Random {
 public:
  explicit Random(std::uint32_t seed) : engine_(seed) {}
  std::uint64_t below(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(engine_); }
  bool coin() { return below(2) == 0; }

  // Short and often empty, sometimes multi-byte UTF-8, now and then not UTF-8 (a
  // value then travels as bytes; a text field cannot be read back).
  std::string text() {
    static const char* const kValid[] = {"", "a", "payload", "Grüße", "日本"};
    static const char* const kInvalid[] = {"\xff\xfe", "a\xc3", "\xed\xa0\x80"};
    if (below(40) == 0) return kInvalid[below(std::size(kInvalid))];
    if (coin()) return kValid[below(std::size(kValid))];
    // Now and then long enough for a three-byte length.
    std::string s(below(200) == 0 ? 16384 + below(5000) : below(40), 'x');
    for (auto& c : s) c = static_cast<char>(32 + below(95));
    return s;
  }
  std::uint32_t u32() {
    static const std::uint32_t kSamples[] = {0, 1, 127, 128, 16383, 16384, 0xFFFFFFFFu};
    return coin() ? kSamples[below(std::size(kSamples))] : static_cast<std::uint32_t>(below(1ull << 32));
  }
  std::int64_t i64() {
    static const std::int64_t kSamples[] = {0, 1, -1, 63, -64, std::numeric_limits<std::int64_t>::max(),
                                            std::numeric_limits<std::int64_t>::min()};
    return coin() ? kSamples[below(std::size(kSamples))] : static_cast<std::int64_t>(engine_());
  }

  Json value(int depth) {
    switch (below(depth > 4 ? 8 : 10)) {
      case 0: return nullptr;
      case 1: return coin();
      case 2: return i64();
      case 3: return coin() ? std::numeric_limits<std::uint64_t>::max() - below(10) : below(1000);
      case 4: return coin() ? -0.0 : static_cast<double>(i64()) / 7.0;
      case 5: return text();
      case 6: return Json::binary(Json::binary_t::container_type(below(5), 0xAB));
      case 7: return text().empty() ? Json("") : Json(Json::binary_t::container_type{});
      case 8: {
        Json list = Json::array();
        for (std::uint64_t i = below(4); i > 0; --i) list.push_back(value(depth + 1));
        return list;
      }
      default: {
        Json map = Json::object();
        for (std::uint64_t i = below(4); i > 0; --i) map[text()] = value(depth + 1);
        return map;
      }
    }
  }

  QueryMessage query() {
    QueryMessage m;
    m.query_id = Uuid::random();
    m.query.schema_name = text();
    for (std::uint64_t i = below(4); i > 0; --i) m.query.fields.push_back(text());
    m.query.pub_key = text();
    m.query.trust_distance = u32();
    if (coin()) m.query.filter = value(0);
    m.query.limit = u32();
    m.query.cursor = text();
    std::array<std::uint8_t, PublicKey::kSize> key{};
    for (auto& b : key) b = static_cast<std::uint8_t>(below(256));
    m.trust_proof.public_key = *PublicKey::from_bytes(key);
    if (coin()) m.trust_proof.signature.assign(64, static_cast<std::uint8_t>(below(256)));
    m.trust_proof.trust_distance = u32();
    m.trust_proof.timestamp_ms = i64();
    m.stream_window = u32();
    return m;
  }

  QueryResponseMessage response() {
    QueryResponseMessage m;
    m.message_id = Uuid::random();
    m.query_id = Uuid::random();
    for (std::uint64_t i = below(4); i > 0; --i) {
      auto& r = m.result.results.emplace_back();
      r.field = text();
      if (coin())
        r.outcome = value(0);
      else
        r.outcome = SchemaError{static_cast<SchemaError::Kind>(below(7)), text()};
    }
    m.result.cursor = text();
    m.part = u32();
    m.more = coin();
    return m;
  }

 private:
  std::mt19937_64 engine_;
};

Json nested_lists(int levels) {
  Json j = 1;
  for (int i = 0; i < levels; ++i) j = Json::array({std::move(j)});
  return j;
}

// What protobuf's path makes of `bytes`, re-encoded by protobuf: a canonical form
// to compare decodes by (NaN compares unequal to itself; its bytes do not).
std::string protobuf_reading(std::span<const std::uint8_t> bytes) {
  auto decoded = decode_envelope_by_protobuf(bytes);
  return decoded ? encode_envelope_by_protobuf(*decoded) : "refused: " + decoded.error().to_string();
}

std::string hot_reading(std::span<const std::uint8_t> bytes) {
  auto decoded = decode_hot_envelope(bytes);
  return decoded ? encode_envelope_by_protobuf(*decoded) : "declined";
}

TEST(HotCodec, WritesExactlyWhatProtobufWritesForQueriesAndResponses) {
  Random random(20261202);
  int declined = 0;
  for (int i = 0; i < 3000; ++i) {
    const Message message = random.coin() ? Message(random.query()) : Message(random.response());
    const std::string hot = hot_bytes(message);
    ASSERT_EQ(hot, encode_envelope_by_protobuf(message)) << "message " << i;
    // And reads it back as protobuf does. It declines only what protobuf refuses
    // (text that is not UTF-8).
    const std::string read = hot_reading(bytes_of(hot));
    const std::string expected = protobuf_reading(bytes_of(hot));
    if (read == "declined") {
      ASSERT_EQ(expected.rfind("refused", 0), 0u) << "message " << i;
      ++declined;
    } else {
      ASSERT_EQ(read, expected) << "message " << i;
    }
  }
  EXPECT_LT(declined, 1500);  // most were read, not declined
}

TEST(HotCodec, AFrameIsTheLengthThenTheEnvelope) {
  Random random(7);
  const Message message = random.response();
  std::string frame = "before";
  append_frame(message, frame);
  const std::string envelope = encode_envelope_by_protobuf(message);
  ASSERT_EQ(frame.size(), 6 + 4 + envelope.size());
  const auto* p = reinterpret_cast<const std::uint8_t*>(frame.data() + 6);
  EXPECT_EQ((std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3], envelope.size());
  EXPECT_EQ(frame.substr(10), envelope);
}

TEST(HotCodec, AValueTooDeepGoesAsThatFieldsErrorAndAFilterIsCutAsProtobufsPathDoes) {
  QueryResponseMessage response;
  response.result.results.push_back({"deep", nested_lists(kMaxValueDepth + 3)});
  response.result.results.push_back({"fine", nested_lists(kMaxValueDepth)});
  EXPECT_EQ(hot_bytes(response), encode_envelope_by_protobuf(response));
  auto decoded = decode_envelope(bytes_of(hot_bytes(response)));
  ASSERT_TRUE(decoded.ok());
  const auto& results = std::get<QueryResponseMessage>(*decoded).result.results;
  ASSERT_EQ(results.size(), 2u);
  ASSERT_FALSE(results[0].ok());
  EXPECT_EQ(results[0].error().kind, SchemaError::Kind::InvalidData);
  EXPECT_EQ(results[1].value(), nested_lists(kMaxValueDepth));

  QueryMessage query;
  query.query.filter = nested_lists(kMaxValueDepth + 3);
  EXPECT_EQ(hot_bytes(query), encode_envelope_by_protobuf(query));
}

Json nested_maps(int levels) {
  Json j = "leaf";
  for (int i = 0; i < levels; ++i) j = Json{{"k", std::move(j)}};
  return j;
}

TEST(HotCodec, MapsAtTheDepthLimitAndEveryErrorKindTravelAsProtobufsPathSendsThem) {
  QueryResponseMessage response;
  response.message_id = Uuid::random();
  response.query_id = Uuid::random();
  response.result.results.push_back({"deep", nested_maps(kMaxValueDepth + 1)});
  response.result.results.push_back({"edge", nested_maps(kMaxValueDepth)});
  for (int kind = 0; kind <= static_cast<int>(SchemaError::Kind::MappingError); ++kind)
    response.result.results.push_back({"e", SchemaError{static_cast<SchemaError::Kind>(kind), "why"}});
  const std::string bytes = hot_bytes(response);
  EXPECT_EQ(bytes, encode_envelope_by_protobuf(response));
  EXPECT_EQ(hot_reading(bytes_of(bytes)), protobuf_reading(bytes_of(bytes)));
  auto read = decode_envelope(bytes_of(bytes));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(std::get<QueryResponseMessage>(*read).result.results[1].value(), nested_maps(kMaxValueDepth));
}

// Protobuf reads a tag in at most five bytes and a length in at most five, below 2^31;
// longer ones (zero-padded, so the value is the same) make it refuse the envelope, and
// the hot decoder must not take them either.
TEST(HotCodec, OverlongTagsAndLengthsAreRefusedAsProtobufRefusesThem) {
  QueryMessage query;
  query.query_id = Uuid::random();
  query.query.schema_name = "S";
  const std::string bytes = hot_bytes(query);
  ASSERT_EQ(bytes.substr(0, 2), std::string("\x0a\x10", 2));  // message_id: tag 1, length 16
  const std::string padded_tag = std::string("\x8a\x80\x80\x80\x80\x00", 6) + bytes.substr(1);
  const std::string padded_length = std::string("\x0a\x90\x80\x80\x80\x80\x00", 7) + bytes.substr(2);
  const std::string five_byte_length = std::string("\x0a\x90\x80\x80\x80\x00", 6) + bytes.substr(2);
  for (const auto& damaged : {padded_tag, padded_length}) {
    EXPECT_FALSE(decode_hot_envelope(bytes_of(damaged)).has_value());
    EXPECT_FALSE(decode_envelope(bytes_of(damaged)).ok());
    EXPECT_EQ(protobuf_reading(bytes_of(damaged)).rfind("refused", 0), 0u);
  }
  // Five bytes is still protobuf's: both read it.
  EXPECT_EQ(hot_reading(bytes_of(five_byte_length)), protobuf_reading(bytes_of(five_byte_length)));
  EXPECT_NE(hot_reading(bytes_of(five_byte_length)), "declined");
}

TEST(HotCodec, OtherMessagesAreLeftToProtobuf) {
  std::string out;
  EXPECT_FALSE(append_hot_envelope(PingMessage{Uuid::random()}, out, true));
  EXPECT_TRUE(out.empty());
  const std::string ping = encode_envelope(PingMessage{Uuid::random()});
  EXPECT_FALSE(decode_hot_envelope(bytes_of(ping)).has_value());
  EXPECT_TRUE(decode_envelope(bytes_of(ping)).ok());
}

TEST(HotCodec, WhatItDeclinesProtobufStillReads) {
  Random random(11);
  QueryResponseMessage response = random.response();
  response.part = 3;
  const std::string hot = hot_bytes(response);
  // An unknown field (a newer sender's): protobuf skips it.
  std::string unknown = hot + std::string("\xa8\x06\x01", 3);  // field 101, varint 1
  EXPECT_FALSE(decode_hot_envelope(bytes_of(unknown)).has_value());
  auto read = decode_envelope(bytes_of(unknown));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(encode_envelope(*read), hot);
  // A field sent twice: protobuf keeps the last.
  QueryResponseMessage twice = response;
  twice.part = 9;
  std::string repeated = hot_bytes(twice);
  const std::string tail = hot_bytes(response);
  // Append a second QueryResponse body: protobuf merges it (part 3 wins, last).
  repeated += tail.substr(36);  // after message_id (18 bytes) and related_message_id (18 bytes)
  EXPECT_FALSE(decode_hot_envelope(bytes_of(repeated)).has_value());
  EXPECT_EQ(hot_reading(bytes_of(repeated)), "declined");
  auto merged = decode_envelope(bytes_of(repeated));
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(std::get<QueryResponseMessage>(*merged).part, 3u);
}

TEST(HotCodec, AnEnvelopeItTakesIsReadAsProtobufReadsItWhateverTheBytes) {
  // Differential: damaged envelopes (bytes flipped, cut, inserted). Whatever the hot
  // decoder takes, protobuf's path takes too, to the same message.
  Random random(31337);
  int taken = 0;
  for (int i = 0; i < 3000; ++i) {
    const Message message = random.coin() ? Message(random.query()) : Message(random.response());
    std::string bytes = hot_bytes(message);
    switch (random.below(3)) {
      case 0:
        for (std::uint64_t n = 1 + random.below(3); n > 0 && !bytes.empty(); --n)
          bytes[random.below(bytes.size())] = static_cast<char>(random.below(256));
        break;
      case 1:
        bytes.resize(random.below(bytes.size() + 1));
        break;
      default:
        bytes.insert(random.below(bytes.size() + 1), 1, static_cast<char>(random.below(256)));
        break;
    }
    const std::string hot = hot_reading(bytes_of(bytes));
    if (hot == "declined") continue;
    ++taken;
    ASSERT_EQ(hot, protobuf_reading(bytes_of(bytes))) << "case " << i;
  }
  EXPECT_GT(taken, 100);  // the comparison was made, not skipped
}

TEST(HotCodec, APeekReadsAQuerysStreamWindowAndNothingElse) {
  Random random(5);
  QueryMessage query = random.query();
  query.stream_window = 8;
  for (const std::string& bytes : {hot_bytes(query), encode_envelope_by_protobuf(query)})
    EXPECT_EQ(peek_hot_query(bytes_of(bytes)), std::optional<std::uint32_t>(8));
  query.stream_window = 0;
  EXPECT_EQ(peek_hot_query(bytes_of(hot_bytes(query))), std::optional<std::uint32_t>(0));

  // Not queries, or not laid out as queries are written: left to decode_envelope.
  EXPECT_FALSE(peek_hot_query(bytes_of(hot_bytes(random.response()))).has_value());
  EXPECT_FALSE(peek_hot_query(bytes_of(encode_envelope(PingMessage{Uuid::random()}))).has_value());
  const std::string bytes = hot_bytes(query);
  EXPECT_FALSE(peek_hot_query(bytes_of(bytes + std::string("\xa8\x06\x01", 3))).has_value());  // a field after
  EXPECT_FALSE(peek_hot_query(bytes_of(bytes + bytes.substr(18))).has_value());  // a second body
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(peek_hot_query(bytes_of(bytes.substr(0, cut))).has_value()) << "cut at " << cut;
}

TEST(HotCodec, AQuerysIdIsReadFromItsFirstBytes) {
  Random random(6);
  const QueryMessage query = random.query();
  for (const std::string& bytes : {hot_bytes(query), encode_envelope_by_protobuf(query)}) {
    EXPECT_EQ(hot_query_id(bytes_of(bytes)), std::optional<Uuid>(query.query_id));
    // The first 19 bytes are all it reads: the body's tag is the last of them.
    EXPECT_EQ(hot_query_id(bytes_of(bytes.substr(0, 19))), std::optional<Uuid>(query.query_id));
    EXPECT_FALSE(hot_query_id(bytes_of(bytes.substr(0, 18))).has_value());
  }
  EXPECT_FALSE(hot_query_id(bytes_of(hot_bytes(random.response()))).has_value());
  EXPECT_FALSE(hot_query_id(bytes_of(encode_envelope(PingMessage{Uuid::random()}))).has_value());
  EXPECT_FALSE(hot_query_id({}).has_value());
}

TEST(HotCodec, WhatAPeekTakesDecodesToAQueryWithThatWindowOrToNothing) {
  // A peek reads only the envelope and the query's top level: damaged bodies pass it,
  // and decoding them must then give a query with the peeked window or fail, never
  // another message.
  Random random(77);
  int peeked = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = hot_bytes(random.query());
    for (std::uint64_t n = 1 + random.below(3); n > 0 && !bytes.empty(); --n)
      bytes[random.below(bytes.size())] = static_cast<char>(random.below(256));
    const auto stream_window = peek_hot_query(bytes_of(bytes));
    if (!stream_window) continue;
    ++peeked;
    const auto decoded = decode_envelope(bytes_of(bytes));
    if (!decoded) continue;
    const auto* query = std::get_if<QueryMessage>(&*decoded);
    ASSERT_NE(query, nullptr) << "case " << i;
    EXPECT_EQ(query->stream_window, *stream_window) << "case " << i;
  }
  EXPECT_GT(peeked, 100);
}

}  // namespace
}  // namespace datafold::net::detail
