// Json <-> datafold.wire.Value: how JSON values travel (docs/PROTOCOL.md, "Values").
// Private to the library; message_codec.cpp is its user.
#pragma once

#include <cstddef>
#include <string_view>

#include "datafold.pb.h"
#include "datafold/net/json.hpp"

namespace datafold::net::detail {

// Containers (lists, maps) nested deeper than this are refused on decode, so a
// hostile peer cannot drive the recursive decoder (ours or protobuf's) off the stack.
inline constexpr int kMaxValueDepth = 64;

// Protobuf's own parser counts every nested message: a map level costs three
// (MapValue, MapEntry, Value), and a value sits a few messages below the
// Envelope. Its default limit (100) would refuse values we accept, so the
// envelope parser is given this one instead.
inline constexpr int kProtoRecursionLimit = 3 * kMaxValueDepth + 16;

enum class ValueStatus {
  Ok,
  TooDeep,       // nested deeper than kMaxValueDepth
  KindNotSet,    // decode: a Value with no kind (or one this build does not know)
  DuplicateKey,  // decode: a map naming the same key twice
};

std::string_view to_string(ValueStatus status) noexcept;

// Writes `in` into `out` (which should be empty). Never fails outright: a
// subtree deeper than kMaxValueDepth is written as null and TooDeep is
// returned, so the caller can decide whether to send it. Unsigned integers
// above INT64_MAX become doubles; strings that are not valid UTF-8 go as
// bytes_value, because protobuf peers refuse a string field that is not UTF-8.
ValueStatus encode_value(const Json& in, ::datafold::wire::Value& out);

// Reads `in` into `out`. bytes_value becomes a JSON binary. On failure `out`
// holds a partial value and must be discarded.
ValueStatus decode_value(const ::datafold::wire::Value& in, Json& out);

// True when `value` nests no deeper than kMaxValueDepth (what a peer accepts).
bool value_depth_ok(const Json& value) noexcept;

// RFC 3629 UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace datafold::net::detail
