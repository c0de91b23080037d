#include "builtin_schema.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

namespace datafold::app {

namespace {

using net::FieldResult;
using net::Json;
using net::SchemaError;

constexpr std::array<std::string_view, 4> kFields = {"username", "display_name", "email", "phone"};

// Sample people with reserved example domains and 555 numbers: nothing here is real.
const Json& rows() {
  static const Json kRows = Json::array({
      {{"username", "alice"}, {"display_name", "Alice Liddell"},
       {"email", "alice@example.org"}, {"phone", "+1-555-0100"}},
      {{"username", "bob"}, {"display_name", "Bob Stone"},
       {"email", "bob@example.org"}, {"phone", "+1-555-0101"}},
      {{"username", "carol"}, {"display_name", "Carol Reyes"},
       {"email", "carol@example.net"}, {"phone", "+1-555-0102"}},
  });
  return kRows;
}

bool is_field(std::string_view name) {
  return std::find(kFields.begin(), kFields.end(), name) != kFields.end();
}

net::QueryResult every_field_fails(const net::Query& query, SchemaError::Kind kind,
                                   const std::string& message) {
  net::QueryResult out;
  out.results.reserve(query.fields.size());
  for (const auto& field : query.fields) out.results.push_back(FieldResult{field, SchemaError{kind, message}});
  return out;
}

// Why the filter cannot be applied, if it cannot.
std::optional<std::pair<SchemaError::Kind, std::string>> check_filter(const Json& filter) {
  if (!filter.is_object())
    return std::pair{SchemaError::Kind::InvalidData, std::string("filter must be a JSON object {field: value}")};
  for (const auto& [name, value] : filter.items()) {
    if (!is_field(name))
      return std::pair{SchemaError::Kind::InvalidField,
                       "filter names unknown field '" + name + "' of schema " + std::string(kBuiltinSchemaName)};
  }
  return std::nullopt;
}

bool matches(const Json& row, const Json* filter) {
  if (filter == nullptr) return true;
  for (const auto& [name, value] : filter->items())
    if (row.at(name) != value) return false;
  return true;
}

}  // namespace

std::vector<net::SchemaInfo> builtin_schemas() {
  return {net::SchemaInfo{std::string(kBuiltinSchemaName), std::string(kBuiltinSchemaVersion),
                          std::string("Built-in sample user profiles (until the SQLite store lands)")}};
}

net::QueryResult answer_builtin_query(const net::Query& query) {
  if (query.schema_name != kBuiltinSchemaName)
    return every_field_fails(query, SchemaError::Kind::NotFound,
                             "schema '" + query.schema_name + "' not found");

  // A JSON null filter means "no filter", as an absent one does.
  const Json* filter = query.filter && !query.filter->is_null() ? &*query.filter : nullptr;
  if (filter != nullptr) {
    if (auto bad = check_filter(*filter)) return every_field_fails(query, bad->first, bad->second);
  }

  net::QueryResult out;
  out.results.reserve(query.fields.size());
  for (const auto& field : query.fields) {
    if (!is_field(field)) {
      out.results.push_back(FieldResult{
          field, SchemaError{SchemaError::Kind::InvalidField,
                             "schema " + std::string(kBuiltinSchemaName) + " has no field '" + field + "'"}});
      continue;
    }
    Json values = Json::array();
    for (const auto& row : rows())
      if (matches(row, filter)) values.push_back(row.at(field));
    out.results.push_back(FieldResult{field, std::move(values)});
  }
  return out;
}

}  // namespace datafold::app
