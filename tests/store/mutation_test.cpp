// fold_db's mutation documents, from ../shared/reference/fold_db/documents, applied to
// the store: create, update and delete, the rows they touch, type checks, Range schemas
// keeping one row per key, and refusals that name the document and key.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "store/mutation.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace datafold::store {
namespace {

using net::Json;

const std::filesystem::path kReference =
    std::filesystem::path(DATAFOLD_SOURCE_DIR) / ".." / "shared" / "reference" / "fold_db";

std::string read_reference_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string document(const std::string& name) { return read_reference_file(kReference / "documents" / name); }

SchemaDefinition reference_schema(const std::string& file) {
  auto parsed = parse_schema(read_reference_file(kReference / "schemas" / ("EdgeVector+fold_db__" + file)));
  EXPECT_TRUE(parsed) << file << ": " << parsed.error().message;
  return parsed ? *parsed : SchemaDefinition{};
}

class Mutations : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteStore::open(dir_.db());
    ASSERT_TRUE(opened) << opened.error().message;
    store_.emplace(std::move(*opened));
  }

  void add(const SchemaDefinition& schema) {
    auto added = store_->add_schema(schema);
    ASSERT_TRUE(added) << added.error().message;
  }

  MutationCounts apply(const std::string& text) {
    auto mutations = parse_mutations(text);
    EXPECT_TRUE(mutations) << mutations.error().message;
    if (!mutations) return {};
    auto counts = store_->apply_mutations(*mutations);
    EXPECT_TRUE(counts) << counts.error().message;
    return counts ? *counts : MutationCounts{};
  }

  // The error applying `text` fails with ("" if it succeeds).
  std::string refusal(const std::string& text) {
    auto mutations = parse_mutations(text);
    if (!mutations) return mutations.error().message;
    auto counts = store_->apply_mutations(*mutations);
    return counts ? "" : counts.error().message;
  }

  // The rows of `schema`, each as {field: value} over `fields`.
  std::vector<Json> rows(const std::string& schema, const std::vector<std::string>& fields,
                         const std::optional<Json>& filter = std::nullopt) {
    auto columns = store_->query(schema, fields, filter);
    EXPECT_TRUE(columns) << columns.error().message;
    std::vector<Json> out;
    if (!columns) return out;
    for (std::size_t row = 0; row < (*columns)[0].size(); ++row) {
      Json r = Json::object();
      for (std::size_t f = 0; f < fields.size(); ++f) r[fields[f]] = (*columns)[f][row];
      out.push_back(std::move(r));
    }
    return out;
  }

  testutil::TempDir dir_;
  std::optional<SqliteStore> store_;
};

TEST_F(Mutations, FoldDbsUserProfileDocumentsCreateUpdateByFilterAndDelete) {
  add(reference_schema("fold_node__src__datafold_node__samples__data__UserProfile.json"));
  const MutationCounts counts = apply(document("examples__user_profile_mutations.json"));
  EXPECT_EQ(counts.created, 3u);
  EXPECT_EQ(counts.updated, 2u);
  EXPECT_EQ(counts.deleted, 1u);

  const auto users = rows("UserProfile", {"username", "bio", "full_name", "age"});
  ASSERT_EQ(users.size(), 2u) << "bobsmith is deleted";
  EXPECT_EQ(users[0]["username"], "johndoe");
  EXPECT_NE(users[0]["bio"].get<std::string>().find("Senior software engineer"), std::string::npos);
  EXPECT_EQ(users[0]["full_name"], "John Doe") << "fields the update leaves out keep their values";
  EXPECT_EQ(users[1]["username"], "janedoe");
  EXPECT_EQ(users[1]["full_name"], "Jane A. Doe");
  EXPECT_EQ(users[1]["age"], 29);
}

TEST_F(Mutations, AnUpdateWithoutAFilterFindsItsRowByTheFirstFieldOfItsData) {
  add(reference_schema("fold_node__src__datafold_node__samples__data__UserProfile.json"));
  apply(document("samples__additional__user_profile_mutations.json"));
  const auto before = rows("UserProfile", {"username", "bio", "location"});

  // {"username": "johndoe", "bio": …, "location": "New York, NY"}: johndoe's row only.
  const MutationCounts counts = apply(document("samples__data__UpdateUser.json"));
  EXPECT_EQ(counts.updated, 1u);
  const auto after = rows("UserProfile", {"username", "bio", "location"});
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    if (after[i]["username"] == "johndoe") {
      EXPECT_EQ(after[i]["bio"], "Senior software engineer and blockchain enthusiast");
      EXPECT_EQ(after[i]["location"], "New York, NY");
    } else {
      EXPECT_EQ(after[i], before[i]) << "another user's row is untouched";
    }
  }
}

TEST_F(Mutations, ADeleteWithoutAFilterRemovesTheRowsItsDataNames) {
  add(reference_schema("fold_node__src__datafold_node__samples__data__BlogPost.json"));
  EXPECT_EQ(apply(document("samples__data__CreateBlogPost.json")).created, 1u);
  apply(R"({"type": "mutation", "schema": "BlogPost", "mutation_type": "create", "data": {"title": "Another"}})");
  EXPECT_EQ(apply(document("samples__data__DeleteBlogPost.json")).deleted, 1u);
  const auto left = rows("BlogPost", {"title"});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["title"], "Another");
}

TEST_F(Mutations, AFilterInAnyQueryShapeSelectsTheRowsAndSelectingNoneIsCountedNotRefused) {
  add(reference_schema("fold_node__src__datafold_node__samples__data__UserProfile.json"));
  apply(document("examples__user_profile_mutations.json"));
  EXPECT_EQ(apply(R"({"type": "mutation", "schema": "UserProfile", "mutation_type": "delete",
                      "filter": {"field": "username", "operator": "ne", "value": "johndoe"}, "data": {}})")
                .deleted,
            1u);
  EXPECT_EQ(rows("UserProfile", {"username"}).size(), 1u);
  EXPECT_EQ(apply(R"({"type": "mutation", "schema": "UserProfile", "mutation_type": "update",
                      "filter": {"username": "nobody"}, "data": {"bio": "x"}})")
                .updated,
            0u);
}

TEST_F(Mutations, DeclaredTypesAreCheckedAndABadDocumentLeavesNothingWritten) {
  add(reference_schema("available_schemas__BlogPost.json"));  // title: String, a Range on publish_date
  const std::string why = refusal(R"([
    {"type": "mutation", "schema": "BlogPost", "mutation_type": "create", "data": {"title": "ok", "publish_date": "2025-01-01"}},
    {"type": "mutation", "schema": "BlogPost", "mutation_type": "create", "data": {"title": 42, "publish_date": "2025-01-02"}}])");
  EXPECT_NE(why.find("mutations[1].data.title: expected string, got number"), std::string::npos) << why;
  EXPECT_TRUE(rows("BlogPost", {"title"}).empty()) << "the first document is not written either";
}

TEST_F(Mutations, ARangeSchemaKeepsOneRowPerKeyAndARowWithoutItsKeyIsRefused) {
  add(reference_schema("available_schemas__BlogPost.json"));
  const std::string first =
      R"({"type": "mutation", "schema": "BlogPost", "mutation_type": "create", "data": {"title": "First", "content": "a", "publish_date": "2025-01-01"}})";
  const std::string again =
      R"({"type": "mutation", "schema": "BlogPost", "mutation_type": "create", "data": {"title": "First, revised", "publish_date": "2025-01-01"}})";
  EXPECT_EQ(apply(first).created, 1u);
  const MutationCounts counts = apply(again);
  EXPECT_EQ(counts.created, 0u);
  EXPECT_EQ(counts.updated, 1u);
  const auto posts = rows("BlogPost", {"title", "content", "publish_date"});
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0]["title"], "First, revised");
  EXPECT_EQ(posts[0]["content"], "a");

  // insert_rows keeps rows by key too.
  auto written = store_->insert_rows("BlogPost", Json::parse(R"([{"title": "Second", "publish_date": "2025-01-02"},
                                                                  {"title": "Second again", "publish_date": "2025-01-02"}])"));
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(rows("BlogPost", {"title"}).size(), 2u);

  const std::string why =
      refusal(R"({"type": "mutation", "schema": "BlogPost", "mutation_type": "create", "data": {"title": "No date"}})");
  EXPECT_NE(why.find("mutation.data.publish_date: missing; it is the range key of schema BlogPost"), std::string::npos)
      << why;
  auto keyless = store_->insert_rows("BlogPost", Json::parse(R"({"title": "No date"})"));
  ASSERT_FALSE(keyless);
  EXPECT_NE(keyless.error().message.find("row.publish_date: missing"), std::string::npos) << keyless.error().message;
}

TEST_F(Mutations, AHashRangeSchemaKeepsOneRowPerHashAndRangeKeyPair) {
  add(reference_schema("available_schemas__BlogPostAuthorIndex.json"));  // hash author, range publish_date
  const auto create = [](const std::string& author, const std::string& date, int count) {
    return Json{{"type", "mutation"}, {"schema", "BlogPostAuthorIndex"}, {"mutation_type", "create"},
                {"data", {{"author", author}, {"publish_date", date}, {"post_count", count}}}}
        .dump();
  };
  EXPECT_EQ(apply(create("ann", "2025-01-01", 1)).created, 1u);
  EXPECT_EQ(apply(create("ann", "2025-01-02", 1)).created, 1u);  // same hash, another range key
  EXPECT_EQ(apply(create("ben", "2025-01-01", 1)).created, 1u);  // same range key, another hash
  const MutationCounts again = apply(create("ann", "2025-01-01", 2));
  EXPECT_EQ(again.created, 0u);
  EXPECT_EQ(again.updated, 1u);
  EXPECT_EQ(rows("BlogPostAuthorIndex", {"author", "publish_date", "post_count"}, Json{{"author", "ann"}}),
            (std::vector<Json>{{{"author", "ann"}, {"publish_date", "2025-01-01"}, {"post_count", 2}},
                               {{"author", "ann"}, {"publish_date", "2025-01-02"}, {"post_count", 1}}}));
  const std::string why = refusal(R"({"type": "mutation", "schema": "BlogPostAuthorIndex", "mutation_type": "create",
                                       "data": {"publish_date": "2025-01-03"}})");
  EXPECT_NE(why.find("mutation.data.author: missing; it is the hash key"), std::string::npos) << why;
}

TEST_F(Mutations, WhatTheNodeDoesNotDoIsRefusedNamingTheKey) {
  add(reference_schema("fold_node__src__datafold_node__samples__data__UserProfile.json"));
  // fold_db's collection operation.
  std::string why = refusal(document("samples__data__AddLikeToSocialPost.json"));
  EXPECT_NE(why.find("mutation.mutation_type: expected create, update or delete, not \"add_to_collection:likes\""),
            std::string::npos)
      << why;
  why = refusal(R"({"type": "mutation", "schema": "UserProfile", "data": {}})");
  EXPECT_NE(why.find("mutation.mutation_type: missing"), std::string::npos) << why;
  why = refusal(R"({"type": "mutation", "schema": "Nope", "mutation_type": "create", "data": {}})");
  EXPECT_NE(why.find("mutation.schema: schema 'Nope' not found"), std::string::npos) << why;
  why = refusal(R"({"type": "mutation", "schema": "UserProfile", "mutation_type": "create", "data": {"nickname": "j"}})");
  EXPECT_NE(why.find("mutation.data.nickname: unknown field of schema UserProfile"), std::string::npos) << why;
  why = refusal(R"({"type": "mutation", "schema": "UserProfile", "mutation_type": "update",
                    "filter": {"field": "age", "operator": "between", "value": 1}, "data": {"bio": "x"}})");
  EXPECT_NE(why.find("mutation.filter"), std::string::npos) << why;
  why = refusal(R"({"type": "mutation", "schema": "UserProfile", "mutation_type": "update", "data": {}})");
  EXPECT_NE(why.find("mutation.data: empty, so it names no row"), std::string::npos) << why;
  why = refusal("{\"type\": \"mutation\",\n \"schema\": }");
  EXPECT_NE(why.find("line 2"), std::string::npos) << why;
}

TEST(MutationDocuments, EveryReferenceDocumentIsAQueryOrParsesOrIsRefusedForAReason) {
  int mutations = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kReference / "documents")) {
    const std::string text = read_reference_file(entry.path());
    const Json parsed = Json::parse(text);
    const Json& first = parsed.is_array() ? parsed[0] : parsed;
    if (first.value("type", "") == "query") continue;
    EXPECT_TRUE(is_mutation_document(first) || !first.contains("mutation_type")) << entry.path().filename();
    auto documents = parse_mutations(text);
    const std::string name = entry.path().filename().string();
    if (name == "samples__data__AddLikeToSocialPost.json") {
      EXPECT_FALSE(documents) << name;  // a collection operation
    } else {
      ASSERT_TRUE(documents) << name << ": " << documents.error().message;
      mutations += static_cast<int>(documents->size());
    }
  }
  EXPECT_GE(mutations, 20);
}

}  // namespace
}  // namespace datafold::store
