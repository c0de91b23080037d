// QueryCursors: turns a store position into the opaque cursor a limited answer ends
// with, and back when a later query brings it (PROTOCOL.md section 7.9).
//
// A cursor is bound to the requester's key and to the query's shape (schema,
// fields, filter): it is an HMAC under a key only this node holds, so a cursor
// replayed by another identity, for another query, or edited, opens to nothing.
// The position inside is the data layer's (e.g. the last row id it served); the
// requester learns nothing from it it could not learn from the rows it was sent.
// The key is made at start: cursors live as long as the node process.
//
// Format: 0x01 || position || tag, tag = the first 16 bytes of
// HMAC-SHA256(key, "datafold/cursor/v1" 0x00 || requester key (32) ||
// str(schema) || u32 field count || str(field)... || 0x00 | 0x01 value(filter) ||
// str(position)), with the canonical encodings of trust_proof.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "datafold/net/public_key.hpp"
#include "datafold/net/query.hpp"

namespace datafold::net::detail {

class QueryCursors {
 public:
  static constexpr std::size_t kTagBytes = 16;
  // A position longer than this is refused when sealing (it is the data layer's
  // own bookkeeping: a row id, a key).
  static constexpr std::size_t kMaxPositionBytes = 256;

  // A fresh random key.
  QueryCursors();
  // A given key: for tests.
  explicit QueryCursors(const std::array<std::uint8_t, 32>& key) : key_(key) {}

  // The cursor for continuing `query` by `requester` after `position`; empty if the
  // position is too long to seal.
  std::string seal(const PublicKey& requester, const Query& query, std::string_view position) const;

  // The position sealed in `cursor`, or nullopt when this node did not make it for
  // this requester and this query (or it was altered).
  std::optional<std::string> open(const PublicKey& requester, const Query& query, std::string_view cursor) const;

 private:
  std::array<std::uint8_t, kTagBytes> tag(const PublicKey& requester, const Query& query,
                                          std::string_view position) const;

  std::array<std::uint8_t, 32> key_{};
};

}  // namespace datafold::net::detail
