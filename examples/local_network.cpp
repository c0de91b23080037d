// datafold_local_network: a small DataFold network in one process, on loopback.
//
// Starts N nodes (default 3, --nodes N) on 127.0.0.1 with free ports, each
// serving one schema with a few rows and a read policy per field, introduces
// them to each other, then has every node list every other node's schemas and
// query each of them. Prints what each node got, field by field, and a summary.
// Exit status: 0 when every listing and query succeeded, 1 on any error, 2 on bad usage.
#include <charconv>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <datafold/net/network_core.hpp>

namespace net = datafold::net;

namespace {

// One column of a served schema. `max_distance` is the field's read policy:
// nullopt is {"NoRequirement": null}, n is {"Distance": n} (readable when the
// requester's effective trust distance is <= n).
struct Field {
  std::string name;
  std::optional<std::uint32_t> max_distance;
};

struct Table {
  net::SchemaInfo info;
  std::vector<Field> fields;
  std::vector<std::vector<net::Json>> rows;  // one value per field, in field order
};

// The data node i serves (the three samples in turn, numbered past the third node).
Table sample_table(std::size_t i) {
  const std::string suffix = i < 3 ? "" : std::to_string(i / 3 + 1);
  switch (i % 3) {
    case 0:
      return {{"UserProfile" + suffix, "1", "people and how to reach them"},
              {{"username", std::nullopt}, {"city", std::nullopt}, {"email", 1}},
              {{"alice", "Lisbon", "alice@example.org"}, {"bob", "Oslo", "bob@example.org"}}};
    case 1:
      return {{"Orders" + suffix, "2", std::nullopt},
              {{"order_id", std::nullopt}, {"total", std::nullopt}, {"card_last4", 0}},
              {{1001, 19.5, "4242"}, {1002, 42.0, "1881"}, {1003, 7.25, "4242"}}};
    default:
      return {{"Sensors" + suffix, "1", "greenhouse readings"},
              {{"sensor", std::nullopt}, {"celsius", std::nullopt}, {"location", 2}},
              {{"s-1", 21.5, "bench 3"}, {"s-2", 19.0, "door"}}};
  }
}

// The serving side's data layer: each requested field is the list of its values
// across the rows, or a SchemaError saying why it is not returned.
net::QueryResult answer(const Table& table, const net::Query& query) {
  net::QueryResult result;
  for (const auto& name : query.fields) {
    using Kind = net::SchemaError::Kind;
    if (query.schema_name != table.info.name) {
      result.results.push_back({name, net::SchemaError{Kind::NotFound, "no schema " + query.schema_name}});
      continue;
    }
    std::size_t column = 0;
    while (column < table.fields.size() && table.fields[column].name != name) ++column;
    if (column == table.fields.size()) {
      result.results.push_back({name, net::SchemaError{Kind::InvalidField, "no field " + name}});
      continue;
    }
    // query.trust_distance is the effective distance the node verified, not the requester's claim.
    const auto& policy = table.fields[column].max_distance;
    if (policy && query.trust_distance > *policy) {
      result.results.push_back(
          {name, net::SchemaError{Kind::InvalidPermission, "needs trust distance <= " + std::to_string(*policy)}});
      continue;
    }
    auto values = net::Json::array();
    for (const auto& row : table.rows) values.push_back(row[column]);
    result.results.push_back({name, std::move(values)});
  }
  return result;
}

struct Node {
  Table table;
  std::unique_ptr<net::NetworkCore> core;
  std::string name() const { return core->local_node_id().short_string(); }
};

std::optional<std::size_t> parse_args(int argc, char** argv) {
  std::size_t nodes = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--nodes" && i + 1 < argc) {
      const std::string_view value = argv[++i];
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), nodes);
      if (ec != std::errc{} || end != value.data() + value.size() || nodes < 1 || nodes > 64) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  return nodes;
}

}  // namespace

int main(int argc, char** argv) {
  const auto node_count = parse_args(argc, argv);
  if (!node_count) {
    std::cerr << "usage: " << argv[0] << " [--nodes N]   (1 <= N <= 64, default 3)\n";
    return 2;
  }

  std::vector<Node> nodes;
  for (std::size_t i = 0; i < *node_count; ++i) {
    net::NetworkConfig config;
    config.listen_address = "127.0.0.1";
    config.listen_port = 0;  // a free port; read back with listen_port()
    config.network_name = "datafold-local";
    auto core = net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt);
    if (!core) {
      std::cerr << "node " << i << ": " << core.error().to_string() << "\n";
      return 1;
    }
    Node node{sample_table(i), std::make_unique<net::NetworkCore>(std::move(*core))};
    // The callbacks run on the node's handler threads; they only read their own table.
    // The listing says, per field, whether this requester may read it: what a querier
    // needs to ask for fields it will get (PROTOCOL.md 7.5).
    node.core->set_schema_list_callback([table = node.table](const net::RequestContext& requester) {
      net::SchemaInfo info = table.info;
      for (const auto& field : table.fields)
        info.fields.push_back({field.name, "", !field.max_distance || requester.trust_distance <= *field.max_distance});
      return std::vector<net::SchemaInfo>{info};
    });
    node.core->set_query_callback([table = node.table](net::Query query) { return answer(table, query); });
    if (auto started = node.core->start(); !started) {
      std::cerr << "node " << i << ": " << started.error().to_string() << "\n";
      return 1;
    }
    std::cout << "node " << node.name() << " listening on 127.0.0.1:" << node.core->listen_port() << ", serving "
              << node.table.info.name << " v" << node.table.info.version << " (" << node.table.fields.size()
              << " fields, " << node.table.rows.size() << " rows)\n";
    nodes.push_back(std::move(node));
  }

  // No discovery on loopback: tell every node where every other one listens.
  for (auto& from : nodes) {
    for (const auto& to : nodes) {
      if (&from == &to) continue;
      net::NodeInfo where;
      where.node_id = to.core->local_node_id();
      where.public_key = to.core->public_key();
      where.address = "127.0.0.1:" + std::to_string(to.core->listen_port());
      from.core->add_known_node(where);
    }
  }

  std::size_t listings = 0, queries = 0, errors = 0;
  for (auto& asker : nodes) {
    std::cout << "\n" << asker.name() << " asks:\n";
    for (const auto& target : nodes) {
      if (&asker == &target) continue;
      const auto& target_id = target.core->local_node_id();
      auto schemas = asker.core->list_available_schemas(target_id);
      if (!schemas) {
        std::cout << "  " << target.name() << ": listing failed: " << schemas.error().to_string() << "\n";
        ++errors;
        continue;
      }
      ++listings;
      std::cout << "  " << target.name() << " serves " << schemas->size() << " schema(s)\n";
      for (const auto& schema : *schemas) {
        std::cout << "    " << schema.name << " v" << schema.version;
        if (schema.description) std::cout << " - " << *schema.description;
        std::cout << "\n";
        // Every field the listing names, those it may not read too: the answer shows
        // each one's reason beside the values it may read.
        net::Query query;
        query.schema_name = schema.name;
        for (const auto& field : schema.fields) {
          query.fields.push_back(field.name);
          if (!field.readable) std::cout << "      (" << field.name << ": listed as not readable by " << asker.name() << ")\n";
        }
        auto result = asker.core->query_node(target_id, query);
        if (!result) {
          std::cout << "      query failed: " << result.error().to_string() << "\n";
          ++errors;
          continue;
        }
        ++queries;
        for (const auto& field : result->results) {
          std::cout << "      " << std::left << std::setw(12) << field.field;
          if (field.ok())
            std::cout << " = " << field.value().dump() << "\n";
          else
            std::cout << " ! " << net::to_string(field.error().kind) << ": " << field.error().message << "\n";
        }
      }
    }
  }

  for (auto& node : nodes) {
    if (auto stopped = node.core->stop(); !stopped) {
      std::cerr << "stop " << node.name() << ": " << stopped.error().to_string() << "\n";
      ++errors;
    }
  }
  std::cout << "\n"
            << nodes.size() << " nodes, " << listings << " schema listings, " << queries << " queries, " << errors
            << " errors\n";
  return errors == 0 ? 0 : 1;
}
