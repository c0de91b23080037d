// `datafold trust set|list|remove`, and trust end to end: the serving node decides what a
// client reads from its own trust store, which `trust set` changes without a restart.
#include "cli/cli_fixture.hpp"

#include <filesystem>

namespace datafold::cli_test {
namespace {

class TrustCli : public CliTest {
 protected:
  // The sample schema's email column as `client` sees it at `node`: the values, or the
  // error kind when it may not read them.
  std::string email_as_seen_by(const std::string& client_dir, const NodeProcess& node) {
    const auto result = client(client_dir, {"--json", "query", node.address(), "UserProfile", "username", "email"});
    if (result.exit_code != 0) return "exit " + std::to_string(result.exit_code) + ": " + result.err;
    const auto email = parse_json(result.out)["results"][1];
    return email.contains("error") ? email["error"].value("kind", "") : email["value"].dump();
  }
};

TEST_F(TrustCli, SetListRemoveByPublicKey) {
  const auto key = public_key_of("friend");
  const auto id = node_id_of("friend");

  const auto empty = datafold("me", {"trust", "list"});
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_NE(empty.out.find("empty"), std::string::npos) << empty.out;

  const auto set = datafold("me", {"trust", "set", key, "1", "--note", "my friend"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find(id.substr(0, 12)), std::string::npos) << set.out;

  const auto listed = datafold("me", {"trust", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  for (const auto& text : {std::string("DISTANCE"), id.substr(0, 12), key, std::string("my friend")})
    EXPECT_NE(listed.out.find(text), std::string::npos) << text << " in " << listed.out;

  // A second set changes the distance and keeps the note; --json gives the entry.
  const auto changed = datafold("me", {"--json", "trust", "set", key, "3"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(parse_json(changed.out),
            (net::Json{{"node_id", id}, {"public_key", key}, {"distance", 3}, {"note", "my friend"}, {"name", nullptr}}));
  const auto json = parse_json(datafold("me", {"trust", "list", "--json"}).out);
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0].value("distance", 0), 3);
  EXPECT_EQ(json[0].value("public_key", ""), key);

  const auto removed = datafold("me", {"--json", "trust", "remove", key});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_TRUE(parse_json(removed.out).value("removed", false)) << removed.out;
  EXPECT_EQ(parse_json(datafold("me", {"--json", "trust", "list"}).out), net::Json::array());

  const auto again = datafold("me", {"trust", "remove", key});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.error_line().find("not in the trust store"), std::string::npos) << again.err;
}

TEST_F(TrustCli, ANodeIdIsResolvedThroughTheRunningNodeOrTheStore) {
  auto& server = start_node("server");
  const auto client_id = node_id_of("client");
  // The server meets the client (and its key) when the client queries it.
  expect_good_query(server);
  ASSERT_EQ(client("client", {"schemas", server.address()}).exit_code, 0);

  const auto set = datafold("server", {"--json", "trust", "set", client_id.substr(0, 10), "1", "--http", server.http()});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(parse_json(set.out).value("public_key", ""), public_key_of("client")) << set.out;

  // Already in the store: no node needed to find the key.
  const auto removed = datafold("server", {"trust", "remove", client_id, "--http", "off"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
}

TEST_F(TrustCli, BadInputsSayWhatToGiveInstead) {
  auto& server = start_node("server");
  const auto stranger = node_id_of("stranger");  // never met by the server
  const auto nobody = "127.0.0.1:" + std::to_string(free_tcp_port());
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"trust", "set", stranger, "1", "--http", nobody},
       "no node answering at " + nobody + "; is `datafold node` running? see --http; give the public key instead"},
      {{"trust", "set", stranger, "1", "--http", server.http()},
       "is not known to the node at " + server.http() + " (it has not met it); give the public key instead"},
      {{"trust", "set", stranger, "1", "--http", "off"}, "--http is off; give the public key instead"},
      {{"trust", "set", "not a key!", "1"}, "is neither a public key (base64, 44 characters) nor a node id"},
      {{"trust", "set", public_key_of("stranger"), "-1"}, "distance '-1' is not a whole number"},
      {{"trust", "set", public_key_of("stranger"), "4294967296"}, "distance '4294967296' is not a whole number"},
      {{"trust", "remove", stranger, "--http", "off"}, "give the public key instead"},
  };
  for (const auto& [args, message] : cases) {
    const auto result = datafold("server", args);
    EXPECT_EQ(result.exit_code, 2) << args[2] << ": " << result.err;
    EXPECT_NE(result.error_line().find(message), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << "not one line: " << result.err;
  }
  EXPECT_EQ(parse_json(datafold("server", {"--json", "trust", "list"}).out), net::Json::array());
  expect_good_query(server);
}

TEST_F(TrustCli, AMalformedTrustFileIsNamed) {
  std::filesystem::create_directories(dir("me"));
  tmp_.write("me/trust.json", "{\"version\": 1, \"entries\": [");
  const auto result = datafold("me", {"trust", "list"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.error_line().find("trust.json"), std::string::npos) << result.err;
}

// The issue's trusted/unknown difference: the same query, answered by the same node,
// shows `email` (read policy Distance 1) to a client it trusts at distance 1 and refuses
// it to one it does not know. Set and removed while the node runs, and each change holds
// for the very next query: `trust set` and `trust remove` have the node re-read the store
// before they return. Several rounds, as one could pass by luck within the node's own
// 250 ms look at the file.
TEST_F(TrustCli, TrustedClientReadsEmailUnknownClientGetsInvalidPermission) {
  auto& server = start_node("server");
  EXPECT_EQ(email_as_seen_by("trusted", server), "InvalidPermission");
  const std::string emails = R"(["alice@example.org","bob@example.org","carol@example.net"])";

  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto set = datafold("server", {"trust", "set", public_key_of("trusted"), "1"});
    ASSERT_EQ(set.exit_code, 0) << set.err;
    EXPECT_EQ(email_as_seen_by("trusted", server), emails);
    EXPECT_EQ(email_as_seen_by("unknown", server), "InvalidPermission");

    const auto removed = datafold("server", {"trust", "remove", public_key_of("trusted")});
    ASSERT_EQ(removed.exit_code, 0) << removed.err;
    EXPECT_NE(removed.out.find("from the running node's next query"), std::string::npos) << removed.out;
    EXPECT_EQ(email_as_seen_by("trusted", server), "InvalidPermission");
  }

  // Human output shows the same difference, and says why in words: an unknown requester
  // is "unknown", not "at 4294967295".
  ASSERT_EQ(datafold("server", {"trust", "set", public_key_of("trusted"), "1"}).exit_code, 0);
  const auto trusted = client("trusted", {"query", server.address(), "UserProfile", "username", "email", "phone"});
  EXPECT_NE(trusted.out.find("alice@example.org"), std::string::npos) << trusted.out;
  EXPECT_NE(trusted.out.find("phone: InvalidPermission"), std::string::npos) << trusted.out;
  EXPECT_NE(trusted.out.find("requester is at 1"), std::string::npos) << trusted.out;
  const auto unknown = client("unknown", {"query", server.address(), "UserProfile", "username", "email"});
  EXPECT_EQ(unknown.out.find("alice@example.org"), std::string::npos) << unknown.out;
  EXPECT_NE(unknown.out.find("email: InvalidPermission"), std::string::npos) << unknown.out;
  EXPECT_NE(unknown.out.find("needs trust distance <= 1, requester is unknown (not in the trust store)"),
            std::string::npos)
      << unknown.out;
  EXPECT_EQ(unknown.out.find("4294967295"), std::string::npos) << unknown.out;
}

}  // namespace
}  // namespace datafold::cli_test
