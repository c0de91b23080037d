// SchemaDefinition: a schema as the store keeps it, parsed from fold_db's schema JSON.
//
// The accepted shape (fold_db's, so existing DataFold schema files load unchanged):
//   {"name": "UserProfile", "version"?: "1" | 1, "description"?: "…",
//    "fields": {"email": {"permission_policy": {
//                            "read_policy": {"Distance": 1} | {"NoRequirement": null},
//                            "explicit_read_policy": null | {"counts_by_pub_key": {"<key>": 1}},
//                            …},
//                         "type"?: "string" | "integer" | "number" | "boolean" | "json",
//                         "index"?: true | false,
//                         …}}}
// "index": false (a DataFold extension; fold_db ignores unknown keys) asks the store for no
// index on the field: for fields nobody filters on, such as free text, whose index would
// cost every insert a write of the whole value. Filters on such a field still work, by
// scanning. Absent or true: the field is indexed unless its type is "json" (sqlite_store.hpp).
// Keys the store does not use (write_policy, explicit_write_policy, payment_config,
// field_mappers, …) are accepted and ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
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
  // {"Distance": n}: readers at effective trust distance <= n. nullopt: {"NoRequirement": null}.
  std::optional<std::uint32_t> max_distance;
  // explicit_read_policy.counts_by_pub_key. fold_db's count is kept so the schema
  // round-trips; the store only asks whether a key is present.
  std::map<net::PublicKey, std::uint64_t> explicit_readers;

  friend bool operator==(const FieldPolicy&, const FieldPolicy&) = default;
};

struct FieldDefinition {
  std::string name;
  FieldPolicy policy;
  std::optional<FieldType> type;
  // false: "index": false in the schema file; the store makes no index for this field.
  bool indexed = true;

  friend bool operator==(const FieldDefinition&, const FieldDefinition&) = default;
};

struct SchemaDefinition {
  // Schema files without a version get this one.
  static constexpr std::string_view kDefaultVersion = "1";

  std::string name;
  std::string version{kDefaultVersion};
  std::optional<std::string> description;
  std::vector<FieldDefinition> fields;  // sorted by name, names unique

  // The field called `name`, or nullptr.
  const FieldDefinition* find_field(std::string_view field_name) const noexcept;

  friend bool operator==(const SchemaDefinition&, const SchemaDefinition&) = default;
};

// Reads a schema from a parsed JSON document. On failure: ErrorKind::Config with a one-line message that
// starts with the JSON path at fault, e.g.
//   fields.email.permission_policy.read_policy: expected {"Distance": n} or {"NoRequirement": null}
// Never throws.
net::NetworkResult<SchemaDefinition> schema_from_json(const net::Json& document);
// As above, from JSON text (a schema file's contents); a syntax error names the line and
// column. (A different name from schema_from_json because a string converts to Json.)
net::NetworkResult<SchemaDefinition> parse_schema(std::string_view json_text);

// The schema in fold_db's shape, with only the keys the store uses (plus the
// write_policy/explicit_write_policy fold_db requires, as {"Distance": 0} and null).
// schema_from_json(to_json(s)) == s.
net::Json to_json(const SchemaDefinition& schema);

}  // namespace datafold::store
