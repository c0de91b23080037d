// SchemaDefinition: a schema as the store keeps it, parsed from fold_db's schema JSON
// in every format fold_db used (schema_parser.cpp reads them):
//   - "fields" as a map of field objects, each with or without a "permission_policy":
//       {"name": "UserProfile", "version"?: "1" | 1, "description"?: "…",
//        "fields": {"email": {"permission_policy": {
//                                "read_policy": {"Distance": 1} | {"NoRequirement": null} | "NoRequirement",
//                                "explicit_read_policy": null | {"counts_by_pub_key": {"<key or name>": 1}},
//                                …},
//                             "type"?: "string" | "integer" | "number" | "boolean" | "json",
//                             "index"?: true | false, …}}}
//   - "fields" as a list of names, typed by "field_topologies" or "field_types";
//   - index and view schemas with only "transform_fields" ({"field": "<expression>"});
//   - "key": {"hash_field"?, "range_field"?} and "schema_type": "Single" | "Range" |
//     "HashRange" | {"Range": {"range_key": "<field>"}}.
// A field without a permission policy is readable at distance 0 only (this node). An
// allow-list entry that is not a public key is a name, resolved through the names the
// operator gives keys in the trust store. "index": false (a DataFold extension) asks the
// store for no index on the field: for fields nobody filters on, such as free text.
// Nothing is dropped: the document is kept as given (`source`), and what the node keeps
// but does not enforce or run (transforms, field mappers, payment, write policies,
// classifications) is listed in `warnings`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <datafold/net/error.hpp>
#include <datafold/net/json.hpp>
#include <datafold/net/public_key.hpp>

namespace datafold::store {

// What values a field holds. Optional in a schema file; a field without one takes any JSON.
enum class FieldType { String, Integer, Number, Boolean, Json };

std::string_view to_string(FieldType type) noexcept;
std::optional<FieldType> field_type_from_string(std::string_view text) noexcept;
// Whether `value` is a `type` value. JSON null fits every type: a row may leave a field empty.
bool value_has_type(const net::Json& value, FieldType type) noexcept;

// Who may read a field: fold_db's read_policy plus its explicit read allow-list.
struct FieldPolicy {
  // {"Distance": n}: readers at effective trust distance <= n. nullopt: NoRequirement.
  // A field with no permission policy gets 0: this node alone.
  std::optional<std::uint32_t> max_distance;
  // explicit_read_policy.counts_by_pub_key. fold_db's count is kept so the schema
  // round-trips; the store only asks whether a key is present.
  std::map<net::PublicKey, std::uint64_t> explicit_readers;
  // Allow-list entries that are names ("trusted_service_key"), not keys: they grant
  // what a listed key is granted to the key the trust store gives that name, and
  // nothing without one.
  std::map<std::string, std::uint64_t> named_readers;
  // The keys named_readers stand for now: filled by SqliteStore each time it reads
  // the schema, never stored.
  std::set<net::PublicKey> resolved_readers;

  // Equal when they say the same (resolved_readers aside: they are the trust store's).
  friend bool operator==(const FieldPolicy& a, const FieldPolicy& b) {
    return a.max_distance == b.max_distance && a.explicit_readers == b.explicit_readers &&
           a.named_readers == b.named_readers;
  }
};

struct FieldDefinition {
  std::string name;
  FieldPolicy policy;
  std::optional<FieldType> type;
  // false: "index": false in the schema file; the store makes no index for this field.
  bool indexed = true;

  friend bool operator==(const FieldDefinition&, const FieldDefinition&) = default;
};

// fold_db's schema types: rows of a Range schema are kept by their range key, rows
// of a HashRange schema by hash key then range key.
enum class SchemaKind { Single, Range, HashRange };

std::string_view to_string(SchemaKind kind) noexcept;

struct SchemaKey {
  std::optional<std::string> hash_field;   // HashRange
  std::optional<std::string> range_field;  // Range and HashRange

  friend bool operator==(const SchemaKey&, const SchemaKey&) = default;
};

struct SchemaDefinition {
  // Schema files without a version get this one.
  static constexpr std::string_view kDefaultVersion = "1";

  std::string name;
  std::string version{kDefaultVersion};
  std::optional<std::string> description;  // "description", else fold_db's "descriptive_name"
  SchemaKind kind = SchemaKind::Single;
  SchemaKey key;                        // names fields of `fields`
  std::vector<FieldDefinition> fields;  // sorted by name, names unique
  // What the schema asks for that this node keeps but does not enforce or run, one
  // line each, naming the JSON paths: shown when the schema is added.
  std::vector<std::string> warnings;
  // The document as it was given; null for a schema made in code.
  net::Json source;

  // The field called `name`, or nullptr.
  const FieldDefinition* find_field(std::string_view field_name) const noexcept;

  // Equal when they mean the same: what they say, not how it was written (source and
  // warnings aside).
  friend bool operator==(const SchemaDefinition& a, const SchemaDefinition& b) {
    return a.name == b.name && a.version == b.version && a.description == b.description && a.kind == b.kind &&
           a.key == b.key && a.fields == b.fields;
  }
};

// Reads a schema from a parsed JSON document (schema_parser.cpp), keeping it as
// `source`. On failure: ErrorKind::Config with a one-line message that starts with the
// JSON path at fault, e.g.
//   fields.email.permission_policy.read_policy: expected {"Distance": n} or {"NoRequirement": null}
// Never throws.
net::NetworkResult<SchemaDefinition> schema_from_json(const net::Json& document);
// As above, from JSON text (a schema file's contents); a syntax error names the line and
// column. (A different name from schema_from_json because a string converts to Json.)
net::NetworkResult<SchemaDefinition> parse_schema(std::string_view json_text);

// The schema in fold_db's map shape, with only the keys the store uses (plus the
// write_policy and explicit_write_policy fold_db requires, as {"Distance": 0} and null).
// schema_from_json(to_json(s)) == s.
net::Json to_json(const SchemaDefinition& schema);
// What the store keeps and `datafold schema show` prints: the source document while it
// still says what `schema` says, else (a schema made or changed in code) to_json.
net::Json stored_document(const SchemaDefinition& schema);

}  // namespace datafold::store
