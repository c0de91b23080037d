// Query and QueryResult: fold_db's shapes, with each result naming its field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "datafold/net/json.hpp"

namespace datafold::net {

struct Query {
  std::string schema_name;
  std::vector<std::string> fields;
  // The requester's public key (text form). On the serving side this is the
  // verified key of the connection, never the client's word.
  std::string pub_key;
  // Claimed by the client; on the serving side, the effective distance.
  std::uint32_t trust_distance = 0;
  std::optional<Json> filter;
  // At most this many rows in the answer; 0: no limit. When rows remain past it,
  // the answer carries a cursor (QueryResult::cursor) to continue from.
  std::uint32_t limit = 0;
  // Continue an earlier answer: the cursor it ended with. Opaque bytes, valid only
  // for the same query (schema, fields, filter) by the same requester on the node
  // that made it, while that node runs. Empty: from the first row.
  std::string cursor{};  // (an initializer, so aggregate initialization may leave it out)

  friend bool operator==(const Query&, const Query&) = default;
};

struct SchemaError {
  enum class Kind {
    NotFound,
    InvalidField,
    InvalidPermission,
    InvalidTransform,
    InvalidData,
    InvalidDSL,
    MappingError,
  };
  Kind kind = Kind::NotFound;
  std::string message;

  friend bool operator==(const SchemaError&, const SchemaError&) = default;
};

std::string_view to_string(SchemaError::Kind kind) noexcept;

// One requested field's outcome: its value, or why it is not there.
struct FieldResult {
  std::string field;
  std::variant<Json, SchemaError> outcome;

  bool ok() const noexcept { return outcome.index() == 0; }
  const Json& value() const { return std::get<Json>(outcome); }
  const SchemaError& error() const { return std::get<SchemaError>(outcome); }

  friend bool operator==(const FieldResult&, const FieldResult&) = default;
};

// One entry per requested field, in request order. A readable field's value is
// the JSON array of its values over the matching rows, the arrays aligned (index i
// of each is the same row). A streamed answer arrives as several QueryResults,
// each holding the next rows.
struct QueryResult {
  std::vector<FieldResult> results;
  // Set on (the last part of) an answer cut by Query::limit while rows remain:
  // send the query again with this cursor for the next rows.
  std::string cursor{};  // (an initializer, so aggregate initialization may leave it out)

  // The entry for `field`, or nullptr.
  const FieldResult* find(std::string_view field) const noexcept {
    for (const auto& r : results)
      if (r.field == field) return &r;
    return nullptr;
  }

  friend bool operator==(const QueryResult&, const QueryResult&) = default;
};

}  // namespace datafold::net
