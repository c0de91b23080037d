// A fold_db client against `datafold node`: every route ../shared/reference/fold_db/ROUTES.md
// lists, sent fold_db's own bodies (its schema and document files where it has them,
// and the bodiless POSTs its docs show), answered in fold_db's shapes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <httplib.h>

#include "cli/cli_fixture.hpp"

namespace datafold::cli_test {
namespace {

using net::Json;

const std::filesystem::path kReference =
    std::filesystem::path(DATAFOLD_SOURCE_DIR) / ".." / "shared" / "reference" / "fold_db";

std::string reference_file(const std::filesystem::path& path) {
  std::ifstream in(kReference / path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct RouteReply {
  int status = 0;  // 0: no answer
  Json body;       // discarded if not JSON
  std::string text;
};

class FoldDbRoutes : public CliTest {
 protected:
  static RouteReply reply(const httplib::Result& result) {
    if (!result) return {};
    return {result->status, parse_json(result->body), result->body};
  }
  static httplib::Client client_for(const NodeProcess& node) {
    httplib::Client http("127.0.0.1", node.http_port());
    http.set_connection_timeout(std::chrono::seconds(5));
    http.set_read_timeout(std::chrono::seconds(30));
    return http;
  }
  RouteReply get(const NodeProcess& node, const std::string& path) { return reply(client_for(node).Get(path)); }
  RouteReply post(const NodeProcess& node, const std::string& path, const std::string& body) {
    return reply(client_for(node).Post(path, body, "application/json"));
  }

  // `curl -X POST URL` as fold_db's docs show it: no body and no Content-Length, over a
  // plain socket so no client library adds one. The status and body, or status 0.
  static RouteReply bodiless_post(const NodeProcess& node, const std::string& path) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {};
    timeval timeout{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(node.http_port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string response;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) {
      const std::string request = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\n" +
                                  "Accept: */*\r\nConnection: close\r\n\r\n";
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
        char buffer[4096];
        for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0 && response.size() < (1u << 20);)
          response.append(buffer, static_cast<std::size_t>(n));
      }
    }
    ::close(fd);
    RouteReply r;
    if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return r;
    r.status = std::stoi(response.substr(9, 3));
    const auto body_at = response.find("\r\n\r\n");
    r.text = body_at == std::string::npos ? "" : response.substr(body_at + 4);
    r.body = parse_json(r.text);
    return r;
  }

  static void expect_success(const RouteReply& r, const std::string& what, int status = 200) {
    EXPECT_EQ(r.status, status) << what << ": " << r.text;
    EXPECT_EQ(r.body, (Json{{"success", true}})) << what << ": " << r.text;
  }
  static void expect_error(const RouteReply& r, int status, const std::string& contains, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.text;
    ASSERT_TRUE(r.body.is_object() && r.body.size() == 1 && r.body.contains("error")) << what << ": " << r.text;
    EXPECT_NE(r.body["error"].get<std::string>().find(contains), std::string::npos) << what << ": " << r.text;
  }
};

TEST_F(FoldDbRoutes, TheNetworkRoutesTakeFoldDbsBodiesAndBodilessPostsAndAnswerInItsShapes) {
  auto& a = start_node("a", {}, /*lan=*/true);
  auto& b = start_node("b", {}, /*lan=*/true);

  expect_success(post(a, "/api/network/init",
                      R"({"listen_address": "/ip4/127.0.0.1/tcp/0", "discovery_port": 8090, "max_connections": 50,
                          "connection_timeout_secs": 10, "announcement_interval_secs": 60, "enable_discovery": true})"),
                 "init with fold_db's network config");
  expect_success(bodiless_post(a, "/api/network/init"), "init with no body");
  expect_success(bodiless_post(a, "/api/network/stop"), "stop with no body");
  EXPECT_EQ(get(a, "/api/network/status").body["data"].value("initialized", true), false);
  expect_success(bodiless_post(a, "/api/network/start"), "start with no body");

  const auto status = get(a, "/api/network/status");
  ASSERT_EQ(status.status, 200) << status.text;
  EXPECT_EQ(status.body, (Json{{"data", {{"node_id", a.node_id()}, {"initialized", true}, {"connected_nodes_count", 0}}}}))
      << status.text;

  // discover: a list of node ids; b answers on the test's loopback LAN.
  RouteReply found;
  EXPECT_TRUE(eventually([&] {
    found = bodiless_post(a, "/api/network/discover");
    return found.status == 200 && found.body["data"].is_array() &&
           std::find(found.body["data"].begin(), found.body["data"].end(), Json(b.node_id())) != found.body["data"].end();
  })) << found.text;
  for (const auto& id : found.body["data"]) EXPECT_TRUE(id.is_string()) << found.text;

  // connect by node id, the only way fold_db's route names a node.
  expect_success(post(a, "/api/network/connect", Json{{"node_id", b.node_id()}}.dump()), "connect by id");
  EXPECT_EQ(get(a, "/api/network/status").body["data"].value("connected_nodes_count", 0), 1);
  expect_error(post(a, "/api/network/connect", R"({"address": "127.0.0.1:1"})"), 400, "node_id", "no node_id");

  // nodes: a map of id to {id, trust_distance}.
  const auto nodes = get(a, "/api/network/nodes");
  ASSERT_EQ(nodes.status, 200) << nodes.text;
  ASSERT_TRUE(nodes.body["data"].is_object()) << nodes.text;
  ASSERT_TRUE(nodes.body["data"].contains(b.node_id())) << nodes.text;
  const auto& entry = nodes.body["data"][b.node_id()];
  EXPECT_EQ(entry.value("id", ""), b.node_id());
  EXPECT_TRUE(entry["trust_distance"].is_number_unsigned()) << nodes.text;
}

TEST_F(FoldDbRoutes, SchemasQueriesMutationsAndExecuteWithFoldDbsOwnFiles) {
  auto& a = start_node("a", {});
  EXPECT_EQ(get(a, "/api/schemas").body, (Json{{"data", Json::object()}}));

  const std::string user_profile =
      reference_file("schemas/EdgeVector+fold_db__fold_node__src__datafold_node__samples__data__UserProfile.json");
  expect_success(post(a, "/api/schema", user_profile), "POST /api/schema", 201);
  expect_success(post(a, "/api/schema",
                      reference_file("schemas/EdgeVector+fold_db__fold_node__src__datafold_node__samples__data__BlogPost.json")),
                 "a second schema", 201);
  EXPECT_EQ(get(a, "/api/schemas").body, (Json{{"data", {{"BlogPost", "Approved"}, {"UserProfile", "Approved"}}}}));
  const auto shown = get(a, "/api/schema/UserProfile");
  ASSERT_EQ(shown.status, 200) << shown.text;
  EXPECT_EQ(shown.body, Json::parse(user_profile)) << "the schema as it was added, no envelope";
  expect_error(get(a, "/api/schema/Nope"), 404, "Nope", "an unknown schema");
  expect_error(post(a, "/api/schema", "{\"name\": \"X\",\n \"fields\": {,}}"), 400, "line 2", "a schema that is not JSON");

  // Mutations: fold_db's documents, then a query of them in fold_db's shape.
  for (const char* file : {"samples__data__CreateUser.json", "samples__data__UpdateUser.json",
                           "samples__data__CreateBlogPost.json"})
    expect_success(post(a, "/api/mutation", reference_file(std::string("documents/") + file)), file);
  expect_error(post(a, "/api/mutation", reference_file("documents/samples__data__AddLikeToSocialPost.json")), 400,
               "mutation_type", "an operation this node does not do");

  const auto users = post(a, "/api/query", reference_file("documents/samples__data__BasicUserQuery.json"));
  ASSERT_EQ(users.status, 200) << users.text;
  EXPECT_EQ(users.body, (Json{{"data", Json::array({{{"username", "johndoe"},
                                                      {"email", "john.doe@example.com"},
                                                      {"full_name", "John Doe"}}})}}))
      << users.text;
  const auto filtered = post(a, "/api/query", reference_file("documents/samples__data__FilteredUserQuery.json"));
  ASSERT_EQ(filtered.status, 200) << filtered.text;
  ASSERT_EQ(filtered.body["data"].size(), 1u) << "johndoe is 30, over 25: " << filtered.text;
  const auto posts = post(a, "/api/query", reference_file("documents/samples__data__RecentBlogPostsQuery.json"));
  ASSERT_EQ(posts.status, 200) << posts.text;
  ASSERT_EQ(posts.body["data"].size(), 1u) << posts.text;
  EXPECT_EQ(posts.body["data"][0].value("title", ""), "Getting Started with DataFold") << posts.text;

  expect_error(post(a, "/api/query", R"({"schema": "UserProfile", "fields": ["username"]})"), 400,
               "Failed to parse query: missing field `type`", "no type");
  expect_error(post(a, "/api/query", R"({"type": "query", "schema": "Nope", "fields": ["x"], "filter": null})"), 500,
               "Failed to execute query: Schema 'Nope' does not exist", "an unknown schema");
  expect_error(post(a, "/api/query", R"({"type": "query", "schema": "UserProfile", "fields": ["username"],
                                         "filter": {"field": "age", "operator": "like", "value": 1}})"),
               400, "Failed to parse query", "a filter the node cannot run");
  const auto no_field = post(a, "/api/query", R"({"type": "query", "schema": "UserProfile", "fields": ["username", "shoe_size"], "filter": null})");
  ASSERT_EQ(no_field.status, 200) << no_field.text;
  ASSERT_EQ(no_field.body["data"].size(), 1u) << no_field.text;
  EXPECT_TRUE(no_field.body["data"][0].contains("error")) << "the whole query fails: " << no_field.text;

  // execute: a query or a mutation document as a JSON string.
  const auto executed_query = post(
      a, "/api/execute", Json{{"operation", reference_file("documents/samples__data__BasicUserQuery.json")}}.dump());
  ASSERT_EQ(executed_query.status, 200) << executed_query.text;
  EXPECT_EQ(executed_query.body, users.body);
  const auto executed_delete = post(
      a, "/api/execute", Json{{"operation", reference_file("documents/samples__data__DeleteBlogPost.json")}}.dump());
  ASSERT_EQ(executed_delete.status, 200) << executed_delete.text;
  EXPECT_EQ(executed_delete.body["data"].value("deleted", 0), 1) << executed_delete.text;
  expect_error(post(a, "/api/execute", R"({"operation": 5})"), 400, "operation", "operation not a string");
}

}  // namespace
}  // namespace datafold::cli_test
