#include "store/store_query_handler.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "store/read_policy.hpp"
#include "store/row_filter.hpp"

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

// The filter's clauses, or why `requester` cannot use it. Every clause's field must be
// one the requester may read: filtering on a field would reveal its values.
std::variant<std::vector<FilterClause>, SchemaError> check_filter(const SchemaDefinition& schema, const Json& filter,
                                                                  const net::RequestContext& requester) {
  // A filter this node cannot run is the query's fault, not a field's: InvalidDSL in every
  // slot, which the network layer sends as one Error{INVALID_DSL} (query_refusal.hpp).
  if (!filter.is_object())
    return SchemaError{SchemaError::Kind::InvalidDSL, "filter must be a JSON object {field: value}"};
  auto clauses = parse_filter(filter);
  if (!clauses) return SchemaError{SchemaError::Kind::InvalidDSL, clauses.error().message};
  for (const auto& clause : *clauses) {
    const FieldDefinition* field = schema.find_field(clause.field);
    if (field == nullptr)
      return SchemaError{SchemaError::Kind::InvalidDSL,
                         "filter names unknown field '" + clause.field + "' of schema " + schema.name};
    if (auto decision = decide(field->policy, requester); !decision.allowed)
      return SchemaError{SchemaError::Kind::InvalidPermission,
                         "filter uses field '" + clause.field + "', which " + decision.reason};
  }
  return std::move(*clauses);
}

// A page's position is the id of the last row it held, in decimal.
std::optional<std::int64_t> row_id_of(const std::string& position) {
  if (position.empty()) return 0;
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(position.data(), position.data() + position.size(), id);
  if (ec != std::errc() || end != position.data() + position.size() || id < 0) return std::nullopt;
  return id;
}

net::QueryPage whole_page(net::QueryResult result) {
  net::QueryPage page;
  page.result = std::move(result);
  return page;
}

// answer_query_page's reads, against one state of the store.
net::QueryPage answer_from(SqliteStore::Snapshot& store, const net::Query& query,
                           const net::RequestContext& requester, const net::PageRequest& page, std::int64_t after) {
  auto found = store.find_schema(query.schema_name);
  if (!found)
    return whole_page(every_field_fails(query, SchemaError::Kind::InvalidData, "store error: " + found.error().message));
  if (!*found)
    return whole_page(
        every_field_fails(query, SchemaError::Kind::NotFound, "schema '" + query.schema_name + "' not found"));
  const SchemaDefinition& schema = **found;

  // A JSON null filter means "no filter", as an absent one does.
  std::vector<FilterClause> clauses;
  if (query.filter && !query.filter->is_null()) {
    auto checked = check_filter(schema, *query.filter, requester);
    if (auto* bad = std::get_if<SchemaError>(&checked))
      return whole_page(every_field_fails(query, bad->kind, bad->message));
    clauses = std::move(std::get<std::vector<FilterClause>>(checked));
  }

  // One slot per field: its refusal, or null until its values are read.
  net::QueryResult out;
  out.results.reserve(query.fields.size());
  std::size_t refused = 0;
  for (const auto& name : query.fields) {
    const FieldDefinition* field = schema.find_field(name);
    if (field == nullptr) {
      out.results.push_back(
          FieldResult{name, SchemaError{SchemaError::Kind::InvalidField,
                                        "schema " + schema.name + " has no field '" + name + "'"}});
      ++refused;
    } else if (auto decision = decide(field->policy, requester); !decision.allowed) {
      out.results.push_back(FieldResult{
          name, SchemaError{SchemaError::Kind::InvalidPermission, "field '" + name + "' " + decision.reason}});
      ++refused;
    } else {
      out.results.push_back(FieldResult{name, Json()});
    }
  }
  // The fields to read, in order: the query's own when none is refused (most queries:
  // no copy), else those whose slots wait for values.
  std::vector<std::string> some_fields;
  if (refused > 0) {
    for (const auto& result : out.results)
      if (result.ok()) some_fields.push_back(result.field);
  }
  const std::vector<std::string>& fields = refused > 0 ? some_fields : query.fields;
  // Nothing readable: no rows to page through, so no position either.
  if (fields.empty()) return whole_page(std::move(out));

  net::QueryPage answer;
  auto values = store.query_page(schema, fields, clauses, after, std::max<std::size_t>(page.max_rows, 1),
                                 std::max<std::size_t>(page.max_bytes, 1));
  // The waiting slots take the columns in order.
  std::size_t column = 0;
  for (auto& result : out.results) {
    if (!result.ok()) continue;
    if (values)
      result.outcome = std::move(values->columns[column++]);
    else
      result.outcome = SchemaError{SchemaError::Kind::InvalidData, "store error: " + values.error().message};
  }
  if (values) {
    answer.rows = values->rows;
    if (values->more) answer.next_position = std::to_string(values->last_row_id);
  }
  answer.result = std::move(out);
  return answer;
}

}  // namespace

net::QueryPage answer_query_page(SqliteStore& store, const net::Query& query, const net::RequestContext& requester,
                                 const net::PageRequest& page) {
  const auto after = row_id_of(page.position);
  if (!after) return whole_page(every_field_fails(query, SchemaError::Kind::InvalidData, "not a position of this store"));
  net::QueryPage answer;
  // What the reads need, behind one reference: a callable of one or two references is
  // kept inside std::function, where six would take an allocation per query.
  const struct {
    const net::Query& query;
    const net::RequestContext& requester;
    const net::PageRequest& page;
    std::int64_t after;
  } asked{query, requester, page, *after};
  auto read = store.read_snapshot([&answer, &asked](SqliteStore::Snapshot& snapshot) {
    answer = answer_from(snapshot, asked.query, asked.requester, asked.page, asked.after);
  });
  if (!read)
    return whole_page(every_field_fails(query, SchemaError::Kind::InvalidData, "store error: " + read.error().message));
  return answer;
}

net::QueryResult answer_query(SqliteStore& store, const net::Query& query, const net::RequestContext& requester) {
  constexpr auto kAll = std::numeric_limits<std::size_t>::max();
  return answer_query_page(store, query, requester, net::PageRequest{{}, kAll, kAll}).result;
}

std::vector<net::SchemaInfo> visible_schemas(SqliteStore& store, const net::RequestContext& requester) {
  std::vector<net::SchemaInfo> out;
  auto schemas = store.list_schemas();
  if (!schemas) return out;
  for (const auto& schema : *schemas) {
    if (!can_read_anything(schema, requester)) continue;
    net::SchemaInfo info{schema.name, schema.version, schema.description};
    info.fields.reserve(schema.fields.size());
    for (const auto& field : schema.fields)
      info.fields.push_back(net::SchemaFieldInfo{field.name, field.type ? std::string(to_string(*field.type)) : "",
                                                 decide(field.policy, requester).allowed});
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace datafold::store
