// The node's local HTTP API: fold_db's routes with fold_db's shapes (http_fold_db.hpp),
// the project's own under /api/v1 (what the CLI uses), and Prometheus /metrics. The
// /api/v1 bodies are {"data": …} or {"error": …, "details": …}.
// Binds 127.0.0.1 unless told otherwise: it acts with the node's identity, so it
// must not be on the network by accident.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <datafold/net/network_core.hpp>

namespace httplib {
class Server;
}

namespace datafold::app {

class HttpApi {
 public:
  // The node's own data, for requests that name no remote node.
  struct LocalData {
    std::function<net::QueryResult(const net::Query&)> query;
    std::function<std::vector<net::SchemaInfo>()> schemas;
    // Applies fold_db mutation documents (the request body's JSON text): {"created": n,
    // "updated": n, "deleted": n}, or Config for a bad document, Message if storage fails.
    std::function<net::NetworkResult<net::Json>(const std::string& documents)> mutate;
    // Adds (or replaces) a schema from its JSON text: what it warns about, or Config for a
    // schema it refuses, Message if storage fails.
    std::function<net::NetworkResult<std::vector<std::string>>(const std::string& schema)> add_schema;
    // The schema called `name` as it was added, or nullopt.
    std::function<std::optional<net::Json>(const std::string& name)> schema_document;
  };
  // Extra metric lines (Prometheus text) the node appends, e.g. from discovery.
  using ExtraMetrics = std::function<std::string()>;

  HttpApi(net::NetworkCore& core, LocalData local, ExtraMetrics extra_metrics = {});
  ~HttpApi();

  // Binds and serves on a thread of its own. Error text if the address cannot be bound.
  net::NetworkResult<void> start(const std::string& host, std::uint16_t port);
  std::uint16_t port() const noexcept { return port_; }
  void stop();

 private:
  void install_routes();

  net::NetworkCore& core_;
  LocalData local_;
  ExtraMetrics extra_metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

}  // namespace datafold::app
