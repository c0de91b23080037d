// The node's local HTTP API: fold_db's routes with fold_db's shapes (http_fold_db.hpp),
// the project's own under /api/v1 (what the CLI uses), and Prometheus /metrics. The
// /api/v1 bodies are {"data": …} or {"error": …, "details": …}.
// Binds 127.0.0.1 unless told otherwise: it acts with the node's identity, so it
// must not be on the network by accident. Serves the operator's dashboard at / (dashboard_page.hpp)
// with its live feed (dashboard_events.hpp); every request passes local_api_guard.hpp first,
// so no other web page can use the API through the operator's browser.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <datafold/net/network_core.hpp>

#include "dashboard_events.hpp"

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
    // Who may read each field of each schema (read_policy_view.hpp), or Message if
    // storage fails.
    std::function<net::NetworkResult<net::Json>()> read_policies{};
  };
  // Extra metric lines (Prometheus text) the node appends, e.g. from discovery.
  using ExtraMetrics = std::function<std::string()>;

  HttpApi(net::NetworkCore& core, LocalData local, ExtraMetrics extra_metrics = {});
  ~HttpApi();

  // Binds and serves on a thread of its own. Error text if the address cannot be bound.
  net::NetworkResult<void> start(const std::string& host, std::uint16_t port);
  std::uint16_t port() const noexcept { return port_; }
  void stop();

  // Live feeds (GET /api/v1/events) open at once, at most; a worker thread each.
  static constexpr std::size_t kMaxEventStreams = 4;
  // httplib's worker threads: the feeds' share plus enough for the CLI and the page's requests.
  static constexpr std::size_t kWorkerThreads = 16;

 private:
  void install_routes();

  net::NetworkCore& core_;
  LocalData local_;
  ExtraMetrics extra_metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  // Read by the guard on every request's thread after start() set it.
  std::atomic<std::uint16_t> port_{0};
  // This start's token for writes from a browser (local_api_guard.hpp): in the page
  // served at /, never in a log.
  const std::string token_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  DashboardEvents events_;
};

}  // namespace datafold::app
