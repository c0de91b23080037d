#include "store/store_query_handler.hpp"

#include <gtest/gtest.h>

#include <array>
#include <limits>

#include "store/sample_data.hpp"
#include "temp_dir.hpp"

namespace datafold::store {
namespace {

using net::Json;
using net::SchemaError;
using testutil::TempDir;

constexpr std::uint32_t kStranger = std::numeric_limits<std::uint32_t>::max();

net::PublicKey reader_key_of(std::uint8_t fill) {
  std::array<std::uint8_t, net::PublicKey::kSize> bytes{};
  bytes.fill(fill);
  return net::PublicKey(bytes);
}

net::RequestContext requester_at(std::uint32_t distance, net::PublicKey key = reader_key_of(0x42)) {
  net::RequestContext context;
  context.public_key = key;
  context.node_id = key.node_id();
  context.trust_distance = distance;
  return context;
}

net::Query query(std::vector<std::string> fields, std::optional<Json> filter = std::nullopt,
                 std::string schema = "UserProfile") {
  net::Query q;
  q.schema_name = std::move(schema);
  q.fields = std::move(fields);
  q.filter = std::move(filter);
  return q;
}

class StoreQueryHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::open(dir_.db());
    ASSERT_TRUE(store) << store.error().message;
    store_.emplace(std::move(store).value());
    auto seeded = seed_sample(*store_);
    ASSERT_TRUE(seeded) << seeded.error().message;
  }

  void expect_error(const net::FieldResult& result, const std::string& field, SchemaError::Kind kind,
                    const std::string& message) {
    EXPECT_EQ(result.field, field);
    ASSERT_FALSE(result.ok()) << field << " = " << result.value().dump();
    EXPECT_EQ(result.error().kind, kind) << to_string(result.error().kind);
    EXPECT_EQ(result.error().message, message);
  }

  void expect_value(const net::FieldResult& result, const std::string& field, const char* json) {
    EXPECT_EQ(result.field, field);
    ASSERT_TRUE(result.ok()) << field << ": " << result.error().message;
    EXPECT_EQ(result.value(), Json::parse(json));
  }

  TempDir dir_;
  std::optional<SqliteStore> store_;
};

TEST_F(StoreQueryHandlerTest, OneSlotPerFieldInRequestOrder) {
  const auto result = answer_query(*store_, query({"phone", "nickname", "username", "email", "username"}), requester_at(1));
  ASSERT_EQ(result.results.size(), 5u);
  expect_error(result.results[0], "phone", SchemaError::Kind::InvalidPermission,
               "field 'phone' needs trust distance <= 0, requester is at 1");
  expect_error(result.results[1], "nickname", SchemaError::Kind::InvalidField,
               "schema UserProfile has no field 'nickname'");
  expect_value(result.results[2], "username", R"(["alice", "bob", "carol"])");
  expect_value(result.results[3], "email", R"(["alice@example.org", "bob@example.org", "carol@example.net"])");
  expect_value(result.results[4], "username", R"(["alice", "bob", "carol"])");
}

TEST_F(StoreQueryHandlerTest, UnknownRequesterSeesOnlyOpenFields) {
  const auto result = answer_query(*store_, query({"username", "email", "display_name"}), requester_at(kStranger));
  ASSERT_EQ(result.results.size(), 3u);
  expect_value(result.results[0], "username", R"(["alice", "bob", "carol"])");
  expect_error(result.results[1], "email", SchemaError::Kind::InvalidPermission,
               "field 'email' needs trust distance <= 1, requester is unknown (not in the trust store)");
  expect_value(result.results[2], "display_name", R"(["Alice Liddell", "Bob Stone", "Carol Reyes"])");
}

TEST_F(StoreQueryHandlerTest, NodeItselfSeesEverything) {
  const auto result = answer_query(*store_, query({"phone", "email"}, Json{{"username", "bob"}}), requester_at(0));
  ASSERT_EQ(result.results.size(), 2u);
  expect_value(result.results[0], "phone", R"(["+1-555-0101"])");
  expect_value(result.results[1], "email", R"(["bob@example.org"])");
}

TEST_F(StoreQueryHandlerTest, UnknownSchemaFailsEveryField) {
  const auto result = answer_query(*store_, query({"a", "b"}, std::nullopt, "Nope"), requester_at(0));
  ASSERT_EQ(result.results.size(), 2u);
  expect_error(result.results[0], "a", SchemaError::Kind::NotFound, "schema 'Nope' not found");
  expect_error(result.results[1], "b", SchemaError::Kind::NotFound, "schema 'Nope' not found");
}

TEST_F(StoreQueryHandlerTest, AllowListedKeyReadsAtAnyDistance) {
  SchemaDefinition schema = sample_schema();
  FieldDefinition* email = const_cast<FieldDefinition*>(schema.find_field("email"));
  email->policy.explicit_readers.emplace(reader_key_of(0x77), 1);
  ASSERT_TRUE(store_->add_schema(schema));

  const auto listed = answer_query(*store_, query({"email"}, Json{{"username", "carol"}}), requester_at(kStranger, reader_key_of(0x77)));
  expect_value(listed.results.at(0), "email", R"(["carol@example.net"])");
  const auto other = answer_query(*store_, query({"email"}), requester_at(kStranger, reader_key_of(0x78)));
  EXPECT_FALSE(other.results.at(0).ok());
}

TEST_F(StoreQueryHandlerTest, FilterMustBeReadableKnownAndAnObject) {
  // Filtering on email would tell an untrusted requester whose email it is.
  const auto denied = answer_query(*store_, query({"username", "display_name"}, Json{{"email", "bob@example.org"}}),
                                   requester_at(5));
  ASSERT_EQ(denied.results.size(), 2u);
  for (const auto& [field, name] : {std::pair{0, "username"}, std::pair{1, "display_name"}})
    expect_error(denied.results[field], name, SchemaError::Kind::InvalidPermission,
                 "filter uses field 'email', which needs trust distance <= 1, requester is at 5");

  const auto unknown = answer_query(*store_, query({"username"}, Json{{"age", 3}}), requester_at(0));
  expect_error(unknown.results.at(0), "username", SchemaError::Kind::InvalidDSL,
               "filter names unknown field 'age' of schema UserProfile");

  const auto not_object = answer_query(*store_, query({"username"}, Json::array()), requester_at(0));
  expect_error(not_object.results.at(0), "username", SchemaError::Kind::InvalidDSL,
               "filter must be a JSON object {field: value}");

  const auto allowed = answer_query(*store_, query({"username"}, Json{{"email", "bob@example.org"}}), requester_at(1));
  expect_value(allowed.results.at(0), "username", R"(["bob"])");
  const auto null_filter = answer_query(*store_, query({"username"}, Json(nullptr)), requester_at(9));
  expect_value(null_filter.results.at(0), "username", R"(["alice", "bob", "carol"])");
}

TEST_F(StoreQueryHandlerTest, NoFieldsNoSlots) {
  EXPECT_TRUE(answer_query(*store_, query({}), requester_at(0)).results.empty());
}

TEST_F(StoreQueryHandlerTest, PolicyChangeAndOtherProcessWritesApplyToNextQuery) {
  EXPECT_FALSE(answer_query(*store_, query({"phone"}), requester_at(3)).results.at(0).ok());

  // Another process (the CLI) opens the same file, opens phone up and adds a row.
  auto cli = SqliteStore::open(dir_.db());
  ASSERT_TRUE(cli);
  SchemaDefinition schema = sample_schema();
  const_cast<FieldDefinition*>(schema.find_field("phone"))->policy.max_distance = 3;
  ASSERT_TRUE(cli->add_schema(schema));
  ASSERT_TRUE(cli->insert_rows("UserProfile", Json{{"username", "dave"}, {"phone", "+1-555-0199"}}));

  const auto result = answer_query(*store_, query({"phone"}, Json{{"username", "dave"}}), requester_at(3));
  expect_value(result.results.at(0), "phone", R"(["+1-555-0199"])");
}

TEST_F(StoreQueryHandlerTest, ListingHidesSchemasRequesterCannotRead) {
  auto secrets = schema_from_json(Json::parse(R"({"name": "Secrets", "version": "7", "description": "keys",
      "fields": {"pin": {"permission_policy": {"read_policy": {"Distance": 0}}},
                 "note": {"permission_policy": {"read_policy": {"Distance": 2}}}}})"));
  ASSERT_TRUE(secrets) << secrets.error().message;
  ASSERT_TRUE(store_->add_schema(*secrets));

  const auto names = [&](const net::RequestContext& who) {
    std::vector<std::string> out;
    for (const auto& info : visible_schemas(*store_, who)) out.push_back(info.name);
    return out;
  };
  EXPECT_EQ(names(requester_at(0)), (std::vector<std::string>{"Secrets", "UserProfile"}));
  EXPECT_EQ(names(requester_at(2)), (std::vector<std::string>{"Secrets", "UserProfile"}));
  EXPECT_EQ(names(requester_at(3)), (std::vector<std::string>{"UserProfile"}));
  EXPECT_EQ(names(requester_at(kStranger)), (std::vector<std::string>{"UserProfile"}));

  const auto all = visible_schemas(*store_, requester_at(0));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (net::SchemaInfo{"Secrets", "7", std::string("keys"),
                                     {net::SchemaFieldInfo{"note", "", true}, net::SchemaFieldInfo{"pin", "", true}}}));
}

TEST_F(StoreQueryHandlerTest, ListingSaysEachFieldsTypeAndWhetherThisRequesterMayReadIt) {
  using F = net::SchemaFieldInfo;
  const auto profile = [&](const net::RequestContext& who) {
    for (const auto& info : visible_schemas(*store_, who))
      if (info.name == kSampleSchemaName) return info.fields;
    return std::vector<F>{};
  };
  // The sample's fields are sorted by name: username and display_name open, email at 1, phone at 0.
  EXPECT_EQ(profile(requester_at(0)), (std::vector<F>{{"display_name", "string", true}, {"email", "string", true},
                                            {"phone", "string", true}, {"username", "string", true}}));
  EXPECT_EQ(profile(requester_at(1)), (std::vector<F>{{"display_name", "string", true}, {"email", "string", true},
                                            {"phone", "string", false}, {"username", "string", true}}));
  EXPECT_EQ(profile(requester_at(kStranger)), (std::vector<F>{{"display_name", "string", true}, {"email", "string", false},
                                                     {"phone", "string", false}, {"username", "string", true}}));
}

}  // namespace
}  // namespace datafold::store
