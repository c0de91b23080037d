#include "store/store_query_handler.hpp"

#include <string>
#include <utility>

#include "store/read_policy.hpp"

namespace datafold::store {

namespace {

using net::FieldResult;
using net::Json;
using net::SchemaError;

net::QueryResult every_field_fails(const net::Query& query, SchemaError::Kind kind, const std::string& message) {
  net::QueryResult out;
  out.results.reserve(query.fields.size());
  for (const auto& field : query.fields) out.results.push_back(FieldResult{field, SchemaError{kind, message}});
  return out;
}

// Why the filter cannot be used by `requester`, if it cannot.
std::optional<SchemaError> check_filter(const SchemaDefinition& schema, const Json& filter,
                                        const net::RequestContext& requester) {
  if (!filter.is_object())
    return SchemaError{SchemaError::Kind::InvalidData, "filter must be a JSON object {field: value}"};
  for (const auto& [name, value] : filter.items()) {
    const FieldDefinition* field = schema.find_field(name);
    if (field == nullptr)
      return SchemaError{SchemaError::Kind::InvalidField,
                         "filter names unknown field '" + name + "' of schema " + schema.name};
    if (auto decision = decide(field->policy, requester); !decision.allowed)
      return SchemaError{SchemaError::Kind::InvalidPermission,
                         "filter uses field '" + name + "', which " + decision.reason};
  }
  return std::nullopt;
}

}  // namespace

net::QueryResult answer_query(SqliteStore& store, const net::Query& query, const net::RequestContext& requester) {
  auto found = store.get_schema(query.schema_name);
  if (!found) return every_field_fails(query, SchemaError::Kind::InvalidData, "store error: " + found.error().message);
  if (!*found)
    return every_field_fails(query, SchemaError::Kind::NotFound, "schema '" + query.schema_name + "' not found");
  const SchemaDefinition& schema = **found;

  // A JSON null filter means "no filter", as an absent one does.
  const bool filtered = query.filter && !query.filter->is_null();
  if (filtered) {
    if (auto bad = check_filter(schema, *query.filter, requester)) return every_field_fails(query, bad->kind, bad->message);
  }

  net::QueryResult out;
  out.results.reserve(query.fields.size());
  std::vector<std::string> readable;
  std::vector<std::size_t> slots;  // readable[i] answers out.results[slots[i]]
  for (const auto& name : query.fields) {
    const FieldDefinition* field = schema.find_field(name);
    if (field == nullptr) {
      out.results.push_back(
          FieldResult{name, SchemaError{SchemaError::Kind::InvalidField,
                                        "schema " + schema.name + " has no field '" + name + "'"}});
      continue;
    }
    if (auto decision = decide(field->policy, requester); !decision.allowed) {
      out.results.push_back(FieldResult{
          name, SchemaError{SchemaError::Kind::InvalidPermission, "field '" + name + "' " + decision.reason}});
      continue;
    }
    slots.push_back(out.results.size());
    readable.push_back(name);
    out.results.push_back(FieldResult{name, Json::array()});
  }
  if (readable.empty()) return out;

  auto values = store.query(schema, readable, filtered ? query.filter : std::nullopt);
  for (std::size_t i = 0; i < readable.size(); ++i) {
    auto& outcome = out.results[slots[i]].outcome;
    if (values)
      outcome = std::move((*values)[i]);
    else
      outcome = SchemaError{SchemaError::Kind::InvalidData, "store error: " + values.error().message};
  }
  return out;
}

std::vector<net::SchemaInfo> visible_schemas(SqliteStore& store, const net::RequestContext& requester) {
  std::vector<net::SchemaInfo> out;
  auto schemas = store.list_schemas();
  if (!schemas) return out;
  for (const auto& schema : *schemas)
    if (can_read_anything(schema, requester))
      out.push_back(net::SchemaInfo{schema.name, schema.version, schema.description});
  return out;
}

}  // namespace datafold::store
