// The client sub-commands against real nodes: discover, schemas, query, peers, status;
// their --json output, and the bad inputs each must refuse in one line without harming
// the node.
#include "cli/cli_fixture.hpp"

#include <filesystem>
#include <sstream>

#include "datafold/net/identity.hpp"

namespace datafold::cli_test {
namespace {

class ClientCli : public CliTest {
 protected:
  // A data dir whose node id starts with the same character as `id`, so a one-character
  // prefix names both. About 32 keys are made on average; each takes microseconds.
  void make_identity_sharing_first_character(const std::string& name, const std::string& id, bool sharing = true) {
    for (;;) {
      auto identity = net::Identity::generate();
      ASSERT_TRUE(identity);
      if ((identity->node_id().to_string().front() == id.front()) != sharing) continue;
      std::filesystem::create_directories(dir(name));
      ASSERT_TRUE(identity->save(dir(name) + "/identity.pem"));
      return;
    }
  }
};

TEST_F(ClientCli, DiscoverFindsANodeOnTheLoopbackLan) {
  auto& server = start_node("server", {"--sample"}, /*lan=*/true);
  RunResult found;
  // A probe's answer is a UDP datagram; one may be lost, so ask again until the deadline.
  ASSERT_TRUE(eventually([&] {
    auto args = lan_client_flags();
    args.insert(args.begin(), "discover");
    found = datafold("client", args);
    return found.exit_code == 0 && found.out.find(server.address()) != std::string::npos;
  })) << found.out << found.err;
  EXPECT_NE(found.out.find("NODE"), std::string::npos) << found.out;
  EXPECT_NE(found.out.find(server.node_id().substr(0, 12)), std::string::npos) << found.out;
  EXPECT_NE(found.err.find("probing for 300 ms"), std::string::npos) << found.err;

  RunResult json;
  ASSERT_TRUE(eventually([&] {
    auto args = lan_client_flags();
    args.insert(args.begin(), {"--json", "discover", "--wait-ms", "500"});
    json = datafold("client", args);
    return json.exit_code == 0 && json.out.find(server.node_id()) != std::string::npos;
  })) << json.out << json.err;
  const auto nodes = parse_json(json.out);
  ASSERT_TRUE(nodes.is_array()) << json.out;
  bool listed = false;
  for (const auto& node : nodes)
    if (node.value("node_id", "") == server.node_id()) {
      listed = true;
      EXPECT_EQ(node.value("address", ""), server.address());
      EXPECT_EQ(node.value("health", ""), "healthy");
    }
  EXPECT_TRUE(listed) << json.out;
}

TEST_F(ClientCli, DiscoverWithBootstrapAloneListsThePeer) {
  auto& server = start_node("server");
  const auto found = client("client", {"--json", "discover", "--bootstrap", server.address()});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  const auto nodes = parse_json(found.out);
  ASSERT_TRUE(nodes.is_array()) << found.out;
  ASSERT_EQ(nodes.size(), 1u) << found.out;
  EXPECT_EQ(nodes[0].value("node_id", ""), server.node_id());
  EXPECT_NE(found.err.find("connecting to " + server.address()), std::string::npos) << found.err;

  const auto nothing = client("client", {"discover"});
  EXPECT_EQ(nothing.exit_code, 2) << nothing.err;
  EXPECT_NE(nothing.error_line().find("--no-discovery"), std::string::npos) << nothing.err;
}

TEST_F(ClientCli, SchemasByAddressIdPrefixAndThroughTheLocalNode) {
  auto& server = start_node("server");
  const auto by_address = client("client", {"schemas", server.address()});
  ASSERT_EQ(by_address.exit_code, 0) << by_address.err;
  EXPECT_NE(by_address.out.find("UserProfile"), std::string::npos) << by_address.out;
  EXPECT_NE(by_address.out.find("SCHEMA"), std::string::npos) << by_address.out;

  const auto json = client("client", {"--json", "schemas", server.address()});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto schemas = parse_json(json.out);
  ASSERT_TRUE(schemas.is_array()) << json.out;
  ASSERT_EQ(schemas.size(), 1u);
  EXPECT_EQ(schemas[0].value("name", ""), "UserProfile");

  // A full id and a prefix, found through --bootstrap.
  for (const auto& node : {server.node_id(), server.node_id().substr(0, 8)}) {
    const auto by_id = client("client", {"schemas", node, "--bootstrap", server.address()});
    ASSERT_EQ(by_id.exit_code, 0) << node << ": " << by_id.err;
    EXPECT_NE(by_id.out.find("UserProfile"), std::string::npos) << by_id.out;
  }

  // A prefix the client cannot find itself: the local node (here `relay`, which knows
  // the server) says where it is.
  auto& relay = start_node("relay", {"--bootstrap", server.address(), "--sample"});
  ASSERT_TRUE(eventually([&] {
    return datafold("client", {"peers", "--http", relay.http()}).out.find(server.node_id().substr(0, 12)) !=
           std::string::npos;
  }));
  const auto via_relay = datafold("client", {"schemas", server.node_id().substr(0, 10), "--network", network_,
                                             "--no-discovery", "--http", relay.http()});
  ASSERT_EQ(via_relay.exit_code, 0) << via_relay.err;
  EXPECT_NE(via_relay.out.find("UserProfile"), std::string::npos) << via_relay.out;
  EXPECT_NE(via_relay.err.find("asking the node at " + relay.http()), std::string::npos) << via_relay.err;
  // And the local node itself, by its id.
  const auto relay_itself = datafold("client", {"schemas", relay.node_id().substr(0, 10), "--network", network_,
                                                "--no-discovery", "--http", relay.http()});
  ASSERT_EQ(relay_itself.exit_code, 0) << relay_itself.err;
  EXPECT_NE(relay_itself.out.find("UserProfile"), std::string::npos) << relay_itself.out;
}

TEST_F(ClientCli, QueryWithAndWithoutFilter) {
  auto& server = start_node("server");
  const auto all = client("client", {"query", server.address(), "UserProfile", "username", "display_name"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  for (const char* text : {"username", "display_name", "alice", "bob", "carol", "Alice Liddell"})
    EXPECT_NE(all.out.find(text), std::string::npos) << text << " in " << all.out;
  EXPECT_NE(all.err.find("querying " + server.node_id().substr(0, 12)), std::string::npos) << all.err;

  const auto filtered = client(
      "client", {"query", server.address(), "UserProfile", "username", "display_name", "--filter", R"({"username": "bob"})"});
  ASSERT_EQ(filtered.exit_code, 0) << filtered.err;
  EXPECT_NE(filtered.out.find("Bob Stone"), std::string::npos) << filtered.out;
  EXPECT_EQ(filtered.out.find("alice"), std::string::npos) << filtered.out;

  const auto json = client("client", {"--json", "query", server.address(), "UserProfile", "username", "email",
                                      "--filter", R"({"username": "carol"})"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto result = parse_json(json.out);
  ASSERT_FALSE(result.is_discarded()) << json.out;
  EXPECT_EQ(result.value("node_id", ""), server.node_id());
  ASSERT_EQ(result["results"].size(), 2u) << json.out;
  EXPECT_EQ(result["results"][0]["field"], "username");
  EXPECT_EQ(result["results"][0]["value"], net::Json::array({"carol"}));
  EXPECT_EQ(result["results"][1]["field"], "email");
  EXPECT_EQ(result["results"][1]["error"]["kind"], "InvalidPermission");

  // --log-level warn quiets the progress lines.
  const auto quiet = client("client", {"--log-level", "warn", "query", server.address(), "UserProfile", "username"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
  EXPECT_EQ(quiet.out, all.out.substr(0, all.out.find("  ")) + "\nalice\nbob\ncarol\n");

  // A filter that matches nothing is an empty answer, not an error.
  const auto none = client("client", {"--json", "query", server.address(), "UserProfile", "username", "--filter",
                                      R"({"username": "nobody"})"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(parse_json(none.out)["results"][0]["value"], net::Json::array());
}

// PROTOCOL.md 7.3: a query refused as a whole fails the command (exit 1, the node's
// reason in one line), whether the client dials the node or goes through its own node.
TEST_F(ClientCli, AQueryRefusedWholeExitsOneWithTheNodesReason) {
  auto& server = start_node("server");
  auto& node = start_node("node", {"--sample"});
  const auto through_node = [&](std::vector<std::string> args) {
    for (const auto& flag : {"--network", network_.c_str(), "--no-discovery", "--http", node.http().c_str()})
      args.push_back(flag);
    return datafold("node", args);
  };
  struct Case {
    std::string what;
    std::vector<std::string> query;  // after "query NODE"
    std::string message;
  };
  const std::vector<Case> cases{
      {"unknown schema", {"Nope", "username"}, "schema 'Nope' not found"},
      {"filter on an unknown field", {"UserProfile", "username", "--filter", R"({"age": 3})"},
       "filter names unknown field 'age' of schema UserProfile"},
      {"filter the node cannot run", {"UserProfile", "username", "--filter", R"({"field": "username", "operator": "like", "value": "a"})"},
       "unknown operator 'like'"},
      {"nothing readable", {"UserProfile", "email", "phone"}, "may read nothing it asked for: field 'email'"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> direct{"query", server.address()};
    direct.insert(direct.end(), c.query.begin(), c.query.end());
    std::vector<std::string> relayed{"query", server.node_id()};
    relayed.insert(relayed.end(), c.query.begin(), c.query.end());
    relayed.insert(relayed.end(), {"--bootstrap", server.address()});  // after the fields it would take
    for (const auto& result : {client("client", direct), through_node(relayed)}) {
      EXPECT_EQ(result.exit_code, 1) << c.what << ": " << result.out << result.err;
      EXPECT_NE(result.error_line().find(c.message), std::string::npos) << c.what << ": " << result.err;
      EXPECT_EQ(result.out, "") << c.what;
    }
  }
  // The node's own data, through its HTTP API: an unknown schema fails there too.
  const auto own = through_node({"query", node.node_id().substr(0, 10), "Nope", "x"});
  EXPECT_EQ(own.exit_code, 1) << own.out << own.err;
  EXPECT_NE(own.error_line().find("schema 'Nope' not found"), std::string::npos) << own.err;
  expect_good_query(server);
}

// PROTOCOL.md 7.5: the listing says each field's name, type and whether this client may
// read it, so a query can be written without trial and error.
TEST_F(ClientCli, SchemasListEachFieldWithItsTypeAndWhetherThisClientMayReadIt) {
  auto& server = start_node("server");
  const auto json = client("client", {"--json", "schemas", server.address()});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto schemas = parse_json(json.out);
  ASSERT_EQ(schemas.size(), 1u) << json.out;
  // A stranger to the server: username and display_name are open, email and phone are not.
  EXPECT_EQ(schemas[0]["fields"], net::Json::parse(R"([
      {"name": "display_name", "type": "string", "readable": true},
      {"name": "email", "type": "string", "readable": false},
      {"name": "phone", "type": "string", "readable": false},
      {"name": "username", "type": "string", "readable": true}])")) << json.out;

  const auto table = client("client", {"schemas", server.address()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  for (const char* text : {"READABLE FIELDS", "OTHER FIELDS", "display_name:string username:string",
                           "email:string phone:string"})
    EXPECT_NE(table.out.find(text), std::string::npos) << text << " in " << table.out;
}

TEST_F(ClientCli, BadInputsFailInOneLineAndLeaveTheNodeServing) {
  auto& server = start_node("server");
  // A second node whose id shares the server's first character, for an ambiguous prefix.
  make_identity_sharing_first_character("twin", server.node_id());
  // And a client whose id does not: one time in 32 a random one would make the ambiguous
  // prefixes below match three nodes instead of two.
  make_identity_sharing_first_character("client", server.node_id(), /*sharing=*/false);
  // The client's own id counts too: here as a short-lived node of its own (none runs on
  // its data dir yet), below through its running node.
  auto own_prefix_query = [&](const std::string& http) {
    return datafold("twin", {"query", server.node_id().substr(0, 1), "UserProfile", "username", "--network", network_,
                             "--no-discovery", "--http", http, "--bootstrap", server.address()});
  };
  const auto alone = own_prefix_query("off");
  EXPECT_EQ(alone.exit_code, 2) << alone.err;
  EXPECT_NE(alone.error_line().find("matches 2 nodes (this data dir's own among them)"), std::string::npos)
      << alone.err;
  auto& twin = start_node("twin");
  ASSERT_EQ(twin.node_id().front(), server.node_id().front());
  const std::string other_first = server.node_id().front() == 'a' ? "b" : "a";

  struct Case {
    std::string what;
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases{
      {"unknown node", {"query", other_first + "zzzz", "UserProfile", "username", "--bootstrap", server.address()},
       1, "no known node matches '" + other_first + "zzzz'"},
      {"ambiguous prefix",
       {"query", server.node_id().substr(0, 1), "UserProfile", "username", "--bootstrap", server.address(),
        "--bootstrap", twin.address()},
       // The client's own id may share the character too: then it counts among the matches.
       2, " nodes; give more characters"},
      {"malformed filter", {"query", server.address(), "UserProfile", "username", "--filter", "{\"username\": "}, 2,
       "--filter is not valid JSON"},
      {"filter not an object", {"query", server.address(), "UserProfile", "username", "--filter", "[1, 2]"}, 2,
       "--filter must be a JSON object"},
      {"not a node reference", {"schemas", "no/such/node"}, 2, "is not a node id, an id prefix or host:port"},
      {"bad bootstrap", {"discover", "--bootstrap", "nowhere"}, 2, "--bootstrap: 'nowhere' is not HOST:PORT"},
      {"node not reachable", {"query", "127.0.0.1:" + std::to_string(free_tcp_port()), "UserProfile", "username"}, 1,
       "cannot connect to 127.0.0.1:"},
      {"missing field", {"query", server.address(), "UserProfile"}, 2, "fields is required"},
  };
  for (const auto& c : cases) {
    const auto result = client("client", c.args);
    EXPECT_EQ(result.exit_code, c.exit_code) << c.what << ": " << result.err;
    EXPECT_NE(result.error_line().find(c.message), std::string::npos) << c.what << ": " << result.err;
    EXPECT_EQ(result.error_line().rfind("datafold: ", 0), 0u) << c.what << ": " << result.err;
    EXPECT_TRUE(server.running()) << c.what;
    expect_good_query(server);
  }
  const auto through_node = own_prefix_query(twin.http());
  EXPECT_EQ(through_node.exit_code, 2) << through_node.err;
  EXPECT_NE(through_node.error_line().find("matches 2 nodes (this data dir's own among them)"), std::string::npos)
      << through_node.err;
  // With the node running, --http off may not dial as that node (it would cut its connections).
  const auto as_the_node = own_prefix_query("off");
  EXPECT_EQ(as_the_node.exit_code, 2) << as_the_node.err;
  EXPECT_NE(as_the_node.error_line().find("may not dial with that node's identity while it runs"), std::string::npos)
      << as_the_node.err;
  expect_good_query(server);
  // The ambiguity goes away with one more character.
  std::size_t common = 0;
  while (server.node_id()[common] == twin.node_id()[common]) ++common;
  const auto unique = client("client", {"query", server.node_id().substr(0, common + 1), "UserProfile", "username",
                                        "--bootstrap", server.address(), "--bootstrap", twin.address()});
  EXPECT_EQ(unique.exit_code, 0) << unique.err;
}

// A client run on the data dir of a running node has that node's identity. It must not
// dial as that node (the peer would drop the node's own connection for the client's),
// so it goes through the node's HTTP API, and the node's connection survives.
TEST_F(ClientCli, AClientOnARunningNodesDataDirGoesThroughThatNode) {
  auto& server = start_node("server");
  auto& node = start_node("node", {"--bootstrap", server.address(), "--sample"});
  auto connected_nodes = [&] {
    return parse_json(datafold("node", {"--json", "status", "--http", node.http()}).out).value("connected_nodes", 0);
  };
  ASSERT_TRUE(eventually([&] { return connected_nodes() == 1; }));

  const auto flags = std::vector<std::string>{"--network", network_, "--no-discovery", "--http", node.http()};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), flags.begin(), flags.end());
    return datafold("node", args);
  };
  const auto remote = run({"--json", "query", server.address(), "UserProfile", "username", "email"});
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  EXPECT_NE(remote.err.find("through this data dir's node"), std::string::npos) << remote.err;
  const auto result = parse_json(remote.out);
  EXPECT_EQ(result.value("node_id", ""), server.node_id()) << remote.out;
  EXPECT_EQ(result["results"][1]["error"]["kind"], "InvalidPermission") << remote.out;
  const auto by_prefix = run({"schemas", server.node_id().substr(0, 8)});
  ASSERT_EQ(by_prefix.exit_code, 0) << by_prefix.err;
  EXPECT_NE(by_prefix.out.find("UserProfile"), std::string::npos) << by_prefix.out;
  const auto found = run({"--json", "discover", "--bootstrap", server.address()});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  EXPECT_NE(found.out.find(server.node_id()), std::string::npos) << found.out;

  // The node itself, by id: it answers its own operator at distance 0.
  const auto own = run({"--json", "query", node.node_id().substr(0, 8), "UserProfile", "phone"});
  ASSERT_EQ(own.exit_code, 0) << own.err;
  EXPECT_EQ(parse_json(own.out)["results"][0]["value"].size(), 3u) << own.out;

  EXPECT_EQ(connected_nodes(), 1);
  EXPECT_EQ(node.log().find("disconnected"), std::string::npos) << node.log();
  expect_good_query(server);

  // Without the node running, its own id names nothing to ask.
  const auto lonely_id = node_id_of("lonely");
  const auto lonely = client("lonely", {"query", lonely_id.substr(0, 8), "UserProfile", "username"});
  EXPECT_EQ(lonely.exit_code, 1);
  EXPECT_NE(lonely.error_line().find("is this data dir's own node, and it is not answering"), std::string::npos)
      << lonely.err;
}

TEST_F(ClientCli, PeersAndStatusAskTheLocalNode) {
  auto& server = start_node("server");
  auto& relay = start_node("relay", {"--bootstrap", server.address()});

  RunResult peers;
  ASSERT_TRUE(eventually([&] {
    peers = datafold("client", {"peers", "--http", relay.http()});
    return peers.out.find(server.node_id().substr(0, 12)) != std::string::npos;
  })) << peers.out << peers.err;
  EXPECT_EQ(peers.exit_code, 0);
  for (const char* column : {"NODE", "ADDRESS", "HEALTH", "TRUST", "LAST SEEN", "PATH"})
    EXPECT_NE(peers.out.find(column), std::string::npos) << peers.out;
  EXPECT_NE(peers.out.find(server.address()), std::string::npos) << peers.out;

  const auto peers_json = datafold("client", {"--json", "peers", "--http", relay.http()});
  ASSERT_EQ(peers_json.exit_code, 0) << peers_json.err;
  const auto nodes = parse_json(peers_json.out);
  ASSERT_TRUE(nodes.is_array()) << peers_json.out;
  ASSERT_FALSE(nodes.empty());
  EXPECT_EQ(nodes[0].value("node_id", ""), server.node_id());
  EXPECT_EQ(nodes[0].value("address", ""), server.address());
  EXPECT_EQ(nodes[0].value("path", net::Json()), net::Json("direct")) << peers_json.out;  // its bootstrap dial

  const auto status = datafold("client", {"status", "--http", server.http()});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find(server.node_id()), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("\ndiscovery    off\n"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("listening on port " + server.address().substr(server.address().rfind(':') + 1)),
            std::string::npos)
      << status.out;

  const auto status_json = datafold("client", {"--json", "status", "--http", server.http()});
  ASSERT_EQ(status_json.exit_code, 0) << status_json.err;
  const auto s = parse_json(status_json.out);
  ASSERT_FALSE(s.is_discarded()) << status_json.out;
  EXPECT_EQ(s.value("node_id", ""), server.node_id());
  EXPECT_TRUE(s.value("running", false));
  EXPECT_GE(s["stats"].value("inbound_accepted", 0), 1);
}

// Each address with where it came from: the relay dialled the server as a bootstrap
// peer (and connected through that address); the server knows the relay only from the
// connection that came in, at its IP and the listen port its Hello gave.
TEST_F(ClientCli, PeersShowEveryAddressWithItsSource) {
  auto& server = start_node("server");
  auto& relay = start_node("relay", {"--bootstrap", server.address()});

  const auto find_node = [](const net::Json& nodes, const std::string& id) -> net::Json {
    if (!nodes.is_array()) return nullptr;
    for (const auto& node : nodes)
      if (node.value("node_id", "") == id) return node;
    return nullptr;
  };
  net::Json seen_by_relay, seen_by_server;
  RunResult relay_peers, server_peers;
  ASSERT_TRUE(eventually([&] {
    relay_peers = datafold("client", {"--json", "peers", "--http", relay.http()});
    server_peers = datafold("client", {"--json", "peers", "--http", server.http()});
    seen_by_relay = find_node(parse_json(relay_peers.out), server.node_id());
    seen_by_server = find_node(parse_json(server_peers.out), relay.node_id());
    return seen_by_relay.is_object() && seen_by_server.is_object();
  })) << relay_peers.out << relay_peers.err << server_peers.out << server_peers.err;

  ASSERT_TRUE(seen_by_relay["addresses"].is_array()) << seen_by_relay.dump();
  ASSERT_EQ(seen_by_relay["addresses"].size(), 1u) << seen_by_relay.dump();
  const auto& bootstrap = seen_by_relay["addresses"][0];
  EXPECT_EQ(bootstrap.value("address", ""), server.address());
  EXPECT_EQ(bootstrap.value("source", ""), "bootstrap");
  EXPECT_TRUE(bootstrap["last_seen_ms"].is_number()) << bootstrap.dump();
  EXPECT_TRUE(bootstrap["last_success_ms"].is_number()) << "the relay connected through it: " << bootstrap.dump();
  EXPECT_EQ(seen_by_relay.value("address", ""), server.address()) << "address is the first of addresses";

  ASSERT_TRUE(seen_by_server["addresses"].is_array()) << seen_by_server.dump();
  ASSERT_EQ(seen_by_server["addresses"].size(), 1u) << seen_by_server.dump();
  const auto& inbound = seen_by_server["addresses"][0];
  EXPECT_EQ(inbound.value("address", ""), relay.address());
  EXPECT_EQ(inbound.value("source", ""), "inbound");
  EXPECT_TRUE(inbound["last_success_ms"].is_null()) << "nobody dialled it: " << inbound.dump();

  // The table says the same.
  const auto table = datafold("client", {"peers", "--http", relay.http()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("ADDRESSES"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(server.address() + " (bootstrap, connected "), std::string::npos) << table.out;
}

TEST_F(ClientCli, PeersAndStatusWithoutANodeSaySoInOneLine) {
  const auto address = "127.0.0.1:" + std::to_string(free_tcp_port());
  for (const char* command : {"peers", "status"}) {
    const auto result = datafold("client", {command, "--http", address});
    EXPECT_EQ(result.exit_code, 1) << command;
    EXPECT_EQ(result.error_line(), std::string("datafold: ") + command + ": no node answering at " + address +
                                       "; is `datafold node` running? see --http")
        << result.err;
    EXPECT_EQ(result.out, "");
  }
  const auto bad = datafold("client", {"status", "--http", "no-port"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

}  // namespace
}  // namespace datafold::cli_test

namespace datafold::cli_test {
namespace {

// 20,000 rows of about 1 KB: more than one frame. `datafold query` prints them as the
// parts arrive; --limit pages them with a cursor the same client continues from.
TEST_F(ClientCli, ALargeAnswerPrintsEveryRowAndALimitPagesItWithACursor) {
  auto& server = start_node("server", {});
  const auto schema = tmp_.write("big.json", R"({"name": "Big", "fields": {
      "n": {"type": "integer", "permission_policy": {"read_policy": {"NoRequirement": null}}},
      "payload": {"type": "string", "index": false, "permission_policy": {"read_policy": {"NoRequirement": null}}}}})");
  ASSERT_EQ(datafold("server", {"schema", "add", schema}).exit_code, 0);
  net::Json rows = net::Json::array();
  for (int n = 1; n <= 20'000; ++n) rows.push_back({{"n", n}, {"payload", std::string(1000, 'p')}});
  const auto inserted = datafold("server", {"insert", "Big", tmp_.write("rows.json", rows.dump())});
  ASSERT_EQ(inserted.exit_code, 0) << inserted.err;

  const auto all = client("client", {"query", server.address(), "Big", "n"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::istringstream lines(all.out);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "n");
  int expected = 1;
  while (std::getline(lines, line)) ASSERT_EQ(line, std::to_string(expected++));
  EXPECT_EQ(expected, 20'001);
  EXPECT_NE(all.err.find("20000 rows in"), std::string::npos) << all.err;

  // With the payload: about 20 MB, past the 16 MiB frame limit that used to refuse it.
  const auto wide = client("client", {"--json", "query", server.address(), "Big", "n", "payload"});
  ASSERT_EQ(wide.exit_code, 0) << wide.err;
  const auto joined = parse_json(wide.out);
  ASSERT_EQ(joined["results"][1]["value"].size(), 20'000u);
  EXPECT_EQ(joined["results"][0]["value"].back(), 20'000);

  const auto first = client("client", {"--json", "query", server.address(), "Big", "n", "--limit", "1000"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto page = parse_json(first.out);
  ASSERT_EQ(page["results"][0]["value"].size(), 1000u);
  const std::string cursor = page.value("cursor", "");
  ASSERT_FALSE(cursor.empty()) << first.out;
  const auto table = client("client", {"query", server.address(), "Big", "n", "--limit", "1000"});
  EXPECT_NE(table.out.find("(more rows: add --cursor " + cursor.substr(0, 4)), std::string::npos) << table.out;

  const auto next = client("client", {"--json", "query", server.address(), "Big", "n", "--limit", "1000", "--cursor", cursor});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(parse_json(next.out)["results"][0]["value"].front(), 1001);

  // Another identity cannot use it, nor can it be used for another query.
  const auto stolen = client("stranger", {"query", server.address(), "Big", "n", "--cursor", cursor});
  EXPECT_NE(stolen.exit_code, 0);
  EXPECT_NE(stolen.err.find("cursor"), std::string::npos) << stolen.err;
  const auto other = client("client", {"query", server.address(), "Big", "payload", "--cursor", cursor});
  EXPECT_NE(other.exit_code, 0);
  const auto garbage = client("client", {"query", server.address(), "Big", "n", "--cursor", "xyz"});
  EXPECT_NE(garbage.exit_code, 0);
  EXPECT_NE(garbage.err.find("--cursor"), std::string::npos) << garbage.err;
}

}  // namespace
}  // namespace datafold::cli_test
