// Mutation: fold_db's mutation document, parsed, and which rows it touches.
//
//   {"type": "mutation", "schema": "UserProfile", "mutation_type": "update",
//    "filter": {"username": "johndoe"}, "data": {"bio": "…"}}
//
// "type" may be left out; if present it must be "mutation". "mutation_type" (or
// "operation", fold_db's earlier name for it) is create, update or delete. "filter" (update and delete only) takes every shape a query's filter
// takes (row_filter.hpp). No SQLite here: SqliteStore::apply_mutations writes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <datafold/net/error.hpp>
#include <datafold/net/json.hpp>

#include "store/row_filter.hpp"
#include "store/schema_definition.hpp"

namespace datafold::store {

struct Mutation {
  enum class Kind { Create, Update, Delete };

  std::string schema;
  Kind kind = Kind::Create;
  net::Json data = net::Json::object();
  std::optional<net::Json> filter;  // absent, or null, when the document has none
  // data's first key as the document wrote it ("" when data is empty): without a filter
  // or a schema key, it names the rows an update or delete touches (rows_touched).
  std::string first_data_field;
  // Where the document is in its input, for errors: "mutation" or "mutations[2]".
  std::string path;
};

std::string_view to_string(Mutation::Kind kind) noexcept;

// What applying mutations did (SqliteStore::apply_mutations).
struct MutationCounts {
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t deleted = 0;
};

// {"created": n, "updated": n, "deleted": n}
net::Json to_json(const MutationCounts& counts);

// Whether `document` is a mutation document rather than a row: an object with a
// "mutation_type" key, or with "type": "mutation" and "schema". (A row of a schema with
// fields called so is told apart by the other: it has neither pair.)
bool is_mutation_document(const net::Json& document);

// The mutation documents in `json_text`: one object, or an array of them. Config naming
// the document and key at fault ("mutations[1].mutation_type: expected create, update or
// delete, not \"add_to_collection:likes\""); invalid JSON names the line and column.
net::NetworkResult<std::vector<Mutation>> parse_mutations(std::string_view json_text);

// Equality on each key field of a Range or HashRange `schema`, taken from `row`; empty
// for a schema without a key. Config "<path>.<field>: missing; …" when `row` lacks one
// (`path` names where the row is, e.g. "rows[2]" or "mutation.data").
net::NetworkResult<std::vector<FilterClause>> key_clauses(const SchemaDefinition& schema, const net::Json& row,
                                                          const std::string& path);

// The clauses selecting the rows an update or delete touches, or, for a create on a
// schema with a key, the row it replaces:
//   the mutation's filter, when it has one (every field must be the schema's);
//   else, on a Range or HashRange schema, equality on each key field, from `data`;
//   else equality on data's first field: fold_db's documents name the row first and then
//   what changes, {"username": "johndoe", "bio": "…"}.
// A create on a schema without a key touches no row: nullopt. Config naming the path
// when a key field or every field is missing from data.
net::NetworkResult<std::optional<std::vector<FilterClause>>> rows_touched(const SchemaDefinition& schema,
                                                                          const Mutation& mutation);

}  // namespace datafold::store
