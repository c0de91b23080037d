#include <datafold/net/network_core.hpp>
#include <iostream>

using namespace datafold::net;

int main() {
  NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;  // any free port
  auto server = NetworkCore::create(config, NodeId{}, std::nullopt);  // fresh identity
  auto client = NetworkCore::create(config, NodeId{}, std::nullopt);
  if (!server || !client || !server->start() || !client->start()) return 1;

  server->set_schema_list_callback([] { return std::vector<SchemaInfo>{{"UserProfile", "1", "people"}}; });
  server->set_query_callback([](Query query) {  // runs on the server's handler pool
    QueryResult result;
    for (const auto& field : query.fields)
      if (field == "username")
        result.results.push_back({field, Json("alice")});
      else
        result.results.push_back({field, SchemaError{SchemaError::Kind::InvalidPermission, "needs trust"}});
    return result;
  });

  client->add_known_node({.node_id = server->local_node_id(),
                          .address = "127.0.0.1:" + std::to_string(server->listen_port())});
  auto result = client->query_node(server->local_node_id(), {.schema_name = "UserProfile",
                                                             .fields = {"username", "email"}});
  if (!result) {
    std::cerr << result.error().to_string() << "\n";  // e.g. "Timeout (Timeout 1008): ..."
    return 1;
  }
  for (const auto& field : result->results)
    std::cout << field.field << ": " << (field.ok() ? field.value().dump() : field.error().message) << "\n";
}
