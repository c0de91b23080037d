// Two nodes on loopback: one serves a schema, the other lists it and queries it.
// Each field comes back on its own: a value, or the reason it was refused.
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <datafold/net/network_core.hpp>

using namespace datafold::net;

// A node on 127.0.0.1 with a free port, started; nullptr (after printing why) on error.
std::unique_ptr<NetworkCore> start_node() {
  NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;  // any free port; read it back with listen_port()
  auto core = NetworkCore::create(std::move(config), NodeId{}, std::nullopt);  // id derived from a fresh key
  if (!core) {
    std::cerr << "create: " << core.error().to_string() << "\n";
    return nullptr;
  }
  auto node = std::make_unique<NetworkCore>(std::move(*core));
  if (auto started = node->start(); !started) {
    std::cerr << "start: " << started.error().to_string() << "\n";
    return nullptr;
  }
  return node;
}

int main() {
  auto server = start_node();
  auto client = start_node();
  if (!server || !client) return 1;

  // The server's data layer: one schema; "email" needs more trust than strangers have.
  server->set_schema_list_callback([] { return std::vector<SchemaInfo>{{"UserProfile", "1", "people"}}; });
  server->set_query_callback([](Query query) {  // runs on the server's handler pool
    QueryResult result;
    for (const auto& field : query.fields) {
      if (field == "username")
        result.results.push_back({field, Json("alice")});
      else
        result.results.push_back({field, SchemaError{SchemaError::Kind::InvalidPermission, "needs trust distance 1"}});
    }
    return result;
  });

  // Tell the client where the server is (discovery would do this on a LAN).
  NodeInfo where;
  where.node_id = server->local_node_id();
  where.public_key = server->public_key();
  where.address = "127.0.0.1:" + std::to_string(server->listen_port());
  client->add_known_node(where);

  auto schemas = client->list_available_schemas(server->local_node_id());
  if (!schemas) {
    std::cerr << "list schemas: " << schemas.error().to_string() << "\n";
    return 1;
  }
  for (const auto& schema : *schemas) std::cout << "schema " << schema.name << " v" << schema.version << "\n";

  Query query;
  query.schema_name = "UserProfile";
  query.fields = {"username", "email"};
  auto result = client->query_node(server->local_node_id(), query);
  if (!result) {
    std::cerr << "query: " << result.error().to_string() << "\n";
    return 1;
  }
  for (const auto& field : result->results) {
    if (field.ok())
      std::cout << "  " << field.field << " = " << field.value().dump() << "\n";
    else
      std::cout << "  " << field.field << ": " << to_string(field.error().kind) << " (" << field.error().message << ")\n";
  }
  return client->stop() && server->stop() ? 0 : 1;
}
