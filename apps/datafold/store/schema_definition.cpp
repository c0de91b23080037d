#include "store/schema_definition.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace datafold::store {

namespace {

using net::Json;

constexpr std::array<std::pair<FieldType, std::string_view>, 5> kTypeNames = {{
    {FieldType::String, "string"},
    {FieldType::Integer, "integer"},
    {FieldType::Number, "number"},
    {FieldType::Boolean, "boolean"},
    {FieldType::Json, "json"},
}};

}  // namespace

std::string_view to_string(FieldType type) noexcept {
  for (const auto& [t, name] : kTypeNames)
    if (t == type) return name;
  return "json";
}

std::string_view to_string(SchemaKind kind) noexcept {
  switch (kind) {
    case SchemaKind::Single: return "Single";
    case SchemaKind::Range: return "Range";
    case SchemaKind::HashRange: return "HashRange";
  }
  return "Single";
}

std::optional<FieldType> field_type_from_string(std::string_view text) noexcept {
  for (const auto& [t, name] : kTypeNames)
    if (name == text) return t;
  return std::nullopt;
}

bool value_has_type(const Json& value, FieldType type) noexcept {
  if (value.is_null()) return true;
  switch (type) {
    case FieldType::String: return value.is_string();
    case FieldType::Integer: return value.is_number_integer();
    case FieldType::Number: return value.is_number();
    case FieldType::Boolean: return value.is_boolean();
    case FieldType::Json: return true;
  }
  return false;
}

const FieldDefinition* SchemaDefinition::find_field(std::string_view field_name) const noexcept {
  const auto it = std::lower_bound(fields.begin(), fields.end(), field_name,
                                   [](const FieldDefinition& f, std::string_view n) { return f.name < n; });
  return it != fields.end() && it->name == field_name ? &*it : nullptr;
}

Json to_json(const SchemaDefinition& schema) {
  Json fields = Json::object();
  for (const auto& field : schema.fields) {
    Json read_policy = field.policy.max_distance ? Json{{"Distance", *field.policy.max_distance}}
                                                 : Json{{"NoRequirement", nullptr}};
    Json explicit_read = nullptr;
    if (!field.policy.explicit_readers.empty() || !field.policy.named_readers.empty()) {
      Json counts = Json::object();
      for (const auto& [key, count] : field.policy.explicit_readers) counts[key.to_string()] = count;
      for (const auto& [name, count] : field.policy.named_readers) counts[name] = count;
      explicit_read = Json{{"counts_by_pub_key", std::move(counts)}};
    }
    Json entry = {{"permission_policy",
                   {{"read_policy", std::move(read_policy)},
                    {"write_policy", {{"Distance", 0}}},
                    {"explicit_read_policy", std::move(explicit_read)},
                    {"explicit_write_policy", nullptr}}}};
    if (field.type) entry["type"] = std::string(to_string(*field.type));
    // Only the opt-out is written, so schemas that never mention "index" stay as they were.
    if (!field.indexed) entry["index"] = false;
    fields[field.name] = std::move(entry);
  }
  Json out = {{"name", schema.name}, {"version", schema.version}, {"fields", std::move(fields)}};
  if (schema.description) out["description"] = *schema.description;
  if (schema.kind != SchemaKind::Single) out["schema_type"] = std::string(to_string(schema.kind));
  Json key = Json::object();
  if (schema.key.hash_field) key["hash_field"] = *schema.key.hash_field;
  if (schema.key.range_field) key["range_field"] = *schema.key.range_field;
  if (!key.empty()) out["key"] = std::move(key);
  return out;
}

Json stored_document(const SchemaDefinition& schema) {
  if (!schema.source.is_null())
    if (auto reparsed = schema_from_json(schema.source); reparsed && *reparsed == schema) return schema.source;
  return to_json(schema);
}

}  // namespace datafold::store
