// schema_from_json and parse_schema: every schema format fold_db used, read into one
// SchemaDefinition (the formats are listed in schema_definition.hpp). A refusal names
// the JSON path and what was expected there; a key the node keeps without using it is
// collected into a warning, so nothing is dropped silently.
#include <algorithm>
#include <array>
#include <limits>
#include <set>
#include <utility>

#include <datafold/net/trust_store.hpp>

#include "store/schema_definition.hpp"

namespace datafold::store {

namespace {

using net::Json;
using net::NetworkError;

template <typename T>
using Result = net::NetworkResult<T>;

constexpr std::string_view kReadPolicyShape =
    R"(expected {"Distance": n}, {"NoRequirement": null} or "NoRequirement")";

NetworkError bad(const std::string& path, std::string_view what) {
  return net::make_error(net::ErrorKind::Config, path + ": " + std::string(what));
}

// A JSON integer in [0, max]; floats such as 1.0 are refused so a typo is not rounded away.
std::optional<std::uint64_t> as_unsigned(const Json& value, std::uint64_t max) {
  if (value.is_number_unsigned()) {
    const auto n = value.get<std::uint64_t>();
    if (n <= max) return n;
  } else if (value.is_number_integer()) {
    const auto n = value.get<std::int64_t>();
    if (n >= 0 && static_cast<std::uint64_t>(n) <= max) return static_cast<std::uint64_t>(n);
  }
  return std::nullopt;
}

// null, {} and [] say nothing: keeping them needs no warning.
bool says_something(const Json& value) { return !value.is_null() && !(value.is_structured() && value.empty()); }

// The warnings of one schema, grouped by what the node does not do, each naming
// the JSON paths that asked for it.
class Warnings {
 public:
  enum Kind { Payment, WritePolicy, Transform, FieldMapper, Classification, NoPolicy, TypeUnknown, Unused, kKinds };

  void add(Kind kind, std::string path) { paths_[kind].push_back(std::move(path)); }

  std::vector<std::string> lines() const {
    static constexpr std::array<std::string_view, kKinds> kWhat = {
        "payment is not enforced (this node answers queries without payment)",
        "write policies are not enforced (only this node's operator writes its data)",
        "transforms are not run (the fields hold what is inserted)",
        "field mappers are not run",
        "data classifications are kept, not enforced",
        "no permission policy: readable at distance 0 only (this node)",
        "type not understood: any JSON value is accepted",
        "kept, not used by this node",
    };
    std::vector<std::string> out;
    for (std::size_t kind = 0; kind < kKinds; ++kind) {
      const auto& paths = paths_[kind];
      if (paths.empty()) continue;
      std::string line(kWhat[kind]);
      line += ": ";
      constexpr std::size_t kShown = 4;
      for (std::size_t i = 0; i < std::min(paths.size(), kShown); ++i) line += (i ? ", " : "") + paths[i];
      if (paths.size() > kShown) line += " and " + std::to_string(paths.size() - kShown) + " more";
      out.push_back(std::move(line));
    }
    return out;
  }

 private:
  std::array<std::vector<std::string>, kKinds> paths_;
};

Result<std::optional<std::uint32_t>> parse_read_policy(const Json& value, const std::string& path) {
  // fold_db's serializer writes the unit variant as a bare string.
  if (value.is_string() && value.get_ref<const std::string&>() == "NoRequirement") return std::optional<std::uint32_t>{};
  if (!value.is_object() || value.size() != 1) return bad(path, kReadPolicyShape);
  const auto entry = value.begin();
  const std::string& kind = entry.key();
  const Json& argument = entry.value();
  if (kind == "NoRequirement") {
    if (!argument.is_null()) return bad(path + ".NoRequirement", "expected null");
    return std::optional<std::uint32_t>{};
  }
  if (kind == "Distance") {
    const auto n = as_unsigned(argument, std::numeric_limits<std::uint32_t>::max());
    if (!n) return bad(path + ".Distance", "expected an integer from 0 to 4294967295");
    return std::optional<std::uint32_t>{static_cast<std::uint32_t>(*n)};
  }
  return bad(path, kReadPolicyShape);
}

// explicit_read_policy: entries that parse as public keys are keys; any other is a
// name for the trust store to resolve.
Result<void> parse_explicit_readers(const Json& value, const std::string& path, FieldPolicy& policy) {
  if (value.is_null()) return {};
  constexpr std::string_view kShape = R"(expected null or {"counts_by_pub_key": {"<public key or name>": n}})";
  if (!value.is_object()) return bad(path, kShape);
  const auto counts = value.find("counts_by_pub_key");
  if (counts == value.end()) return bad(path, kShape);
  const std::string counts_path = path + ".counts_by_pub_key";
  if (!counts->is_object()) return bad(counts_path, R"(expected an object {"<public key or name>": n})");
  for (const auto& [entry, count] : counts->items()) {
    const std::string entry_path = counts_path + "." + entry;
    if (entry.empty()) return bad(counts_path, "an entry is empty; expected a public key or a name");
    const auto n = as_unsigned(count, std::numeric_limits<std::uint64_t>::max());
    if (!n) return bad(entry_path, "expected a non-negative integer count");
    if (const auto key = net::PublicKey::from_string(entry))
      policy.explicit_readers.emplace(*key, *n);
    else if (net::TrustStore::valid_name(entry))
      policy.named_readers.emplace(entry, *n);
    else
      return bad(entry_path,
                 "neither a public key (base64 of 32 bytes, as `datafold --json id` prints it) nor a name "
                 "(1 to 64 letters, digits, '_', '-' or '.', as `datafold trust set --name` gives)");
  }
  return {};
}

// A type named by fold_db's field_topologies ({"root": {"type": "Primitive", "value":
// "String"}}) or field_types ("String", {"Array": "String"}). nullopt: not understood.
std::optional<FieldType> fold_db_type(const Json& type_name) {
  if (!type_name.is_string()) return type_name.is_object() ? std::optional(FieldType::Json) : std::nullopt;
  const auto& name = type_name.get_ref<const std::string&>();
  if (name == "String") return FieldType::String;
  if (name == "Number") return FieldType::Number;
  if (name == "Integer") return FieldType::Integer;
  if (name == "Boolean") return FieldType::Boolean;
  if (name == "Object" || name == "Array" || name == "Map" || name == "Any") return FieldType::Json;
  return std::nullopt;
}

std::optional<FieldType> topology_type(const Json& topology) {
  if (!topology.is_object()) return std::nullopt;
  const auto root = topology.find("root");
  if (root == topology.end() || !root->is_object()) return std::nullopt;
  const auto kind = root->find("type");
  if (kind == root->end() || !kind->is_string()) return std::nullopt;
  if (*kind == "Primitive") {
    const auto value = root->find("value");
    return value == root->end() ? std::nullopt : fold_db_type(*value);
  }
  return fold_db_type(*kind);
}

class SchemaParser {
 public:
  explicit SchemaParser(const Json& document) : doc_(document) {}

  Result<SchemaDefinition> parse() {
    if (!doc_.is_object()) return bad("schema", R"(expected a JSON object with "name" and "fields")");
    if (auto r = parse_header(); !r) return std::move(r).error();
    if (auto r = parse_fields(); !r) return std::move(r).error();
    if (auto r = parse_types(); !r) return std::move(r).error();
    if (auto r = parse_key(); !r) return std::move(r).error();
    note_schema_level_keys();
    schema_.warnings = warnings_.lines();
    schema_.source = doc_;
    return std::move(schema_);
  }

 private:
  Result<void> parse_header() {
    const auto name = doc_.find("name");
    if (name == doc_.end() || !name->is_string() || name->get_ref<const std::string&>().empty())
      return bad("name", "expected a non-empty string");
    schema_.name = name->get<std::string>();

    if (const auto version = doc_.find("version"); version != doc_.end() && !version->is_null()) {
      if (version->is_string() && !version->get_ref<const std::string&>().empty())
        schema_.version = version->get<std::string>();
      else if (version->is_number_integer())
        schema_.version = version->dump();
      else
        return bad("version", "expected a non-empty string or an integer");
    }
    for (const char* key : {"description", "descriptive_name"}) {
      const auto text = doc_.find(key);
      if (text == doc_.end() || text->is_null()) continue;
      if (!text->is_string()) return bad(key, "expected a string");
      if (!schema_.description) schema_.description = text->get<std::string>();
    }
    return {};
  }

  // "fields" as a map or a list; without it, a view's "transform_fields".
  Result<void> parse_fields() {
    const auto fields = doc_.find("fields");
    const auto transforms = doc_.find("transform_fields");
    if (fields != doc_.end() && fields->is_object() && !fields->empty()) {
      for (const auto& [name, value] : fields->items()) {
        if (name.empty()) return bad("fields", "a field name is empty");
        auto field = parse_field_object(name, value);
        if (!field) return std::move(field).error();
        add_field(std::move(*field));
      }
    } else if (fields != doc_.end() && fields->is_array() && !fields->empty()) {
      for (std::size_t i = 0; i < fields->size(); ++i) {
        const Json& name = (*fields)[i];
        const std::string path = "fields[" + std::to_string(i) + "]";
        if (!name.is_string() || name.get_ref<const std::string&>().empty())
          return bad(path, "expected a field name (a non-empty string)");
        if (!add_field(unprotected_field(name.get<std::string>(), "fields." + name.get<std::string>())))
          return bad(path, "field '" + name.get<std::string>() + "' is listed twice");
      }
    } else if (fields == doc_.end() && transforms != doc_.end() && transforms->is_object() && !transforms->empty()) {
      for (const auto& [name, expression] : transforms->items()) {
        const std::string path = "transform_fields." + name;
        if (name.empty()) return bad("transform_fields", "a field name is empty");
        if (!expression.is_string()) return bad(path, "expected a transform expression (a string)");
        add_field(unprotected_field(name, path));
      }
    } else {
      return bad("fields",
                 "expected an object of fields, a list of field names, or (for a view) \"transform_fields\"");
    }
    if (transforms != doc_.end() && says_something(*transforms)) warnings_.add(Warnings::Transform, "transform_fields");
    return {};
  }

  // A field of a list or a view: no policy, so this node alone reads it.
  FieldDefinition unprotected_field(std::string name, std::string path) {
    warnings_.add(Warnings::NoPolicy, std::move(path));
    FieldDefinition field;
    field.name = std::move(name);
    field.policy.max_distance = 0;
    return field;
  }

  bool add_field(FieldDefinition field) {
    const auto at = std::lower_bound(schema_.fields.begin(), schema_.fields.end(), field.name,
                                     [](const FieldDefinition& f, const std::string& n) { return f.name < n; });
    if (at != schema_.fields.end() && at->name == field.name) return false;
    schema_.fields.insert(at, std::move(field));
    return true;
  }

  Result<FieldDefinition> parse_field_object(const std::string& name, const Json& value) {
    const std::string path = "fields." + name;
    if (!value.is_object()) return bad(path, "expected an object (with a \"permission_policy\")");
    FieldDefinition field;
    field.name = name;
    const auto policy = value.find("permission_policy");
    if (policy == value.end() || policy->is_null()) {
      warnings_.add(Warnings::NoPolicy, path);
      field.policy.max_distance = 0;
    } else if (auto r = parse_permission_policy(*policy, path + ".permission_policy", field.policy); !r) {
      return std::move(r).error();
    }
    for (const auto& [key, item] : value.items()) {
      const std::string item_path = path + "." + key;
      if (key == "permission_policy") continue;
      if (key == "type") {
        const auto parsed = item.is_string() ? field_type_from_string(item.get<std::string>()) : std::nullopt;
        if (!parsed) return bad(item_path, R"(expected one of "string", "integer", "number", "boolean", "json")");
        field.type = *parsed;
      } else if (key == "index") {
        if (!item.is_boolean()) return bad(item_path, "expected true or false");
        field.indexed = item.get<bool>();
      } else if (key == "payment_config") {
        if (says_something(item)) warnings_.add(Warnings::Payment, item_path);
      } else if (key == "field_mappers") {
        if (says_something(item)) warnings_.add(Warnings::FieldMapper, item_path);
      } else if (key == "transform") {
        if (says_something(item)) warnings_.add(Warnings::Transform, item_path);
      } else if (key == "field_type" && item == "Single") {
        // fold_db's default atom kind: what this store does with every field.
      } else if (says_something(item)) {
        warnings_.add(Warnings::Unused, item_path);
      }
    }
    return field;
  }

  Result<void> parse_permission_policy(const Json& policy, const std::string& path, FieldPolicy& out) {
    if (!policy.is_object()) return bad(path, "expected an object with \"read_policy\"");
    const auto read = policy.find("read_policy");
    if (read == policy.end()) return bad(path + ".read_policy", "missing; " + std::string(kReadPolicyShape));
    auto max_distance = parse_read_policy(*read, path + ".read_policy");
    if (!max_distance) return std::move(max_distance).error();
    out.max_distance = *max_distance;
    if (const auto allow = policy.find("explicit_read_policy"); allow != policy.end())
      if (auto r = parse_explicit_readers(*allow, path + ".explicit_read_policy", out); !r) return r;
    for (const auto& [key, item] : policy.items()) {
      if (key == "read_policy" || key == "explicit_read_policy" || !says_something(item)) continue;
      // A write policy is only worth a warning when it would let someone else write.
      const bool write = key == "write_policy" || key == "explicit_write_policy";
      if (write && key == "write_policy" && item == Json{{"Distance", 0}}) continue;
      warnings_.add(write ? Warnings::WritePolicy : Warnings::Unused, path + "." + key);
    }
    return {};
  }

  // Types from field_topologies or field_types, for fields the map did not type.
  Result<void> parse_types() {
    for (const char* source : {"field_topologies", "field_types"}) {
      const auto types = doc_.find(source);
      if (types == doc_.end() || types->is_null()) continue;
      if (!types->is_object()) return bad(source, "expected an object of field names");
      for (const auto& [name, description] : types->items()) {
        const std::string path = std::string(source) + "." + name;
        auto* field = mutable_field(name);
        if (field == nullptr) return bad(path, "'" + name + "' is not a field of the schema");
        const auto type = std::string_view(source) == "field_topologies" ? topology_type(description)
                                                                          : fold_db_type(description);
        if (!type) warnings_.add(Warnings::TypeUnknown, path);
        else if (!field->type) field->type = *type;
      }
    }
    return {};
  }

  Result<void> parse_key() {
    if (const auto key = doc_.find("key"); key != doc_.end() && !key->is_null()) {
      if (!key->is_object()) return bad("key", R"(expected {"hash_field"?: "<field>", "range_field"?: "<field>"})");
      for (const auto& [name, value] : key->items()) {
        const std::string path = "key." + name;
        if (name != "hash_field" && name != "range_field") {
          if (says_something(value)) warnings_.add(Warnings::Unused, path);
          continue;
        }
        if (value.is_null()) continue;
        if (!value.is_string() || find_field(value.get<std::string>()) == nullptr)
          return bad(path, "expected the name of a field of the schema");
        (name == "hash_field" ? schema_.key.hash_field : schema_.key.range_field) = value.get<std::string>();
      }
    }
    const auto type = doc_.find("schema_type");
    if (type == doc_.end() || type->is_null()) {
      // fold_db's later files give only the key: its fields say the kind.
      schema_.kind = schema_.key.hash_field ? SchemaKind::HashRange
                     : schema_.key.range_field ? SchemaKind::Range
                                               : SchemaKind::Single;
    } else if (type->is_string()) {
      const auto& name = type->get_ref<const std::string&>();
      if (name == "Single") schema_.kind = SchemaKind::Single;
      else if (name == "Range") schema_.kind = SchemaKind::Range;
      else if (name == "HashRange") schema_.kind = SchemaKind::HashRange;
      else return bad("schema_type", R"(expected "Single", "Range", "HashRange" or {"Range": {"range_key": "<field>"}})");
    } else if (type->is_object() && type->size() == 1 && type->contains("Range")) {
      // fold_db's first Range format names the key inside the type.
      const Json& range = (*type)["Range"];
      const auto range_key = range.is_object() ? range.find("range_key") : range.end();
      if (!range.is_object() || range_key == range.end() || !range_key->is_string() ||
          find_field(range_key->get<std::string>()) == nullptr)
        return bad("schema_type.Range.range_key", "expected the name of a field of the schema");
      if (schema_.key.range_field && *schema_.key.range_field != range_key->get<std::string>())
        return bad("schema_type.Range.range_key", "names another field than key.range_field");
      schema_.kind = SchemaKind::Range;
      schema_.key.range_field = range_key->get<std::string>();
    } else {
      return bad("schema_type", R"(expected "Single", "Range", "HashRange" or {"Range": {"range_key": "<field>"}})");
    }
    if (schema_.kind != SchemaKind::Single && !schema_.key.range_field)
      return bad("key.range_field", "missing; a " + std::string(to_string(schema_.kind)) + " schema needs its range key");
    if (schema_.kind == SchemaKind::HashRange && !schema_.key.hash_field)
      return bad("key.hash_field", "missing; a HashRange schema needs its hash key");
    if (schema_.kind != SchemaKind::HashRange && schema_.key.hash_field)
      return bad("key.hash_field", "only a HashRange schema has a hash key");
    if (schema_.kind == SchemaKind::Single && schema_.key.range_field)
      return bad("key.range_field", "a Single schema has no range key");
    return {};
  }

  // Schema-level keys that ask for what this node does not do.
  void note_schema_level_keys() {
    static const std::set<std::string> kRead = {"name",   "version", "description",      "descriptive_name",
                                                "fields", "key",     "schema_type",      "field_topologies",
                                                "field_types", "transform_fields"};
    for (const auto& [key, value] : doc_.items()) {
      if (kRead.contains(key) || !says_something(value)) continue;
      if (key == "payment_config") warnings_.add(Warnings::Payment, key);
      else if (key == "transforms") warnings_.add(Warnings::Transform, key);
      else if (key == "field_mappers") warnings_.add(Warnings::FieldMapper, key);
      else if (key == "field_classifications" || key == "field_data_classifications")
        warnings_.add(Warnings::Classification, key);
      else warnings_.add(Warnings::Unused, key);
    }
  }

  const FieldDefinition* find_field(const std::string& name) const { return schema_.find_field(name); }
  FieldDefinition* mutable_field(const std::string& name) { return const_cast<FieldDefinition*>(find_field(name)); }

  const Json& doc_;
  SchemaDefinition schema_;
  Warnings warnings_;
};

}  // namespace

Result<SchemaDefinition> schema_from_json(const Json& document) { return SchemaParser(document).parse(); }

Result<SchemaDefinition> parse_schema(std::string_view json_text) {
  Json document;
  try {
    document = Json::parse(json_text);
  } catch (const Json::exception& e) {
    // what() starts with "[json.exception.parse_error.101] "; the rest says where and why.
    std::string_view why = e.what();
    if (const auto end = why.find("] "); why.starts_with("[json.exception.") && end != std::string_view::npos)
      why.remove_prefix(end + 2);
    return bad("schema", "invalid JSON: " + std::string(why));
  }
  return schema_from_json(document);
}

}  // namespace datafold::store
