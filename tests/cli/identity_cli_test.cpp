// `datafold id` and `datafold keygen`, and what every command does with an unusable key file.
#include "cli/cli_fixture.hpp"

#include <filesystem>

namespace datafold::cli_test {
namespace {

class IdentityCli : public CliTest {};

TEST_F(IdentityCli, IdCreatesTheKeyOnceAndPrintsTheSameIdAfter) {
  const auto first = datafold("me", {"id"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(first.out.size(), 53u) << first.out;  // 52 characters and a newline
  EXPECT_TRUE(std::filesystem::exists(dir("me") + "/identity.pem"));
  const auto second = datafold("me", {"id"});
  EXPECT_EQ(second.out, first.out);

  // --json before or after the sub-command.
  for (const auto& args : {std::vector<std::string>{"--json", "id"}, std::vector<std::string>{"id", "--json"}}) {
    const auto json = datafold("me", args);
    ASSERT_EQ(json.exit_code, 0) << json.err;
    const auto parsed = parse_json(json.out);
    ASSERT_FALSE(parsed.is_discarded()) << json.out;
    EXPECT_EQ(parsed.value("node_id", "") + "\n", first.out);
    EXPECT_EQ(parsed.value("public_key", "").size(), 44u);
  }
}

TEST_F(IdentityCli, KeygenMakesAKeyAndReplacesItOnlyWithForce) {
  const auto made = datafold("me", {"keygen"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto id = datafold("me", {"id"});
  EXPECT_EQ(id.out, made.out);

  const auto refused = datafold("me", {"keygen"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.error_line().find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(datafold("me", {"id"}).out, made.out);

  const auto forced = datafold("me", {"--json", "keygen", "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  const auto parsed = parse_json(forced.out);
  ASSERT_FALSE(parsed.is_discarded()) << forced.out;
  EXPECT_NE(parsed.value("node_id", "") + "\n", made.out);
  EXPECT_EQ(datafold("me", {"id"}).out, parsed.value("node_id", "") + "\n");
}

TEST_F(IdentityCli, AnUnreadableKeyFileIsOneLineAndExitTwoForEveryCommandThatNeedsIt) {
  std::filesystem::create_directories(dir("broken"));
  tmp_.write("broken/identity.pem", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
  auto& server = start_node("server");
  for (const auto& args : {std::vector<std::string>{"id"},
                           std::vector<std::string>{"query", server.address(), "UserProfile", "username"},
                           std::vector<std::string>{"schemas", server.address()}}) {
    auto all = args;
    const auto flags = client_flags();
    if (args.front() != "id") all.insert(all.end(), flags.begin(), flags.end());
    const auto result = datafold("broken", all);
    EXPECT_EQ(result.exit_code, 2) << args.front() << ": " << result.err;
    EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << "not one line: " << result.err;
    EXPECT_NE(result.err.find("identity.pem"), std::string::npos) << result.err;
  }
  expect_good_query(server);
}

TEST_F(IdentityCli, VersionPrintsTheProjectVersionWithNoSubCommand) {
  const auto result = run_datafold({"--version"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "datafold " DATAFOLD_VERSION "\n");
  EXPECT_EQ(result.err, "");
}

TEST_F(IdentityCli, AnUnknownSubCommandIsAUsageError) {
  const auto result = datafold("me", {"frobnicate"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.error_line().find("frobnicate"), std::string::npos) << result.err;

  // A command group without its sub-command lists the choices.
  const auto trust = datafold("me", {"trust"});
  EXPECT_EQ(trust.exit_code, 2);
  EXPECT_NE(trust.error_line().find("set, remove or list"), std::string::npos) << trust.err;
  const auto schema = datafold("me", {"schema"});
  EXPECT_EQ(schema.exit_code, 2);
  EXPECT_NE(schema.error_line().find("add, list or show"), std::string::npos) << schema.err;
}

}  // namespace
}  // namespace datafold::cli_test
