// `datafold schema add|list` and `datafold insert` against the data dir of a running node,
// which serves each change on its next query.
#include <filesystem>
#include <fstream>

#include "cli/cli_fixture.hpp"

namespace datafold::cli_test {
namespace {

// fold_db's schema shape, with the keys the store ignores (payment_config, write_policy…).
std::string contacts_schema(const std::string& allowed_key) {
  return R"({"name": "Contacts", "description": "people",
  "fields": {
    "name":  {"permission_policy": {"read_policy": {"NoRequirement": null}, "write_policy": {"Distance": 0},
                                    "explicit_read_policy": null, "explicit_write_policy": null},
              "type": "string"},
    "email": {"permission_policy": {"read_policy": {"Distance": 1}, "write_policy": {"Distance": 0},
                                    "explicit_read_policy": {"counts_by_pub_key": {")" +
         allowed_key + R"(": 1}},
                                    "explicit_write_policy": null},
              "payment_config": {"base_multiplier": 2.0}}}})";
}

class StoreCli : public CliTest {};

TEST_F(StoreCli, SchemaAddListAndInsertAreServedAtOnce) {
  auto& node = start_node("node", {});
  // The requester named in the schema's allow-list reads email although it is unknown.
  const auto reader_key = public_key_of("reader");

  const auto added = datafold("node", {"schema", "add", tmp_.write("contacts.json", contacts_schema(reader_key))});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, "added schema Contacts (version 1, 2 fields)\n");
  const auto replaced = datafold("node", {"--json", "schema", "add", tmp_ / "contacts.json"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  const auto replaced_json = parse_json(replaced.out);
  EXPECT_EQ(replaced_json.value("schema", ""), "Contacts");
  EXPECT_TRUE(replaced_json.value("replaced", false)) << replaced.out;

  const auto from_file = datafold(
      "node", {"insert", "Contacts",
               tmp_.write("rows.json", R"([{"name": "ann", "email": "ann@example.org"}, {"name": "ben"}])")});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(from_file.out, "inserted 2 rows into Contacts\n");
  const auto from_stdin =
      datafold("node", {"--json", "insert", "Contacts", "-"}, R"({"name": "cas", "email": "cas@example.net"})");
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(parse_json(from_stdin.out), (net::Json{{"schema", "Contacts"}, {"inserted", 1}}));

  const auto listed = datafold("node", {"schema", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("Contacts"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("email(distance<=1+1 key)"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("name(anyone)"), std::string::npos) << listed.out;
  const auto listed_json = parse_json(datafold("node", {"--json", "schema", "list"}).out);
  ASSERT_TRUE(listed_json.is_array());
  ASSERT_EQ(listed_json.size(), 1u);
  EXPECT_EQ(listed_json[0].value("name", ""), "Contacts");
  EXPECT_EQ(listed_json[0].value("rows", 0), 3);

  // The running node serves all of it without a restart; the allow-listed key reads email.
  const auto read = client("reader", {"--json", "query", node.address(), "Contacts", "name", "email"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  const auto result = parse_json(read.out);
  EXPECT_EQ(result["results"][0]["value"], (net::Json{"ann", "ben", "cas"})) << read.out;
  EXPECT_EQ(result["results"][1]["value"], (net::Json{"ann@example.org", nullptr, "cas@example.net"})) << read.out;
  // A stranger may read nothing it asked for: the query is refused whole (PERMISSION_DENIED).
  const auto stranger = client("stranger", {"--json", "query", node.address(), "Contacts", "email"});
  EXPECT_EQ(stranger.exit_code, 1) << stranger.out;
  EXPECT_NE(stranger.err.find("may read nothing it asked for: field 'email'"), std::string::npos) << stranger.err;
}

// fold_db's own files, from ../shared/reference/fold_db/schemas.
std::filesystem::path fold_db_schema(const std::string& file) {
  return std::filesystem::path(DATAFOLD_SOURCE_DIR) / ".." / "shared" / "reference" / "fold_db" / "schemas" /
         ("EdgeVector+fold_db__" + file);
}

TEST_F(StoreCli, AFoldDbSchemaIsKeptWholeWarnsAboutWhatIsNotEnforcedAndItsAllowListNamesResolveThroughTheTrustStore) {
  auto& node = start_node("node", {});
  const auto file = fold_db_schema("fold_node__src__datafold_node__examples__user_profile_schema.json");
  const auto added = datafold("node", {"schema", "add", file.string()});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, "added schema UserProfile (version 1, 6 fields)\n");
  // Warnings on stderr, each naming the file and the JSON paths.
  EXPECT_NE(added.err.find("warning: " + file.string() + ": payment is not enforced"), std::string::npos) << added.err;
  EXPECT_NE(added.err.find("the allow-list name 'trusted_service_key' (fields.email) is no key's name in the trust "
                           "store, so it grants nothing"),
            std::string::npos)
      << added.err;
  const auto as_json = datafold("node", {"--json", "schema", "add", file.string()});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  EXPECT_FALSE(parse_json(as_json.out)["warnings"].empty()) << as_json.out;

  // `schema show` gives back the file as it was, payment_config and all.
  const auto shown = datafold("node", {"schema", "show", "UserProfile"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  std::ifstream in(file);
  EXPECT_EQ(parse_json(shown.out), net::Json::parse(in));
  const auto absent = datafold("node", {"schema", "show", "Nope"});
  EXPECT_EQ(absent.exit_code, 2);
  EXPECT_NE(absent.err.find("no schema named 'Nope'"), std::string::npos) << absent.err;

  ASSERT_EQ(datafold("node", {"insert", "UserProfile", "-"}, R"({"username": "ann", "email": "ann@example.org"})")
                .exit_code,
            0);
  // email is Distance 1, or the key named trusted_service_key: an unknown reader is denied
  // until the operator gives its key that name.
  const auto denied = client("service", {"--json", "query", node.address(), "UserProfile", "username", "email"});
  EXPECT_EQ(parse_json(denied.out)["results"][1]["error"]["kind"], "InvalidPermission") << denied.out << denied.err;
  const auto named = datafold("node", {"trust", "set", public_key_of("service"), "9", "--name", "trusted_service_key"});
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_NE(named.out.find("named trusted_service_key"), std::string::npos) << named.out;
  EXPECT_TRUE(eventually([&] {
    const auto read = client("service", {"--json", "query", node.address(), "UserProfile", "email"});
    return parse_json(read.out)["results"][0]["value"] == net::Json{"ann@example.org"};
  })) << "the named key still cannot read email";
  // A name is one key's: giving it to another is refused.
  const auto taken = datafold("node", {"trust", "set", public_key_of("other"), "9", "--name", "trusted_service_key"});
  EXPECT_EQ(taken.exit_code, 2);
  EXPECT_NE(taken.err.find("already the name of"), std::string::npos) << taken.err;
  // With the name given, `schema add` no longer warns about it.
  const auto again = datafold("node", {"schema", "add", file.string()});
  EXPECT_EQ(again.err.find("trusted_service_key"), std::string::npos) << again.err;
}

TEST_F(StoreCli, InsertAppliesFoldDbsMutationDocumentsFromTheirOwnFiles) {
  const std::filesystem::path reference = std::filesystem::path(DATAFOLD_SOURCE_DIR) / ".." / "shared" / "reference" / "fold_db";
  ASSERT_EQ(datafold("node", {"schema", "add",
                              reference / "schemas" / "EdgeVector+fold_db__fold_node__src__datafold_node__samples__data__UserProfile.json"})
                .exit_code,
            0);
  const auto applied = datafold("node", {"insert", reference / "documents" / "examples__user_profile_mutations.json"});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(applied.out, "applied 6 mutations: 3 rows created, 2 rows updated, 1 row deleted\n");
  const auto update = datafold("node", {"--json", "insert", "UserProfile", reference / "documents" / "samples__data__UpdateUser.json"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_EQ(parse_json(update.out), (net::Json{{"created", 0}, {"updated", 1}, {"deleted", 0}}));

  // A document for another schema than the one named, and rows without a schema, are usage errors.
  const auto other = datafold("node", {"insert", "Contacts", reference / "documents" / "samples__data__UpdateUser.json"});
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_NE(other.err.find("mutation is for schema UserProfile, not Contacts"), std::string::npos) << other.err;
  const auto rows = datafold("node", {"insert", "-"}, R"({"username": "eve"})");
  EXPECT_EQ(rows.exit_code, 2) << rows.err;
  EXPECT_NE(rows.err.find("rows need a schema"), std::string::npos) << rows.err;
  const auto unsupported = datafold("node", {"insert", reference / "documents" / "samples__data__AddLikeToSocialPost.json"});
  EXPECT_NE(unsupported.exit_code, 0);
  EXPECT_NE(unsupported.err.find("expected create, update or delete"), std::string::npos) << unsupported.err;
}

TEST_F(StoreCli, BadInputSaysWhereAndChangesNothing) {
  auto& node = start_node("node");
  struct Case {
    std::string what;
    std::vector<std::string> args;
    std::string input;
    std::string message;
  };
  const auto bad_json = tmp_.write("bad.json", "{\"name\": \"X\",\n \"fields\": {,}}\n");
  const auto bad_policy = tmp_.write(
      "policy.json", R"({"name": "X", "fields": {"f": {"permission_policy": {"read_policy": {"Closeness": 3}}}}})");
  const std::vector<Case> cases{
      {"malformed schema file", {"schema", "add", bad_json}, "", bad_json + ": invalid JSON: parse error at line 2"},
      {"bad policy", {"schema", "add", bad_policy}, "", bad_policy + ": fields.f.permission_policy.read_policy"},
      {"missing schema file", {"schema", "add", tmp_ / "absent.json"}, "", "absent.json: cannot read"},
      {"malformed insert data", {"insert", "UserProfile", "-"}, "[{\"username\": \"dan\"},\n  {\"username\": }]",
       "<stdin>: invalid JSON: parse error at line 2"},
      {"insert data not rows", {"insert", "UserProfile", "-"}, "42", "expected a JSON object or an array of them"},
      {"unknown schema", {"insert", "Nope", "-"}, R"({"a": 1})", "Nope"},
      {"unknown field", {"insert", "UserProfile", "-"}, R"([{"username": "dan"}, {"shoe_size": 44}])", "shoe_size"},
      {"wrong type", {"insert", "UserProfile", "-"}, R"({"username": 7})", "username"},
  };
  for (const auto& c : cases) {
    const auto result = datafold("node", c.args, c.input);
    EXPECT_EQ(result.exit_code, 2) << c.what << ": " << result.err;
    EXPECT_NE(result.error_line().find(c.message), std::string::npos) << c.what << ": " << result.err;
    EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << c.what << ": not one line: " << result.err;
    EXPECT_TRUE(node.running()) << c.what;
    expect_good_query(node);
  }
  // Nothing was inserted: all or nothing.
  const auto rows = parse_json(datafold("node", {"--json", "schema", "list"}).out);
  ASSERT_TRUE(rows.is_array());
  ASSERT_EQ(rows.size(), 1u) << rows.dump();
  EXPECT_EQ(rows[0].value("rows", 0), 3);
}

}  // namespace
}  // namespace datafold::cli_test
