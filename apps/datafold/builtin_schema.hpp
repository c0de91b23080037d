// The schema `datafold node` serves until the SQLite store lands: "UserProfile"
// version "1", fields username, display_name, email and phone, over a few fixed rows.
#pragma once

#include <string_view>
#include <vector>

#include <datafold/net/query.hpp>
#include <datafold/net/schema_info.hpp>

namespace datafold::app {

inline constexpr std::string_view kBuiltinSchemaName = "UserProfile";
inline constexpr std::string_view kBuiltinSchemaVersion = "1";

// What the schema list callback answers: the one built-in schema.
std::vector<net::SchemaInfo> builtin_schemas();

// Answers `query` from the built-in rows: one entry per requested field, in request
// order. A field's value is the JSON array of that field over every row matching the
// optional filter (a JSON object {field: value}, all pairs must be equal). An unknown
// field gets SchemaError InvalidField; an unknown schema gets NotFound for every field;
// a filter that is not an object, or names an unknown field, gets InvalidData /
// InvalidField for every field. Pure: safe to call from several threads at once.
net::QueryResult answer_builtin_query(const net::Query& query);

}  // namespace datafold::app
