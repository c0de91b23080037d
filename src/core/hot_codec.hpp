// The hot codec: the two envelopes every query exchanges, a QueryRequest and its
// QueryResponse, encoded and decoded by hand instead of through protobuf's
// generated objects: building, parsing and freeing those objects cost a query
// about a quarter of all its instructions, client and server together.
//
// Byte for byte the same protocol: the encoder writes exactly what protobuf's
// serializer writes for the Envelope message_codec.cpp builds, and the decoder
// takes only envelopes it can read exactly as protobuf would — anything else
// (another message, an unknown or repeated field, bytes that are not UTF-8 where
// text belongs, a value that would be refused) it declines, and the protobuf
// path decides. tests/unit/hot_codec_test.cpp and fuzz/envelope_fuzzer.cpp hold
// the two paths to agreeing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "datafold/net/message.hpp"

namespace datafold::net::detail {

// Appends the envelope of `message` to `out` (after its 4-byte frame header when
// `framed`) if it is a QueryMessage or QueryResponseMessage; false, with nothing
// appended, for any other message.
bool append_hot_envelope(const Message& message, std::string& out, bool framed);

// The QueryMessage or QueryResponseMessage in `bytes`, when the hot decoder takes
// it; nullopt when it declines (the caller then decodes with protobuf).
std::optional<Message> decode_hot_envelope(std::span<const std::uint8_t> bytes);
// The same, decoded into `out` (which it may leave half filled when it declines):
// decode_envelope's way, with no move of the message afterwards.
bool decode_hot_envelope_into(std::span<const std::uint8_t> bytes, Message& out);

// The stream window of the QueryMessage in `bytes` (what an I/O thread needs of a query
// to hand it on undecoded: whether it is answered in parts), read without decoding the
// query and with nothing allocated, when the envelope is laid out as
// append_hot_envelope writes a query: its message id, then its query body, and nothing
// else, the body's top-level fields each known and once. nullopt otherwise (a query
// laid out another way is decoded as any message is). An envelope peeked at here
// decodes (decode_envelope) to a QueryMessage with this window or to nothing, never to
// another message: what the query and the trust proof hold is not checked.
std::optional<std::uint32_t> peek_hot_query(std::span<const std::uint8_t> bytes);
// The id of the query in `bytes` if it starts as append_hot_envelope writes a query
// (its message id, then the tag of its query body), read from those 19 bytes alone:
// a hint for work that may start before the envelope is decoded. Nothing else is
// checked, so the envelope may yet fail to decode.
std::optional<Uuid> hot_query_id(std::span<const std::uint8_t> bytes);

// message_codec.cpp's protobuf path, which handles every message: for the tests
// that hold the hot codec to it.
std::string encode_envelope_by_protobuf(const Message& message);
NetworkResult<Message> decode_envelope_by_protobuf(std::span<const std::uint8_t> bytes);

}  // namespace datafold::net::detail
