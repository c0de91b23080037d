// The node's HTTP API over a real socket, against `datafold node` processes: every route,
// and the bad bodies each must answer with a 4xx and {"error": …}.
#include "cli/cli_fixture.hpp"

#include <httplib.h>

#include <map>

namespace datafold::cli_test {
namespace {

struct Reply {
  int status = 0;  // 0: no answer at all
  net::Json body;  // discarded if not JSON
  std::string text;
};

class HttpApi : public CliTest {
 protected:
  static httplib::Client client_for(const NodeProcess& node) {
    httplib::Client http("127.0.0.1", node.http_port());
    http.set_connection_timeout(std::chrono::seconds(5));
    http.set_read_timeout(std::chrono::seconds(30));
    return http;
  }
  static Reply reply(const httplib::Result& result) {
    if (!result) return {};
    return {result->status, parse_json(result->body), result->body};
  }
  Reply get(const NodeProcess& node, const std::string& path) { return reply(client_for(node).Get(path)); }
  Reply post(const NodeProcess& node, const std::string& path, const std::string& body) {
    return reply(client_for(node).Post(path, body, "application/json"));
  }
  Reply post_json(const NodeProcess& node, const std::string& path, const net::Json& body) {
    return post(node, path, body.dump());
  }

  // A 4xx with the API's error body.
  static void expect_client_error(const Reply& r, int status, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.text;
    ASSERT_TRUE(r.body.is_object()) << what << ": " << r.text;
    EXPECT_TRUE(r.body.contains("error") && r.body["error"].is_string()) << what << ": " << r.text;
    EXPECT_FALSE(r.body.contains("data")) << what << ": " << r.text;
  }

  // Makes `a` know `b` by dialling its address.
  void connect(const NodeProcess& a, const NodeProcess& b) {
    const auto r = post_json(a, "/api/v1/network/connect", net::Json{{"address", b.address()}});
    ASSERT_EQ(r.status, 200) << r.text;
  }
};

TEST_F(HttpApi, StatusDescribesTheNode) {
  auto& node = start_node("a");
  const auto r = get(node, "/api/v1/network/status");
  ASSERT_EQ(r.status, 200) << r.text;
  const auto& data = r.body["data"];
  EXPECT_EQ(data.value("node_id", ""), node.node_id());
  EXPECT_EQ(data.value("public_key", ""), public_key_of("a"));
  EXPECT_TRUE(data.value("running", false));
  EXPECT_EQ("127.0.0.1:" + std::to_string(data.value("listen_port", 0)), node.address());
  EXPECT_TRUE(data["stats"].is_object());
}

TEST_F(HttpApi, InitTakesNothingOrAJsonObject) {
  auto& node = start_node("a");
  for (const std::string body : {"", "{}", R"({"network": {"port": 9000}})"}) {
    const auto r = post(node, "/api/v1/network/init", body);
    ASSERT_EQ(r.status, 200) << body << ": " << r.text;
    EXPECT_TRUE(r.body["data"].value("initialized", false));
    EXPECT_EQ(r.body["data"].value("node_id", ""), node.node_id());
  }
  expect_client_error(post(node, "/api/v1/network/init", "not json"), 400, "not JSON");
  expect_client_error(post(node, "/api/v1/network/init", "[1]"), 400, "an array");
}

TEST_F(HttpApi, StopThenStartTheNetwork) {
  auto& node = start_node("a");
  const auto stopped = post(node, "/api/v1/network/stop", "");
  ASSERT_EQ(stopped.status, 200) << stopped.text;
  EXPECT_FALSE(stopped.body["data"].value("running", true));
  const auto status = get(node, "/api/v1/network/status");
  EXPECT_FALSE(status.body["data"].value("running", true)) << status.text;
  EXPECT_NE(client("client", {"query", node.address(), "UserProfile", "username", "--timeout", "5"}).exit_code, 0);

  const auto started = post(node, "/api/v1/network/start", "");
  ASSERT_EQ(started.status, 200) << started.text;
  EXPECT_TRUE(started.body["data"].value("running", false));
  const auto again = get(node, "/api/v1/network/status");
  ASSERT_TRUE(again.body["data"].value("running", false)) << again.text;
  // Started with --listen 127.0.0.1:0, the node may come back on another port.
  const auto address = "127.0.0.1:" + std::to_string(again.body["data"].value("listen_port", 0));
  const auto good = client("client", {"query", address, "UserProfile", "username"});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  // Starting a running node changes nothing.
  EXPECT_EQ(post(node, "/api/v1/network/start", "").status, 200);
}

TEST_F(HttpApi, DiscoverGetAndPostFindTheLanNode) {
  auto& a = start_node("a", {"--sample"}, /*lan=*/true);
  auto& b = start_node("b", {"--sample"}, /*lan=*/true);
  for (const char* method : {"GET", "POST"}) {
    Reply r;
    EXPECT_TRUE(eventually([&] {
      r = method == std::string("GET") ? get(a, "/api/v1/network/discover") : post(a, "/api/v1/network/discover", "");
      return r.status == 200 && r.text.find(b.node_id()) != std::string::npos;
    })) << method << ": " << r.text;
    ASSERT_TRUE(r.body["data"].is_array()) << r.text;
    for (const auto& node : r.body["data"]) {
      if (node.value("node_id", "") == b.node_id()) {
        EXPECT_EQ(node.value("address", ""), b.address());
      }
    }
  }
}

TEST_F(HttpApi, ConnectByAddressAndById) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  const auto by_address = post_json(a, "/api/v1/network/connect", net::Json{{"address", b.address()}});
  ASSERT_EQ(by_address.status, 200) << by_address.text;
  EXPECT_EQ(by_address.body["data"].value("node_id", ""), b.node_id());
  EXPECT_TRUE(by_address.body["data"].value("connected", false));

  for (const auto& id : {b.node_id(), b.node_id().substr(0, 8)}) {
    const auto by_id = post_json(a, "/api/v1/network/connect", net::Json{{"node_id", id}});
    ASSERT_EQ(by_id.status, 200) << id << ": " << by_id.text;
    EXPECT_EQ(by_id.body["data"].value("node_id", ""), b.node_id());
  }
  const auto status = get(a, "/api/v1/network/status");
  EXPECT_EQ(status.body["data"].value("connected_nodes", 0), 1) << status.text;
}

TEST_F(HttpApi, ConnectRefusesBadBodies) {
  auto& a = start_node("a");
  const std::string unknown_first = a.node_id().front() == 'a' ? "b" : "a";
  expect_client_error(post(a, "/api/v1/network/connect", "not json"), 400, "not JSON");
  expect_client_error(post(a, "/api/v1/network/connect", "{}"), 400, "no target");
  expect_client_error(post(a, "/api/v1/network/connect", R"({"node_id": 5})"), 400, "id not a string");
  expect_client_error(post_json(a, "/api/v1/network/connect", net::Json{{"node_id", unknown_first + "zzzz"}}), 404,
                      "unknown node");
  const auto unreachable =
      post_json(a, "/api/v1/network/connect", net::Json{{"address", "127.0.0.1:" + std::to_string(free_tcp_port())}});
  EXPECT_GE(unreachable.status, 500) << unreachable.text;
  EXPECT_TRUE(unreachable.body.contains("error")) << unreachable.text;
  expect_good_query(a);
}

TEST_F(HttpApi, NodesListsWhatTheNodeKnows) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  EXPECT_EQ(get(a, "/api/v1/network/nodes").body, (net::Json{{"data", net::Json::array()}}));
  connect(a, b);
  const auto r = get(a, "/api/v1/network/nodes");
  ASSERT_EQ(r.status, 200) << r.text;
  ASSERT_EQ(r.body["data"].size(), 1u) << r.text;
  const auto& node = r.body["data"][0];
  EXPECT_EQ(node.value("node_id", ""), b.node_id());
  EXPECT_EQ(node.value("public_key", ""), public_key_of("b"));
  EXPECT_EQ(node.value("address", ""), b.address());
  EXPECT_EQ(node.value("health", ""), "healthy");
  EXPECT_TRUE(node["capabilities"].value("supports_query", false));
}

TEST_F(HttpApi, SchemasLocalAndRemote) {
  auto& a = start_node("a");
  auto& b = start_node("b", {});  // no sample: its store is empty
  const auto local = get(a, "/api/v1/schemas");
  ASSERT_EQ(local.status, 200) << local.text;
  ASSERT_EQ(local.body["data"].size(), 1u) << local.text;
  EXPECT_EQ(local.body["data"][0].value("name", ""), "UserProfile");

  connect(a, b);
  connect(b, a);
  const auto remote_empty = get(a, "/api/v1/schemas?node=" + b.node_id());
  ASSERT_EQ(remote_empty.status, 200) << remote_empty.text;
  EXPECT_EQ(remote_empty.body["data"], net::Json::array());
  const auto remote = get(b, "/api/v1/schemas?node=" + a.node_id().substr(0, 10));
  ASSERT_EQ(remote.status, 200) << remote.text;
  ASSERT_EQ(remote.body["data"].size(), 1u) << remote.text;
  EXPECT_EQ(remote.body["data"][0].value("name", ""), "UserProfile");

  const std::string unknown_first = a.node_id().front() == 'a' ? "b" : "a";
  expect_client_error(get(a, "/api/v1/schemas?node=" + unknown_first + "zzzz"), 404, "unknown node");
}

TEST_F(HttpApi, QueryLocalAndRemote) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  // Local: the operator reads as the node itself, every field.
  const auto local = post_json(a, "/api/v1/query", net::Json{{"schema", "UserProfile"}, {"fields", {"username", "phone"}}});
  ASSERT_EQ(local.status, 200) << local.text;
  const auto& results = local.body["data"]["results"];
  EXPECT_EQ(results[0]["value"], (net::Json{"alice", "bob", "carol"})) << local.text;
  EXPECT_EQ(results[1]["value"], (net::Json{"+1-555-0100", "+1-555-0101", "+1-555-0102"})) << local.text;

  const auto filtered = post_json(a, "/api/v1/query",
                             net::Json{{"schema", "UserProfile"}, {"fields", {"email"}}, {"filter", {{"username", "bob"}}}});
  ASSERT_EQ(filtered.status, 200) << filtered.text;
  EXPECT_EQ(filtered.body["data"]["results"][0]["value"], net::Json::array({"bob@example.org"})) << filtered.text;

  // Remote: B answers A as the stranger it is.
  connect(a, b);
  const auto remote = post_json(a, "/api/v1/query",
                           net::Json{{"node", b.node_id()}, {"schema", "UserProfile"}, {"fields", {"username", "email"}}});
  ASSERT_EQ(remote.status, 200) << remote.text;
  const auto& remote_results = remote.body["data"]["results"];
  EXPECT_EQ(remote_results[0]["value"], (net::Json{"alice", "bob", "carol"})) << remote.text;
  EXPECT_EQ(remote_results[1]["error"]["kind"], "InvalidPermission") << remote.text;

  // A field that does not exist is an error in its slot; a schema that does not exist,
  // a filter that cannot run and a query that may read nothing are refused whole, the same
  // here and from another node (PROTOCOL.md 7.3).
  const auto no_field = post_json(a, "/api/v1/query", net::Json{{"schema", "UserProfile"}, {"fields", {"username", "x"}}});
  ASSERT_EQ(no_field.status, 200) << no_field.text;
  EXPECT_EQ(no_field.body["data"]["results"][1]["error"]["kind"], "InvalidField") << no_field.text;
  for (const auto& node : {std::string(), b.node_id()}) {
    const auto ask = [&](net::Json body) {
      if (!node.empty()) body["node"] = node;
      return post_json(a, "/api/v1/query", body);
    };
    const auto missing = ask(net::Json{{"schema", "Nope"}, {"fields", {"x"}}});
    expect_client_error(missing, 404, "unknown schema via " + node);
    EXPECT_EQ(missing.body["details"]["code"], 1003) << missing.text;
    const auto bad_filter = ask(net::Json{{"schema", "UserProfile"}, {"fields", {"username"}}, {"filter", {{"age", 3}}}});
    expect_client_error(bad_filter, 400, "filter on an unknown field via " + node);
    EXPECT_EQ(bad_filter.body["details"]["code"], 1012) << bad_filter.text;
  }
  // B lets a stranger read neither email nor phone.
  const auto denied = post_json(a, "/api/v1/query", net::Json{{"node", b.node_id()}, {"schema", "UserProfile"}, {"fields", {"email", "phone"}}});
  expect_client_error(denied, 403, "nothing readable");
  EXPECT_EQ(denied.body["details"]["code"], 1004) << denied.text;
}

TEST_F(HttpApi, QueryRefusesBadBodies) {
  auto& a = start_node("a");
  const std::string unknown_first = a.node_id().front() == 'a' ? "b" : "a";
  const std::vector<std::pair<std::string, std::string>> bodies{
      {"not JSON", "{\"schema\": "},
      {"not an object", R"(["UserProfile"])"},
      {"missing schema", R"({"fields": ["username"]})"},
      {"schema not a string", R"({"schema": 1, "fields": ["username"]})"},
      {"missing fields", R"({"schema": "UserProfile"})"},
      {"fields not an array", R"({"schema": "UserProfile", "fields": "username"})"},
      {"a field not a string", R"({"schema": "UserProfile", "fields": ["username", 2]})"},
      {"filter not an object", R"({"schema": "UserProfile", "fields": ["username"], "filter": "bob"})"},
      {"node not a string", R"({"node": 7, "schema": "UserProfile", "fields": ["username"]})"},
  };
  for (const auto& [what, body] : bodies) expect_client_error(post(a, "/api/v1/query", body), 400, what);
  expect_client_error(
      post_json(a, "/api/v1/query", net::Json{{"node", unknown_first + "zzzz"}, {"schema", "UserProfile"}, {"fields", {"username"}}}),
      404, "unknown node");
  expect_good_query(a);
}

TEST_F(HttpApi, MutationTakesFoldDbsDocumentsAndAnswersAsFoldDbDoes) {
  auto& a = start_node("a");
  const auto usernames = [&] {
    const auto r = post_json(a, "/api/v1/query", net::Json{{"schema", "UserProfile"}, {"fields", {"username", "email"}}});
    EXPECT_EQ(r.status, 200) << r.text;
    return r.body["data"]["results"];
  };
  const auto created = post_json(a, "/api/mutation",
                                 net::Json{{"type", "mutation"}, {"schema", "UserProfile"}, {"mutation_type", "create"},
                                           {"data", {{"username", "dave"}, {"email", "dave@example.org"}}}});
  ASSERT_EQ(created.status, 200) << created.text;
  EXPECT_EQ(created.body, (net::Json{{"success", true}})) << created.text;
  EXPECT_EQ(usernames()[0]["value"], (net::Json{"alice", "bob", "carol", "dave"}));

  // fold_db's shape: the row named by the first field of data, the rest set.
  const auto updated = post(a, "/api/mutation",
                            R"({"type": "mutation", "schema": "UserProfile", "mutation_type": "update",
                                "data": {"username": "bob", "email": "bob@example.net"}})");
  ASSERT_EQ(updated.status, 200) << updated.text;
  EXPECT_EQ(usernames()[1]["value"][1], "bob@example.net");

  // The versioned route says what changed.
  const auto deleted = post_json(a, "/api/v1/mutation",
                                 net::Json{{"type", "mutation"}, {"schema", "UserProfile"}, {"mutation_type", "delete"},
                                           {"filter", {{"field", "username"}, {"operator", "ne"}, {"value", "alice"}}},
                                           {"data", net::Json::object()}});
  ASSERT_EQ(deleted.status, 200) << deleted.text;
  EXPECT_EQ(deleted.body["data"], (net::Json{{"created", 0}, {"updated", 0}, {"deleted", 3}})) << deleted.text;
  EXPECT_EQ(usernames()[0]["value"], (net::Json{"alice"}));

  // Refusals name the key at fault and write nothing.
  const auto wrong_type = post_json(a, "/api/mutation",
                                    net::Json{{"type", "mutation"}, {"schema", "UserProfile"}, {"mutation_type", "create"},
                                              {"data", {{"username", 7}}}});
  expect_client_error(wrong_type, 400, "a number in a string field");
  EXPECT_NE(wrong_type.body.value("error", "").find("mutation.data.username: expected string"), std::string::npos)
      << wrong_type.text;
  expect_client_error(post(a, "/api/mutation", ""), 400, "no body");
  const auto collection = post_json(a, "/api/mutation",
                                    net::Json{{"type", "mutation"}, {"schema", "UserProfile"},
                                              {"mutation_type", "add_to_collection:likes"}, {"data", net::Json::object()}});
  expect_client_error(collection, 400, "an operation this node does not do");
  EXPECT_EQ(usernames()[0]["value"], (net::Json{"alice"}));
}

TEST_F(HttpApi, JsonNestedWithoutEndIsRefusedOnEveryRouteAndTheNodeLivesOn) {
  auto& a = start_node("a");
  // 200,000 levels: copying or printing such a value would recurse once per level.
  const std::string deep_array = std::string(200000, '[') + std::string(200000, ']');
  std::string deep_filter;
  for (int i = 0; i < 200000; ++i) deep_filter += R"({"operator": "and", "conditions": [)";
  deep_filter += R"({"username": "alice"})";
  for (int i = 0; i < 200000; ++i) deep_filter += "]}";
  const std::vector<std::pair<std::string, std::string>> requests{
      {"/api/v1/query", R"({"schema": "UserProfile", "fields": ["username"], "filter": )" + deep_filter + "}"},
      {"/api/query", R"({"type": "query", "schema": "UserProfile", "fields": ["username"], "filter": )" + deep_filter + "}"},
      {"/api/mutation", R"({"type": "mutation", "schema": "UserProfile", "mutation_type": "create", "data": {"username": )" +
                            deep_array + "}}"},
      {"/api/v1/mutation", deep_array},
      {"/api/schema", R"({"name": "Deep", "fields": )" + deep_array + "}"},
      {"/api/execute", net::Json{{"operation", R"({"type": "query", "schema": "UserProfile", "fields": ["username"], "filter": )" +
                                                    deep_filter + "}"}}.dump()},
      {"/api/v1/network/connect", R"({"node_id": )" + deep_array + "}"},
  };
  for (const auto& [path, body] : requests) {
    const auto r = post(a, path, body);
    EXPECT_EQ(r.status, 400) << path << ": " << r.text.substr(0, 200);
    EXPECT_TRUE(r.body.contains("error")) << path << ": " << r.text.substr(0, 200);
  }
  expect_good_query(a);
}

TEST_F(HttpApi, MetricsHasTheCounters) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  connect(a, b);
  ASSERT_EQ(post_json(a, "/api/v1/query", net::Json{{"node", b.node_id()}, {"schema", "UserProfile"}, {"fields", {"username"}}})
                .status,
            200);
  expect_good_query(a);  // one request received from a client

  const auto r = get(a, "/metrics");
  ASSERT_EQ(r.status, 200) << r.text;
  auto value_of = [&](const std::string& name) -> long {
    const auto at = r.text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stol(r.text.substr(at + name.size() + 2));
  };
  for (const char* counter :
       {"datafold_connections_open", "datafold_connections_inbound_total", "datafold_connections_dialled_total",
        "datafold_handshake_failures_total", "datafold_requests_sent_total", "datafold_requests_failed_total",
        "datafold_requests_received_total", "datafold_known_nodes"}) {
    EXPECT_NE(r.text.find(std::string("# TYPE ") + counter), std::string::npos) << counter << "\n" << r.text;
    EXPECT_GE(value_of(counter), 0) << counter << "\n" << r.text;
  }
  EXPECT_GE(value_of("datafold_requests_sent_total"), 1) << r.text;
  EXPECT_GE(value_of("datafold_requests_received_total"), 1) << r.text;
  EXPECT_GE(value_of("datafold_connections_dialled_total"), 1) << r.text;
  EXPECT_GE(value_of("datafold_connections_inbound_total"), 1) << r.text;
  // Requests by type and outcome, trust refusals, and a latency histogram.
  EXPECT_GE(value_of("datafold_requests_answered_total{type=\"query\",outcome=\"ok\"}"), 1) << r.text;
  EXPECT_EQ(value_of("datafold_trust_refusals_total"), 0) << r.text;
  EXPECT_GE(value_of("datafold_request_duration_seconds_count"), 1) << r.text;
  // Connections by how they were made, every path listed; this one dialled its peer.
  for (const char* path : {"direct", "mapped", "hole-punched", "relayed"})
    EXPECT_GE(value_of(std::string("datafold_connections_by_path{path=\"") + path + "\"}"), 0) << path << "\n" << r.text;
  EXPECT_GE(value_of("datafold_connections_by_path{path=\"direct\"}"), 1) << r.text;
  EXPECT_NE(r.text.find("# TYPE datafold_request_duration_seconds histogram"), std::string::npos) << r.text;
}

TEST_F(HttpApi, AnUnknownRouteIsA404WithAnErrorBody) {
  auto& a = start_node("a");
  expect_client_error(get(a, "/api/nothing-here"), 404, "unknown route");
}

TEST_F(HttpApi, TrustSetListAndRemoveCheckAsTheCliDoes) {
  auto& a = start_node("a");
  auto& b = start_node("b");
  connect(a, b);
  // By a unique prefix of a node a has met, as `datafold trust set` takes it.
  const auto set = post_json(a, "/api/v1/trust/set",
                             {{"node", b.node_id().substr(0, 10)}, {"distance", 2}, {"name", "b_key"}, {"note", "bee"}});
  ASSERT_EQ(set.status, 200) << set.text;
  EXPECT_EQ(set.body["data"].value("public_key", ""), public_key_of("b"));
  EXPECT_EQ(set.body["data"].value("distance", 0), 2);
  EXPECT_EQ(set.body["data"].value("name", ""), "b_key");
  const auto listed = get(a, "/api/v1/trust");
  ASSERT_EQ(listed.status, 200) << listed.text;
  ASSERT_EQ(listed.body["data"].size(), 1u) << listed.text;
  EXPECT_EQ(listed.body["data"][0].value("note", ""), "bee");
  // What the CLI sees in the same file.
  EXPECT_NE(datafold("a", {"trust", "list"}).out.find("b_key"), std::string::npos);
  // The known nodes say the distance the store gives now, not the one b had when it connected.
  const auto distance_of_b = [&] {
    const auto nodes = get(a, "/api/v1/network/nodes");
    for (const auto& node : nodes.body["data"])
      if (node.value("node_id", "") == b.node_id()) return node.value("trust_distance", std::uint64_t{0});
    return std::uint64_t{0};
  };
  EXPECT_EQ(distance_of_b(), 2u);

  expect_client_error(post_json(a, "/api/v1/trust/set", {{"node", "not a key!"}, {"distance", 1}}), 400, "not a key");
  expect_client_error(post_json(a, "/api/v1/trust/set", {{"node", b.node_id()}, {"distance", -1}}), 400, "negative");
  expect_client_error(post_json(a, "/api/v1/trust/set", {{"node", b.node_id()}, {"distance", 4294967296}}), 400, "too far");
  expect_client_error(post_json(a, "/api/v1/trust/set", {{"node", b.node_id()}, {"distance", 1}, {"name", "bad name!"}}), 400,
                      "an invalid name");
  expect_client_error(post_json(a, "/api/v1/trust/set", {{"node", "abcdefgh"}, {"distance", 1}}), 400, "a node never met");

  const auto removed = post_json(a, "/api/v1/trust/remove", {{"node", public_key_of("b")}});
  ASSERT_EQ(removed.status, 200) << removed.text;
  EXPECT_TRUE(removed.body["data"].value("removed", false));
  expect_client_error(post_json(a, "/api/v1/trust/remove", {{"node", public_key_of("b")}}), 404, "removed twice");
  EXPECT_TRUE(get(a, "/api/v1/trust").body["data"].empty());
  EXPECT_EQ(distance_of_b(), 0xFFFFFFFFu);  // unknown again
}

TEST_F(HttpApi, ReadPoliciesSayWhoMayReadEachField) {
  auto& a = start_node("a");
  const auto r = get(a, "/api/v1/schemas/read_policies");
  ASSERT_EQ(r.status, 200) << r.text;
  ASSERT_EQ(r.body["data"].size(), 1u) << r.text;
  std::map<std::string, net::Json> fields;
  for (const auto& field : r.body["data"][0]["fields"]) fields[field.value("name", "")] = field["max_distance"];
  EXPECT_TRUE(fields.at("username").is_null());  // anyone
  EXPECT_EQ(fields.at("email"), 1);
  EXPECT_EQ(fields.at("phone"), 0);
}

TEST_F(HttpApi, TheDashboardIsServedWithItsTokenAndItsLibraries) {
  auto& a = start_node("a");
  auto http = client_for(a);
  const auto page = http.Get("/");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  const auto at = page->body.find("name=\"datafold-token\" content=\"");
  ASSERT_NE(at, std::string::npos) << page->body;
  EXPECT_EQ(page->body.find("{{DATAFOLD_TOKEN}}"), std::string::npos);
  for (const std::string asset : {"cytoscape.min.js", "uPlot.iife.min.js", "uPlot.min.css", "main.js", "dashboard.css"}) {
    const auto r = http.Get("/dashboard/" + asset);
    ASSERT_TRUE(r) << asset;
    EXPECT_EQ(r->status, 200) << asset;
    EXPECT_GT(r->body.size(), 100u) << asset;
  }
  EXPECT_EQ(get(a, "/dashboard/index.html").status, 404);
  EXPECT_EQ(get(a, "/dashboard/../trust.json").status, 404);
}

TEST_F(HttpApi, AForeignHostOrOriginGetsA403AndTheCliStillNeedsNoToken) {
  auto& a = start_node("a");
  auto http = client_for(a);
  const auto rebound = http.Get("/api/v1/network/status", {{"Host", "evil.example:" + std::to_string(a.http_port())}});
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403) << rebound->body;
  const auto foreign = http.Post("/api/v1/trust/reload", {{"Origin", "http://evil.example"}}, "", "application/json");
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 403) << foreign->body;
  const auto tokenless = http.Post("/api/v1/trust/reload", {{"Origin", "http://127.0.0.1:" + std::to_string(a.http_port())}},
                                   "", "application/json");
  ASSERT_TRUE(tokenless);
  EXPECT_EQ(tokenless->status, 403) << tokenless->body;
  // A program's request (no browser headers) goes through without a token.
  EXPECT_EQ(post(a, "/api/v1/trust/reload", "").status, 200);
  const auto cli = datafold("a", {"trust", "set", public_key_of("b"), "3"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("the running node applies it"), std::string::npos) << cli.out;
}

}  // namespace
}  // namespace datafold::cli_test
