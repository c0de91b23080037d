// The HTTP API of one `datafold node` as a test reaches it: a thin client over
// cpp-httplib. Each call is one request with its own deadline; none retries.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "datafold/net/json.hpp"

namespace datafold::net::testing {

class NodeApi {
 public:
  // `host`: an IP literal, IPv6 without brackets.
  NodeApi(std::string host, int port) : host_(std::move(host)), port_(port) {}

  // GET `path`: the reply's "data", or nullopt (no reply, not 200, no "data").
  std::optional<Json> get_data(const std::string& path, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  std::optional<Json> status() const { return get_data("/api/v1/network/status"); }
  std::optional<std::string> node_id() const;
  // GET /api/network/nodes -> data (an array of node objects).
  std::optional<Json> nodes() const { return get_data("/api/v1/network/nodes"); }
  std::vector<std::string> known_ids() const;
  // The entry for `node_id` in nodes(), if listed.
  std::optional<Json> node(const std::string& node_id) const;
  struct Address {
    std::string address, source;
  };
  // That entry's "addresses" (empty if not listed).
  std::vector<Address> addresses_of(const std::string& node_id) const;
  // GET /metrics, the Prometheus text.
  std::optional<std::string> metrics() const;

  struct Reply {
    std::optional<int> status;    // nullopt: no HTTP reply came back
    std::string body;
    std::string transport_error;  // why no reply came back (httplib's words)
    // The body parsed, or a discarded Json when it is not JSON.
    Json json() const;
  };
  // POST /api/query for `fields` of `schema` at `node` (a node id).
  Reply query(const std::string& node, const std::string& schema, const std::vector<std::string>& fields,
              std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  Reply post(const std::string& path, const Json& body, std::chrono::milliseconds timeout) const;

  const std::string& host() const { return host_; }

 private:
  std::string host_;
  int port_;
};

// For a failure message: each address with its source, "(none)" if none.
std::string show_addresses(const std::vector<NodeApi::Address>& addresses);

// True if `reply` carries a query result with a value for its first field: what a
// user asking that node for the sample's "username" gets when it worked.
bool query_answered(const NodeApi::Reply& reply);

// The value of the sample `name` (label set included, e.g. `x_total{kind="a"}`) in
// Prometheus text, or nullopt if no such line.
std::optional<double> metric_value(const std::string& metrics_text, const std::string& name);
// The sum of every sample whose name (before any label set) is `name`.
double metric_sum(const std::string& metrics_text, const std::string& name);

}  // namespace datafold::net::testing
