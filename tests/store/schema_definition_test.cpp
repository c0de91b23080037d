#include "store/schema_definition.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace datafold::store {
namespace {

using net::Json;

net::PublicKey schema_key_of(std::uint8_t fill) {
  std::array<std::uint8_t, net::PublicKey::kSize> bytes{};
  bytes.fill(fill);
  return net::PublicKey(bytes);
}

// The example from issue 4, with a real key where it says "<public key>".
std::string issue_example(const std::string& key) {
  return R"({"name": "UserProfile",
   "fields": {
     "username": {"permission_policy": {"read_policy": {"NoRequirement": null}, "write_policy": {"Distance": 0},
                                        "explicit_read_policy": null, "explicit_write_policy": null}},
     "email":    {"permission_policy": {"read_policy": {"Distance": 1}, "write_policy": {"Distance": 0},
                                        "explicit_read_policy": {"counts_by_pub_key": {")" +
         key + R"(": 1}},
                                        "explicit_write_policy": null},
                  "payment_config": {"base_multiplier": 2.0}}}})";
}

TEST(SchemaDefinition, IssueExampleLoadsUnchanged) {
  const auto key = schema_key_of(7);
  auto parsed = parse_schema(issue_example(key.to_string()));
  ASSERT_TRUE(parsed) << parsed.error().message;
  const SchemaDefinition& schema = *parsed;
  EXPECT_EQ(schema.name, "UserProfile");
  EXPECT_EQ(schema.version, SchemaDefinition::kDefaultVersion);
  EXPECT_FALSE(schema.description);
  ASSERT_EQ(schema.fields.size(), 2u);

  const FieldDefinition* username = schema.find_field("username");
  ASSERT_NE(username, nullptr);
  EXPECT_FALSE(username->policy.max_distance);
  EXPECT_TRUE(username->policy.explicit_readers.empty());
  EXPECT_FALSE(username->type);

  const FieldDefinition* email = schema.find_field("email");
  ASSERT_NE(email, nullptr);
  EXPECT_EQ(email->policy.max_distance, 1u);
  ASSERT_EQ(email->policy.explicit_readers.size(), 1u);
  EXPECT_EQ(email->policy.explicit_readers.at(key), 1u);

  EXPECT_EQ(schema.find_field("payment_config"), nullptr);
  EXPECT_EQ(schema.find_field("phone"), nullptr);
}

TEST(SchemaDefinition, OptionalTypeVersionAndDescription) {
  auto parsed = parse_schema(R"({"name": "S", "version": 3, "description": "d", "field_mappers": {},
    "fields": {"age": {"type": "integer", "field_mappers": {"x": "y"},
                       "permission_policy": {"read_policy": {"Distance": 4294967295}}},
               "bio": {"type": "json", "permission_policy": {"read_policy": {"NoRequirement": null},
                                                              "explicit_read_policy": null}}}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->version, "3");
  EXPECT_EQ(parsed->description, "d");
  ASSERT_NE(parsed->find_field("age"), nullptr);
  EXPECT_EQ(parsed->find_field("age")->type, FieldType::Integer);
  EXPECT_EQ(parsed->find_field("age")->policy.max_distance, 4294967295u);
  EXPECT_EQ(parsed->find_field("bio")->type, FieldType::Json);
  // Fields come out sorted whatever the file's order, as find_field needs.
  EXPECT_EQ(parsed->fields.front().name, "age");
}

TEST(SchemaDefinition, RoundTripsThroughToJson) {
  auto parsed = parse_schema(issue_example(schema_key_of(9).to_string()));
  ASSERT_TRUE(parsed);
  parsed->description = "people";
  parsed->fields[0].type = FieldType::String;
  auto again = schema_from_json(to_json(*parsed));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *parsed);
}

TEST(SchemaDefinition, IndexOptOut) {
  auto parsed = parse_schema(R"({"name": "S",
    "fields": {"bio": {"index": false, "permission_policy": {"read_policy": {"NoRequirement": null}}},
               "key": {"index": true, "permission_policy": {"read_policy": {"NoRequirement": null}}},
               "tag": {"permission_policy": {"read_policy": {"NoRequirement": null}}}}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_FALSE(parsed->find_field("bio")->indexed);
  EXPECT_TRUE(parsed->find_field("key")->indexed);
  EXPECT_TRUE(parsed->find_field("tag")->indexed);

  // Only the opt-out is written; the round trip keeps it.
  const Json written = to_json(*parsed);
  EXPECT_EQ(written["fields"]["bio"]["index"], Json(false));
  EXPECT_FALSE(written["fields"]["key"].contains("index"));
  EXPECT_FALSE(written["fields"]["tag"].contains("index"));
  auto again = schema_from_json(written);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *parsed);
  EXPECT_FALSE(again->find_field("bio")->indexed);

  // Schemas differing only in the opt-out are different schemas.
  SchemaDefinition all_indexed = *parsed;
  all_indexed.fields[0].indexed = true;
  EXPECT_NE(all_indexed, *parsed);
}

struct BadSchema {
  const char* json;
  std::string message;
};

const std::string kNoFields =
    R"(fields: expected an object of fields, a list of field names, or (for a view) "transform_fields")";
const std::string kNeither =
    "neither a public key (base64 of 32 bytes, as `datafold --json id` prints it) nor a name "
    "(1 to 64 letters, digits, '_', '-' or '.', as `datafold trust set --name` gives)";

class SchemaDefinitionErrors : public ::testing::TestWithParam<BadSchema> {};

TEST_P(SchemaDefinitionErrors, NamePathPrecisely) {
  auto parsed = parse_schema(std::string_view(GetParam().json));
  ASSERT_FALSE(parsed) << GetParam().json;
  EXPECT_EQ(parsed.error().kind, net::ErrorKind::Config);
  EXPECT_EQ(parsed.error().message, GetParam().message);
}

#define FIELD(policy) R"({"name": "S", "fields": {"email": {"permission_policy": )" policy "}}}"

INSTANTIATE_TEST_SUITE_P(
    Cases, SchemaDefinitionErrors,
    ::testing::Values(
        BadSchema{"[1, 2]", R"(schema: expected a JSON object with "name" and "fields")"},
        BadSchema{R"({"fields": {}})", "name: expected a non-empty string"},
        BadSchema{R"({"name": "", "fields": {}})", "name: expected a non-empty string"},
        BadSchema{R"({"name": 5, "fields": {}})", "name: expected a non-empty string"},
        BadSchema{R"({"name": "S"})", kNoFields},
        BadSchema{R"({"name": "S", "fields": {}})", kNoFields},
        BadSchema{R"({"name": "S", "fields": []})", kNoFields},
        BadSchema{R"({"name": "S", "fields": "a"})", kNoFields},
        BadSchema{R"({"name": "S", "fields": ["a", 3]})", "fields[1]: expected a field name (a non-empty string)"},
        BadSchema{R"({"name": "S", "fields": ["a", "a"]})", "fields[1]: field 'a' is listed twice"},
        BadSchema{R"({"name": "S", "transform_fields": {"a": 1}})",
                  "transform_fields.a: expected a transform expression (a string)"},
        BadSchema{R"({"name": "S", "fields": ["a"], "key": {"range_field": "b"}})",
                  "key.range_field: expected the name of a field of the schema"},
        BadSchema{R"({"name": "S", "fields": ["a"], "key": "a"})",
                  R"(key: expected {"hash_field"?: "<field>", "range_field"?: "<field>"})"},
        BadSchema{R"({"name": "S", "fields": ["a"], "schema_type": "Range"})",
                  "key.range_field: missing; a Range schema needs its range key"},
        BadSchema{R"({"name": "S", "fields": ["a", "b"], "schema_type": "HashRange", "key": {"range_field": "b"}})",
                  "key.hash_field: missing; a HashRange schema needs its hash key"},
        BadSchema{R"({"name": "S", "fields": ["a", "b"], "schema_type": "Range", "key": {"hash_field": "a", "range_field": "b"}})",
                  "key.hash_field: only a HashRange schema has a hash key"},
        BadSchema{R"({"name": "S", "fields": ["a"], "schema_type": "Single", "key": {"range_field": "a"}})",
                  "key.range_field: a Single schema has no range key"},
        BadSchema{R"({"name": "S", "fields": ["a"], "schema_type": "Hash"})",
                  R"(schema_type: expected "Single", "Range", "HashRange" or {"Range": {"range_key": "<field>"}})"},
        BadSchema{R"({"name": "S", "fields": ["a"], "schema_type": {"Range": {"range_key": "z"}}})",
                  "schema_type.Range.range_key: expected the name of a field of the schema"},
        BadSchema{R"({"name": "S", "fields": ["a"], "field_topologies": {"b": {}}})",
                  "field_topologies.b: 'b' is not a field of the schema"},
        BadSchema{R"({"name": "S", "version": true, "fields": {"a": {}}})",
                  "version: expected a non-empty string or an integer"},
        BadSchema{R"({"name": "S", "description": 1, "fields": {"a": {}}})", "description: expected a string"},
        BadSchema{R"({"name": "S", "fields": {"email": 1}})",
                  R"(fields.email: expected an object (with a "permission_policy"))"},
        BadSchema{FIELD("[]"), R"(fields.email.permission_policy: expected an object with "read_policy")"},
        BadSchema{FIELD(R"({"write_policy": {"Distance": 0}})"),
                  R"(fields.email.permission_policy.read_policy: missing; expected {"Distance": n}, {"NoRequirement": null} or "NoRequirement")"},
        BadSchema{FIELD(R"({"read_policy": {"Anyone": null}})"),
                  R"(fields.email.permission_policy.read_policy: expected {"Distance": n}, {"NoRequirement": null} or "NoRequirement")"},
        BadSchema{FIELD(R"({"read_policy": "Anyone"})"),
                  R"(fields.email.permission_policy.read_policy: expected {"Distance": n}, {"NoRequirement": null} or "NoRequirement")"},
        BadSchema{FIELD(R"({"read_policy": {"Distance": 1, "NoRequirement": null}})"),
                  R"(fields.email.permission_policy.read_policy: expected {"Distance": n}, {"NoRequirement": null} or "NoRequirement")"},
        BadSchema{FIELD(R"({"read_policy": {"NoRequirement": 0}})"),
                  "fields.email.permission_policy.read_policy.NoRequirement: expected null"},
        BadSchema{FIELD(R"({"read_policy": {"Distance": -1}})"),
                  "fields.email.permission_policy.read_policy.Distance: expected an integer from 0 to 4294967295"},
        BadSchema{FIELD(R"({"read_policy": {"Distance": 1.5}})"),
                  "fields.email.permission_policy.read_policy.Distance: expected an integer from 0 to 4294967295"},
        BadSchema{FIELD(R"({"read_policy": {"Distance": 4294967296}})"),
                  "fields.email.permission_policy.read_policy.Distance: expected an integer from 0 to 4294967295"},
        BadSchema{FIELD(R"({"read_policy": {"Distance": "1"}})"),
                  "fields.email.permission_policy.read_policy.Distance: expected an integer from 0 to 4294967295"},
        BadSchema{FIELD(R"({"read_policy": {"Distance": 1}, "explicit_read_policy": ["k"]})"),
                  R"(fields.email.permission_policy.explicit_read_policy: expected null or {"counts_by_pub_key": {"<public key or name>": n}})"},
        BadSchema{FIELD(R"({"read_policy": {"Distance": 1}, "explicit_read_policy": {}})"),
                  R"(fields.email.permission_policy.explicit_read_policy: expected null or {"counts_by_pub_key": {"<public key or name>": n}})"},
        BadSchema{FIELD(R"({"read_policy": {"Distance": 1}, "explicit_read_policy": {"counts_by_pub_key": []}})"),
                  R"(fields.email.permission_policy.explicit_read_policy.counts_by_pub_key: expected an object {"<public key or name>": n})"},
        BadSchema{FIELD(R"({"read_policy": {"Distance": 1}, "explicit_read_policy": {"counts_by_pub_key": {"a b": 1}}})"),
                  "fields.email.permission_policy.explicit_read_policy.counts_by_pub_key.a b: " + kNeither},
        // Base64 of 31 bytes: well-formed base64, wrong length, and no name either.
        BadSchema{FIELD(R"({"read_policy": {"Distance": 1}, "explicit_read_policy": {"counts_by_pub_key": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==": 1}}})"),
                  "fields.email.permission_policy.explicit_read_policy.counts_by_pub_key."
                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==: " + kNeither},
        BadSchema{FIELD(R"({"read_policy": {"Distance": 1}, "explicit_read_policy": {"counts_by_pub_key": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=": -2}}})"),
                  "fields.email.permission_policy.explicit_read_policy.counts_by_pub_key."
                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=: expected a non-negative integer count"},
        BadSchema{R"({"name": "S", "fields": {"email": {"type": "text", "permission_policy": {"read_policy": {"Distance": 1}}}}})",
                  R"(fields.email.type: expected one of "string", "integer", "number", "boolean", "json")"},
        BadSchema{R"({"name": "S", "fields": {"email": {"index": "false", "permission_policy": {"read_policy": {"Distance": 1}}}}})",
                  "fields.email.index: expected true or false"},
        BadSchema{R"({"name": "S", "fields": {"email": {"index": 0, "permission_policy": {"read_policy": {"Distance": 1}}}}})",
                  "fields.email.index: expected true or false"},
        BadSchema{R"({"name": "S", "fields": {"email": {"index": null, "permission_policy": {"read_policy": {"Distance": 1}}}}})",
                  "fields.email.index: expected true or false"}));

#undef FIELD

TEST(SchemaDefinition, SyntaxErrorSaysWhere) {
  auto parsed = parse_schema(std::string_view(R"({"name": "S",)"));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().kind, net::ErrorKind::Config);
  EXPECT_EQ(parsed.error().message.rfind("schema: invalid JSON: parse error at line 1, column 14", 0), 0u)
      << parsed.error().message;
  // One line, as the CLI prints it.
  EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos);
}

TEST(SchemaDefinition, ValueTypes) {
  EXPECT_TRUE(value_has_type(Json("x"), FieldType::String));
  EXPECT_FALSE(value_has_type(Json(1), FieldType::String));
  EXPECT_TRUE(value_has_type(Json(-3), FieldType::Integer));
  EXPECT_FALSE(value_has_type(Json(1.5), FieldType::Integer));
  EXPECT_TRUE(value_has_type(Json(1.5), FieldType::Number));
  EXPECT_TRUE(value_has_type(Json(2u), FieldType::Number));
  EXPECT_FALSE(value_has_type(Json("1"), FieldType::Number));
  EXPECT_TRUE(value_has_type(Json(true), FieldType::Boolean));
  EXPECT_FALSE(value_has_type(Json(0), FieldType::Boolean));
  EXPECT_TRUE(value_has_type(Json::object(), FieldType::Json));
  for (auto type : {FieldType::String, FieldType::Integer, FieldType::Number, FieldType::Boolean, FieldType::Json})
    EXPECT_TRUE(value_has_type(Json(nullptr), type)) << to_string(type);
  EXPECT_EQ(field_type_from_string("boolean"), FieldType::Boolean);
  EXPECT_FALSE(field_type_from_string("bool"));
}

}  // namespace
}  // namespace datafold::store
