// Every schema format fold_db used loads, with nothing dropped silently: fold_db's own
// files from ../shared/reference/fold_db/schemas, and one small document per format.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "store/schema_definition.hpp"

namespace datafold::store {
namespace {

using net::Json;

const std::filesystem::path kReferenceSchemas =
    std::filesystem::path(DATAFOLD_SOURCE_DIR) / ".." / "shared" / "reference" / "fold_db" / "schemas";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool is_valid_json(const std::string& text) { return Json::accept(text); }

// The warning line that starts with `what`, or "".
std::string warning_about(const SchemaDefinition& schema, std::string_view what) {
  for (const auto& line : schema.warnings)
    if (line.starts_with(what)) return line;
  return "";
}

TEST(FoldDbSchemas, EveryReferenceSchemaThatIsValidJsonLoadsAndTheOtherIsRefusedSayingWhere) {
  ASSERT_TRUE(std::filesystem::is_directory(kReferenceSchemas)) << kReferenceSchemas;
  int loaded = 0;
  int refused = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kReferenceSchemas)) {
    const std::string text = read_file(entry.path());
    auto parsed = parse_schema(text);
    if (is_valid_json(text)) {
      ASSERT_TRUE(parsed) << entry.path().filename() << ": " << parsed.error().message;
      EXPECT_FALSE(parsed->fields.empty()) << entry.path().filename();
      EXPECT_EQ(parsed->source, Json::parse(text)) << "the document is kept as given";
      // What it says survives the store's own format too.
      auto again = schema_from_json(to_json(*parsed));
      ASSERT_TRUE(again) << entry.path().filename() << ": " << again.error().message;
      EXPECT_EQ(*again, *parsed) << entry.path().filename();
      ++loaded;
    } else {
      ASSERT_FALSE(parsed) << entry.path().filename();
      EXPECT_NE(parsed.error().message.find("line "), std::string::npos) << parsed.error().message;
      EXPECT_NE(parsed.error().message.find("column "), std::string::npos) << parsed.error().message;
      ++refused;
    }
  }
  EXPECT_EQ(loaded, 70);
  EXPECT_EQ(refused, 1);
}

TEST(FoldDbSchemas, AMapOfFieldsKeepsPoliciesAndWarnsAboutPaymentWritePoliciesAndTransforms) {
  auto parsed = parse_schema(read_file(kReferenceSchemas / "EdgeVector+fold_db__fold_node__src__datafold_node__samples__data__BlogPost.json"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->kind, SchemaKind::Single);
  EXPECT_FALSE(warning_about(*parsed, "payment is not enforced").empty());
  EXPECT_FALSE(warning_about(*parsed, "transforms are not run").empty());
  for (const auto& line : parsed->warnings) EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(FoldDbSchemas, AListOfFieldsWithAKeyIsARangeSchemaTypedByItsTopologiesAndReadByThisNodeAlone) {
  auto parsed = parse_schema(read_file(kReferenceSchemas / "EdgeVector+fold_db__available_schemas__BlogPost.json"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->name, "BlogPost");
  EXPECT_EQ(parsed->description, "Blog Post");
  EXPECT_EQ(parsed->kind, SchemaKind::Range);
  EXPECT_EQ(parsed->key.range_field, "publish_date");
  EXPECT_FALSE(parsed->key.hash_field);
  ASSERT_EQ(parsed->fields.size(), 5u);
  EXPECT_EQ(parsed->find_field("title")->type, FieldType::String);
  EXPECT_EQ(parsed->find_field("tags")->type, FieldType::Json);
  for (const auto& field : parsed->fields) EXPECT_EQ(field.policy.max_distance, 0u) << field.name;
  EXPECT_NE(warning_about(*parsed, "no permission policy: readable at distance 0 only").find("fields.title"),
            std::string::npos);
}

TEST(FoldDbSchemas, AViewWithOnlyTransformFieldsIsAHashRangeSchemaWhoseTransformsAreNotRun) {
  auto parsed =
      parse_schema(read_file(kReferenceSchemas / "EdgeVector+fold_db__available_schemas__BlogPostAuthorIndex.json"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->kind, SchemaKind::HashRange);
  EXPECT_EQ(parsed->key.hash_field, "author");
  EXPECT_EQ(parsed->key.range_field, "publish_date");
  EXPECT_NE(parsed->find_field("post_count"), nullptr);
  EXPECT_NE(warning_about(*parsed, "transforms are not run").find("transform_fields"), std::string::npos);
}

TEST(FoldDbSchemas, TheFirstRangeFormatNamesItsKeyInTheType) {
  auto parsed = parse_schema(R"({"name": "Scores", "schema_type": {"Range": {"range_key": "user_id"}},
    "fields": {"user_id": {"permission_policy": {"read_policy": "NoRequirement"}},
               "score": {"permission_policy": {"read_policy": {"Distance": 2}}, "field_type": "Range"}}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->kind, SchemaKind::Range);
  EXPECT_EQ(parsed->key.range_field, "user_id");
  EXPECT_FALSE(parsed->find_field("user_id")->policy.max_distance);  // the bare "NoRequirement"
  EXPECT_EQ(parsed->find_field("score")->policy.max_distance, 2u);
  EXPECT_NE(warning_about(*parsed, "kept, not used by this node").find("fields.score.field_type"), std::string::npos);
}

TEST(FoldDbSchemas, AllowListNamesAreKeptApartFromKeysAndAFieldWithoutAPolicyIsThisNodesAlone) {
  auto parsed = parse_schema(R"({"name": "Stock",
    "fields": {"count": {"permission_policy": {"read_policy": {"Distance": 0},
                  "explicit_read_policy": {"counts_by_pub_key": {"warehouse_manager_key": 1,
                                                                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=": 2}},
                  "write_policy": {"Distance": 1}}},
               "note": {}}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  const auto& count = parsed->find_field("count")->policy;
  EXPECT_EQ(count.named_readers.size(), 1u);
  EXPECT_EQ(count.named_readers.at("warehouse_manager_key"), 1u);
  EXPECT_EQ(count.explicit_readers.size(), 1u);
  EXPECT_EQ(parsed->find_field("note")->policy.max_distance, 0u);
  EXPECT_NE(warning_about(*parsed, "no permission policy").find("fields.note"), std::string::npos);
  EXPECT_NE(warning_about(*parsed, "write policies are not enforced").find("fields.count.permission_policy.write_policy"),
            std::string::npos);
  // Names survive the store's own format.
  auto again = schema_from_json(to_json(*parsed));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *parsed);
}

TEST(FoldDbSchemas, TheStoredDocumentIsTheSourceAsGivenOrTheStoresFormatForASchemaMadeInCode) {
  const Json source = Json::parse(R"({"name": "S", "fields": ["a"], "field_descriptions": {"a": "the a"}})");
  auto parsed = schema_from_json(source);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(stored_document(*parsed), source);
  EXPECT_NE(warning_about(*parsed, "kept, not used by this node").find("field_descriptions"), std::string::npos);
  SchemaDefinition made = *parsed;
  made.source = nullptr;
  EXPECT_EQ(stored_document(made), to_json(made));
}

}  // namespace
}  // namespace datafold::store
