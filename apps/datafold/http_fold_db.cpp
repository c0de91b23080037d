#include "http_fold_db.hpp"

#include <httplib.h>

#include <datafold/net/query_refusal.hpp>

#include "http_replies.hpp"
#include "node_ref.hpp"

namespace datafold::app {

namespace {

using net::Json;

// fold_db's error body, {"error": "…"}, with fold_db's status.
void fold_db_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(Json{{"error", message}}.dump(), "application/json");
}

void fold_db_data(httplib::Response& res, const Json& data) {
  res.status = 200;
  res.set_content(Json{{"data", data}}.dump(), "application/json");
}

// A body that is absent or a JSON object (fold_db's clients post some routes with no
// body and no Content-Length); nullopt after answering 400 for anything else.
std::optional<Json> optional_object_body(const httplib::Request& req, httplib::Response& res) {
  if (req.body.empty()) return Json::object();
  auto body = parse_request_json(req.body);
  if (body.is_discarded() || !body.is_object()) {
    fold_db_error(res, 400, "request body must be a JSON object, or none");
    return std::nullopt;
  }
  return body;
}

// A query document ({"type": "query", "schema": S, "fields": [...], "filter": null|{…}})
// as a net::Query, or why it cannot be read.
net::NetworkResult<net::Query> query_of(const Json& document) {
  const auto bad = [](const std::string& why) { return net::make_error(net::ErrorKind::Config, why); };
  if (!document.is_object()) return bad("expected a JSON object");
  const auto type = document.find("type");
  if (type == document.end()) return bad("missing field `type`");
  if (*type != "query") return bad("`type` must be \"query\"");
  net::Query query;
  const auto schema = document.find("schema");
  if (schema == document.end() || !schema->is_string()) return bad("missing field `schema` (a string)");
  query.schema_name = schema->get<std::string>();
  const auto fields = document.find("fields");
  if (fields == document.end() || !fields->is_array()) return bad("missing field `fields` (a list of names)");
  for (const auto& field : *fields) {
    if (!field.is_string()) return bad("`fields` must hold only strings");
    query.fields.push_back(field.get<std::string>());
  }
  if (const auto filter = document.find("filter"); filter != document.end() && !filter->is_null())
    query.filter = *filter;
  return query;
}

// Answers a query with fold_db's shapes: one object per row keyed by field name; a field
// that cannot be read fails the whole query as [{"error": …}] (fold_db's answer).
void answer_fold_db_query(const HttpApi::LocalData& local, const net::Query& query, httplib::Response& res) {
  if (!local.query) return fold_db_error(res, 500, "Failed to execute query: this node serves no data");
  const auto answer = local.query(query);
  if (auto refused = net::refusal_of(answer)) {
    if (refused->code == net::ErrorCode::SchemaNotFound)
      return fold_db_error(res, 500, "Failed to execute query: Schema '" + query.schema_name + "' does not exist");
    if (refused->code == net::ErrorCode::InvalidDsl)
      return fold_db_error(res, 400, "Failed to parse query: " + refused->message);
  }
  for (const auto& result : answer.results)
    if (!result.ok()) return fold_db_data(res, Json::array({Json{{"error", result.field + ": " + result.error().message}}}));
  Json rows = Json::array();
  const std::size_t count = answer.results.empty() ? 0 : answer.results.front().value().size();
  for (std::size_t i = 0; i < count; ++i) {
    Json row = Json::object();
    for (const auto& result : answer.results) row[result.field] = result.value().is_array() && i < result.value().size() ? result.value()[i] : Json();
    rows.push_back(std::move(row));
  }
  fold_db_data(res, rows);
}

// Applies mutation documents (JSON text); fold_db's 400 for a document it cannot apply.
bool apply_fold_db_mutations(const HttpApi::LocalData& local, const std::string& text, httplib::Response& res, Json* counts) {
  if (!local.mutate) {
    fold_db_error(res, 500, "this node serves no data");
    return false;
  }
  if (json_nested_too_deep(text)) {
    fold_db_error(res, 400, "the document nests more than " + std::to_string(kMaxRequestJsonDepth) + " deep");
    return false;
  }
  auto applied = local.mutate(text);
  if (!applied) {
    fold_db_error(res, applied.error().kind == net::ErrorKind::Config ? 400 : 500, applied.error().message);
    return false;
  }
  if (counts != nullptr) *counts = std::move(*applied);
  return true;
}

}  // namespace

void install_fold_db_routes(httplib::Server& s, net::NetworkCore& core, const HttpApi::LocalData& local) {
  // fold_db's init took a network config; this node is configured at start-up, so init
  // checks the body is readable and changes nothing.
  s.Post("/api/network/init", [](const httplib::Request& req, httplib::Response& res) {
    if (optional_object_body(req, res)) reply_success(res);
  });
  s.Post("/api/network/start", [&core](const httplib::Request&, httplib::Response& res) {
    if (auto started = core.start(); !started)
      return fold_db_error(res, 500, "Failed to start network: " + started.error().message);
    reply_success(res);
  });
  s.Post("/api/network/stop", [&core](const httplib::Request&, httplib::Response& res) {
    if (auto stopped = core.stop(); !stopped)
      return fold_db_error(res, 500, "Failed to stop network: " + stopped.error().message);
    reply_success(res);
  });
  s.Get("/api/network/status", [&core](const httplib::Request&, httplib::Response& res) {
    fold_db_data(res, {{"node_id", core.local_node_id().to_string()},
                       {"initialized", core.running()},
                       {"connected_nodes_count", core.connected_nodes().size()}});
  });
  s.Post("/api/network/connect", [&core](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_request_json(req.body);
    if (body.is_discarded() || !body.is_object() || !body.contains("node_id") || !body["node_id"].is_string())
      return fold_db_error(res, 400, "expected {\"node_id\": \"…\"}");
    auto id = resolve_node(core, body["node_id"].get<std::string>());
    if (!id) return fold_db_error(res, 500, "Failed to connect to node: " + id.error().message);
    if (auto connected = core.connect_to_node(*id); !connected)
      return fold_db_error(res, 500, "Failed to connect to node: " + connected.error().message);
    reply_success(res);
  });
  s.Post("/api/network/discover", [&core](const httplib::Request&, httplib::Response& res) {
    auto found = core.discover_nodes();
    if (!found) return fold_db_error(res, 500, "Failed to discover nodes: " + found.error().message);
    Json ids = Json::array();
    for (const auto& node : *found) ids.push_back(node.node_id.to_string());
    fold_db_data(res, ids);
  });
  s.Get("/api/network/nodes", [&core](const httplib::Request&, httplib::Response& res) {
    Json nodes = Json::object();
    for (const auto& [id, info] : core.known_nodes())
      nodes[id.to_string()] = {{"id", id.to_string()}, {"trust_distance", info.trust_distance}};
    fold_db_data(res, nodes);
  });

  // Every schema this node has is served: fold_db's "Approved".
  s.Get("/api/schemas", [&local](const httplib::Request&, httplib::Response& res) {
    Json states = Json::object();
    if (local.schemas)
      for (const auto& schema : local.schemas()) states[schema.name] = "Approved";
    fold_db_data(res, states);
  });
  s.Post("/api/schema", [&local](const httplib::Request& req, httplib::Response& res) {
    if (!local.add_schema) return fold_db_error(res, 500, "this node serves no data");
    if (json_nested_too_deep(req.body))
      return fold_db_error(res, 400, "Failed to add schema: it nests more than " + std::to_string(kMaxRequestJsonDepth) + " deep");
    auto added = local.add_schema(req.body);
    if (!added)
      return fold_db_error(res, added.error().kind == net::ErrorKind::Config ? 400 : 500,
                           "Failed to add schema: " + added.error().message);
    res.status = 201;
    res.set_content(Json{{"success", true}}.dump(), "application/json");
  });
  s.Get(R"(/api/schema/([^/]+))", [&local](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1].str();
    auto document = local.schema_document ? local.schema_document(name) : std::nullopt;
    if (!document) return fold_db_error(res, 404, "Schema '" + name + "' not found");
    res.status = 200;
    res.set_content(document->dump(), "application/json");
  });

  s.Post("/api/query", [&local](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_request_json(req.body);
    if (body.is_discarded()) return fold_db_error(res, 400, "Failed to parse query: the body is not JSON");
    auto query = query_of(body);
    if (!query) return fold_db_error(res, 400, "Failed to parse query: " + query.error().message);
    answer_fold_db_query(local, *query, res);
  });
  s.Post("/api/mutation", [&local](const httplib::Request& req, httplib::Response& res) {
    if (apply_fold_db_mutations(local, req.body, res, nullptr)) reply_success(res);
  });
  s.Post("/api/execute", [&local](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_request_json(req.body);
    if (body.is_discarded() || !body.is_object() || !body.contains("operation") || !body["operation"].is_string())
      return fold_db_error(res, 400, "expected {\"operation\": \"<a query or mutation document, as a JSON string>\"}");
    const std::string& text = body["operation"].get_ref<const std::string&>();
    auto operation = parse_request_json(text);
    if (operation.is_discarded()) return fold_db_error(res, 400, "Failed to parse operation: not JSON");
    if (operation.is_object() && operation.value("type", "") == "query") {
      auto query = query_of(operation);
      if (!query) return fold_db_error(res, 400, "Failed to parse query: " + query.error().message);
      return answer_fold_db_query(local, *query, res);
    }
    Json counts;
    if (apply_fold_db_mutations(local, text, res, &counts)) fold_db_data(res, counts);
  });
}

}  // namespace datafold::app
