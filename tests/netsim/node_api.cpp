#include "netsim/node_api.hpp"

#include <sstream>

#include <httplib.h>

namespace datafold::net::testing {

namespace {

httplib::Client client_for(const std::string& host, int port, std::chrono::milliseconds timeout) {
  httplib::Client client(host, port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_write_timeout(std::chrono::seconds(5));
  client.set_read_timeout(timeout);
  return client;
}

}  // namespace

std::optional<Json> NodeApi::get_data(const std::string& path, std::chrono::milliseconds timeout) const {
  auto client = client_for(host_, port_, timeout);
  auto response = client.Get(path.c_str());
  if (!response || response->status != 200) return std::nullopt;
  auto body = Json::parse(response->body, nullptr, false);
  if (body.is_discarded() || !body.contains("data")) return std::nullopt;
  return body["data"];
}

std::optional<std::string> NodeApi::node_id() const {
  auto s = status();
  if (!s || !s->contains("node_id") || !(*s)["node_id"].is_string()) return std::nullopt;
  return (*s)["node_id"].get<std::string>();
}

std::vector<std::string> NodeApi::known_ids() const {
  std::vector<std::string> out;
  if (auto list = nodes(); list && list->is_array())
    for (const auto& n : *list)
      if (n.contains("node_id") && n["node_id"].is_string()) out.push_back(n["node_id"]);
  return out;
}

std::optional<Json> NodeApi::node(const std::string& node_id) const {
  if (auto list = nodes(); list && list->is_array())
    for (const auto& n : *list)
      if (n.value("node_id", "") == node_id) return n;
  return std::nullopt;
}

std::vector<NodeApi::Address> NodeApi::addresses_of(const std::string& node_id) const {
  std::vector<Address> out;
  auto n = node(node_id);
  if (!n || !n->contains("addresses") || !(*n)["addresses"].is_array()) return out;
  for (const auto& a : (*n)["addresses"])
    if (a.is_object() && a.contains("address") && a["address"].is_string())
      out.push_back({a["address"], a.value("source", "")});
  return out;
}

std::optional<std::string> NodeApi::metrics() const {
  auto client = client_for(host_, port_, std::chrono::seconds(10));
  auto response = client.Get("/metrics");
  if (!response || response->status != 200) return std::nullopt;
  return response->body;
}

Json NodeApi::Reply::json() const { return Json::parse(body, nullptr, false); }

NodeApi::Reply NodeApi::post(const std::string& path, const Json& body, std::chrono::milliseconds timeout) const {
  auto client = client_for(host_, port_, timeout);
  auto response = client.Post(path.c_str(), body.dump(), "application/json");
  if (!response) return {std::nullopt, "", httplib::to_string(response.error())};
  return {response->status, response->body, ""};
}

NodeApi::Reply NodeApi::query(const std::string& node, const std::string& schema,
                              const std::vector<std::string>& fields, std::chrono::milliseconds timeout) const {
  return post("/api/v1/query", Json{{"node", node}, {"schema", schema}, {"fields", fields}}, timeout);
}

std::string show_addresses(const std::vector<NodeApi::Address>& addresses) {
  std::string out;
  for (const auto& a : addresses) out += a.address + " (" + a.source + ") ";
  return out.empty() ? "(none)" : out;
}

bool query_answered(const NodeApi::Reply& reply) {
  if (reply.status != 200) return false;
  const Json body = reply.json();
  if (body.is_discarded() || !body.contains("data") || !body["data"].is_object()) return false;
  const Json& results = body["data"].value("results", Json::array());
  return results.is_array() && !results.empty() && results[0].contains("value");
}

std::optional<double> metric_value(const std::string& metrics_text, const std::string& name) {
  std::istringstream lines(metrics_text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos || line.compare(0, space, name) != 0 || space != name.size()) continue;
    try {
      return std::stod(line.substr(space + 1));
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

double metric_sum(const std::string& metrics_text, const std::string& name) {
  double sum = 0;
  std::istringstream lines(metrics_text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#' || line.compare(0, name.size(), name) != 0) continue;
    const char after = line.size() > name.size() ? line[name.size()] : '\0';
    if (after != ' ' && after != '{') continue;
    try {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    } catch (...) {
    }
  }
  return sum;
}

}  // namespace datafold::net::testing
