#include "store/schema_definition.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

namespace datafold::store {

namespace {

using net::Json;
using net::NetworkError;

constexpr std::string_view kReadPolicyShape = R"(expected {"Distance": n} or {"NoRequirement": null})";

constexpr std::array<std::pair<FieldType, std::string_view>, 5> kTypeNames = {{
    {FieldType::String, "string"},
    {FieldType::Integer, "integer"},
    {FieldType::Number, "number"},
    {FieldType::Boolean, "boolean"},
    {FieldType::Json, "json"},
}};

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

net::NetworkResult<std::optional<std::uint32_t>> parse_read_policy(const Json& value,
                                                                   const std::string& path) {
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

net::NetworkResult<std::map<net::PublicKey, std::uint64_t>> parse_explicit_readers(
    const Json& value, const std::string& path) {
  std::map<net::PublicKey, std::uint64_t> readers;
  if (value.is_null()) return readers;
  constexpr std::string_view kShape = R"(expected null or {"counts_by_pub_key": {"<public key>": n}})";
  if (!value.is_object()) return bad(path, kShape);
  const auto counts = value.find("counts_by_pub_key");
  if (counts == value.end()) return bad(path, kShape);
  const std::string counts_path = path + ".counts_by_pub_key";
  if (!counts->is_object()) return bad(counts_path, R"(expected an object {"<public key>": n})");
  for (const auto& [key_text, count] : counts->items()) {
    const std::string key_path = counts_path + "." + key_text;
    const auto key = net::PublicKey::from_string(key_text);
    if (!key) return bad(key_path, "not a public key (expected base64 of 32 bytes, as `datafold --json id` prints it)");
    const auto n = as_unsigned(count, std::numeric_limits<std::uint64_t>::max());
    if (!n) return bad(key_path, "expected a non-negative integer count");
    readers.emplace(*key, *n);
  }
  return readers;
}

net::NetworkResult<FieldDefinition> parse_field(const std::string& name, const Json& value) {
  const std::string path = "fields." + name;
  if (!value.is_object()) return bad(path, "expected an object with \"permission_policy\"");
  FieldDefinition field;
  field.name = name;

  const auto policy = value.find("permission_policy");
  const std::string policy_path = path + ".permission_policy";
  if (policy == value.end()) return bad(policy_path, "missing; expected an object with \"read_policy\"");
  if (!policy->is_object()) return bad(policy_path, "expected an object with \"read_policy\"");

  const auto read = policy->find("read_policy");
  if (read == policy->end()) return bad(policy_path + ".read_policy", std::string("missing; ") + std::string(kReadPolicyShape));
  auto max_distance = parse_read_policy(*read, policy_path + ".read_policy");
  if (!max_distance) return std::move(max_distance).error();
  field.policy.max_distance = *max_distance;

  if (const auto allow = policy->find("explicit_read_policy"); allow != policy->end()) {
    auto readers = parse_explicit_readers(*allow, policy_path + ".explicit_read_policy");
    if (!readers) return std::move(readers).error();
    field.policy.explicit_readers = std::move(*readers);
  }

  if (const auto type = value.find("type"); type != value.end()) {
    const auto parsed = type->is_string() ? field_type_from_string(type->get<std::string>()) : std::nullopt;
    if (!parsed) return bad(path + ".type", R"(expected one of "string", "integer", "number", "boolean", "json")");
    field.type = *parsed;
  }

  if (const auto index = value.find("index"); index != value.end()) {
    if (!index->is_boolean()) return bad(path + ".index", "expected true or false");
    field.indexed = index->get<bool>();
  }
  return field;
}

}  // namespace

std::string_view to_string(FieldType type) noexcept {
  for (const auto& [t, name] : kTypeNames)
    if (t == type) return name;
  return "json";
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

net::NetworkResult<SchemaDefinition> schema_from_json(const Json& document) {
  if (!document.is_object()) return bad("schema", R"(expected a JSON object with "name" and "fields")");
  SchemaDefinition schema;

  const auto name = document.find("name");
  if (name == document.end() || !name->is_string() || name->get_ref<const std::string&>().empty())
    return bad("name", "expected a non-empty string");
  schema.name = name->get<std::string>();

  if (const auto version = document.find("version"); version != document.end() && !version->is_null()) {
    if (version->is_string() && !version->get_ref<const std::string&>().empty())
      schema.version = version->get<std::string>();
    else if (version->is_number_integer())
      schema.version = version->dump();
    else
      return bad("version", "expected a non-empty string or an integer");
  }

  if (const auto description = document.find("description");
      description != document.end() && !description->is_null()) {
    if (!description->is_string()) return bad("description", "expected a string");
    schema.description = description->get<std::string>();
  }

  const auto fields = document.find("fields");
  if (fields == document.end() || !fields->is_object() || fields->empty())
    return bad("fields", "expected an object with at least one field");
  // nlohmann's object is ordered by key, so `fields` comes out sorted as find_field expects.
  for (const auto& [field_name, value] : fields->items()) {
    if (field_name.empty()) return bad("fields", "a field name is empty");
    auto field = parse_field(field_name, value);
    if (!field) return std::move(field).error();
    schema.fields.push_back(std::move(*field));
  }
  return schema;
}

net::NetworkResult<SchemaDefinition> parse_schema(std::string_view json_text) {
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

Json to_json(const SchemaDefinition& schema) {
  Json fields = Json::object();
  for (const auto& field : schema.fields) {
    Json read_policy = field.policy.max_distance ? Json{{"Distance", *field.policy.max_distance}}
                                                 : Json{{"NoRequirement", nullptr}};
    Json explicit_read = nullptr;
    if (!field.policy.explicit_readers.empty()) {
      Json counts = Json::object();
      for (const auto& [key, count] : field.policy.explicit_readers) counts[key.to_string()] = count;
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
  return out;
}

}  // namespace datafold::store
