#include "http_api.hpp"

#include <httplib.h>

#include <sstream>

#include <datafold/net/query_refusal.hpp>

#include "dashboard_page.hpp"
#include "dashboard_snapshot.hpp"
#include "http_fold_db.hpp"
#include "http_replies.hpp"
#include "http_reputation.hpp"
#include "http_trust.hpp"
#include "json_views.hpp"
#include "local_api_guard.hpp"
#include "node_ref.hpp"

namespace datafold::app {


HttpApi::HttpApi(net::NetworkCore& core, LocalData local, ExtraMetrics extra_metrics)
    : core_(core), local_(std::move(local)), extra_metrics_(std::move(extra_metrics)),
      server_(std::make_unique<httplib::Server>()), token_(make_dashboard_token()),
      events_([this] { return dashboard_snapshot(core_, started_).dump(); }, kMaxEventStreams,
              std::chrono::seconds(1)) {
  server_->new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  install_routes();
}

HttpApi::~HttpApi() { stop(); }

net::NetworkResult<void> HttpApi::start(const std::string& host, std::uint16_t port) {
  const int bound = port == 0 ? server_->bind_to_any_port(host.c_str()) : (server_->bind_to_port(host.c_str(), port) ? port : -1);
  if (bound <= 0)
    return net::make_error(net::ErrorKind::Connection,
                           "HTTP API cannot listen on " + host + ":" + std::to_string(port));
  port_ = static_cast<std::uint16_t>(bound);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return {};
}

void HttpApi::stop() {
  if (thread_.joinable()) {
    // Open feeds first: the server's stop waits for its worker threads, which they hold.
    events_.close();
    server_->stop();
    thread_.join();
  }
}

void HttpApi::install_routes() {
  auto& s = *server_;
  // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112
  // 6.3), but this httplib reads such a POST until the client closes, then answers 400:
  // `curl -X POST URL`, as fold_db's docs call start and stop, would hang. Saying so
  // before the body is read makes it an empty body. (The Request is the server's own,
  // not const; the handler type only lends it as one.)
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Before anything else, on every route: is this request the API's to answer?
    // Copies: httplib hands header values out by value.
    const auto header = [&req](const char* name) -> std::optional<std::string> {
      if (!req.has_header(name)) return std::nullopt;
      return req.get_header_value(name);
    };
    const auto host = header("Host"), origin = header("Origin"), fetch_site = header("Sec-Fetch-Site"),
               referer = header("Referer"), token = header(kDashboardTokenHeader);
    const auto view = [](const std::optional<std::string>& value) -> std::optional<std::string_view> {
      return value ? std::optional<std::string_view>(*value) : std::nullopt;
    };
    const auto verdict = check_local_api_request(
        {req.method, view(host), view(origin), view(fetch_site), view(referer), view(token)}, port_.load(), token_);
    if (verdict != LocalApiVerdict::Allow) {
      reply_error(res, 403, std::string(to_string(verdict)));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding"))
      const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
    return httplib::Server::HandlerResponse::Unhandled;
  });
  install_fold_db_routes(s, core_, local_);
  install_dashboard_routes(s, token_);
  events_.install(s);

  s.Get("/api/v1/network/status", [this](const httplib::Request&, httplib::Response& res) {
    net::Json status{{"node_id", core_.local_node_id().to_string()},
                     {"public_key", core_.public_key().to_string()},
                     {"listen_port", core_.listen_port()},
                     {"running", core_.running()},
                     {"connected_nodes", core_.connected_nodes().size()},
                     {"known_nodes", core_.known_nodes().size()},
                     {"stats", to_json(core_.stats())},
                     {"discovery", nullptr},
                     {"dht", nullptr}};
    if (auto discovery = core_.discovery_stats()) status["discovery"] = to_json(*discovery);
    if (auto dht = core_.dht_stats()) status["dht"] = to_json(*dht);
    status["port_mapping"] = to_json(core_.port_mapping());
    status["reachability"] = to_json(core_.reachability());
    status["reputation"] = to_json(core_.reputation_stats());
    net::Json addresses = net::Json::array();
    for (const auto& address : core_.advertised_addresses())
      addresses.push_back({{"address", address.address}, {"source", std::string(net::to_string(address.source))}});
    status["addresses"] = std::move(addresses);
    reply_data(res, status);
  });

  // The node is configured at start-up: init reports what it is and changes nothing
  // (fold_db's own /api/network/init is in http_fold_db.cpp).
  s.Post("/api/v1/network/init", [this](const httplib::Request& req, httplib::Response& res) {
    if (!json_body(req, res, true)) return;
    reply_data(res, {{"initialized", true}, {"node_id", core_.local_node_id().to_string()}});
  });
  s.Post("/api/v1/network/start", [this](const httplib::Request&, httplib::Response& res) {
    if (auto started = core_.start(); !started) return reply_network_error(res, started.error());
    reply_data(res, {{"running", true}});
  });
  s.Post("/api/v1/network/stop", [this](const httplib::Request&, httplib::Response& res) {
    if (auto stopped = core_.stop(); !stopped) return reply_network_error(res, stopped.error());
    reply_data(res, {{"running", false}});
  });

  auto discover = [this](const httplib::Request&, httplib::Response& res) {
    auto found = core_.discover_nodes();
    if (!found) return reply_network_error(res, found.error());
    reply_data(res, to_json(*found));
  };
  s.Get("/api/v1/network/discover", discover);
  s.Post("/api/v1/network/discover", discover);

  s.Post("/api/v1/network/connect", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res, false);
    if (!body) return;
    std::string target;
    if (body->contains("node_id") && (*body)["node_id"].is_string()) target = (*body)["node_id"];
    else if (body->contains("address") && (*body)["address"].is_string()) target = (*body)["address"];
    else return reply_error(res, 400, "give \"node_id\" or \"address\" (host:port)");
    auto id = resolve_node(core_, target);
    if (!id) return reply_network_error(res, id.error());
    if (auto connected = core_.connect_to_node(*id); !connected) return reply_network_error(res, connected.error());
    reply_data(res, {{"node_id", id->to_string()}, {"connected", true}});
  });

  s.Get("/api/v1/network/nodes", [this](const httplib::Request&, httplib::Response& res) {
    reply_data(res, known_nodes_view(core_));
  });
  install_reputation_routes(s, core_);
  install_trust_routes(s, core_);

  // What the DHT holds for a node, every value checked (`datafold lookup`).
  s.Get(R"(/api/v1/dht/([a-z2-7]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto id = net::NodeId::from_string(req.matches[1].str());
    if (!id) return reply_error(res, 400, "'" + req.matches[1].str() + "' is not a whole node id");
    auto records = core_.inspect_dht(*id);
    if (!records) return reply_network_error(res, records.error());
    net::Json out = net::Json::array();
    for (const auto& record : *records) out.push_back(to_json(record));
    reply_data(res, out);
  });

  s.Get("/api/v1/schemas", [this](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("node")) return reply_data(res, to_json(local_.schemas ? local_.schemas() : std::vector<net::SchemaInfo>{}));
    auto id = resolve_node(core_, req.get_param_value("node"));
    if (!id) return reply_network_error(res, id.error());
    auto schemas = core_.list_available_schemas(*id);
    if (!schemas) return reply_network_error(res, schemas.error());
    reply_data(res, to_json(*schemas));
  });

  s.Get("/api/v1/schemas/read_policies", [this](const httplib::Request&, httplib::Response& res) {
    if (!local_.read_policies) return reply_error(res, 404, "this node serves no data");
    auto policies = local_.read_policies();
    if (!policies) return reply_network_error(res, policies.error());
    reply_data(res, *policies);
  });

  s.Post("/api/v1/query", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res, false);
    if (!body) return;
    net::Query query;
    if (!body->contains("schema") || !(*body)["schema"].is_string())
      return reply_error(res, 400, "\"schema\" (a string) is required");
    query.schema_name = (*body)["schema"];
    if (!body->contains("fields") || !(*body)["fields"].is_array())
      return reply_error(res, 400, "\"fields\" (an array of strings) is required");
    for (const auto& field : (*body)["fields"]) {
      if (!field.is_string()) return reply_error(res, 400, "\"fields\" must hold only strings");
      query.fields.push_back(field);
    }
    if (body->contains("filter") && !(*body)["filter"].is_null()) {
      if (!(*body)["filter"].is_object()) return reply_error(res, 400, "\"filter\" must be a JSON object");
      query.filter = (*body)["filter"];
    }
    if (body->contains("limit")) {
      const auto& limit = (*body)["limit"];
      if (!limit.is_number_unsigned() || limit.get<std::uint64_t>() > 0xFFFFFFFFu)
        return reply_error(res, 400, "\"limit\" must be a whole number of rows (0: no limit)");
      query.limit = limit.get<std::uint32_t>();
    }
    if (body->contains("cursor")) {
      const auto& text = (*body)["cursor"];
      auto cursor = text.is_string() ? cursor_from_text(text.get<std::string>()) : std::nullopt;
      if (!cursor) return reply_error(res, 400, "\"cursor\" must be the hex text an earlier answer ended with");
      query.cursor = std::move(*cursor);
    }
    if (!body->contains("node")) {
      if (!local_.query) return reply_error(res, 404, "this node serves no data");
      if (query.limit != 0 || !query.cursor.empty())
        return reply_error(res, 400, "\"limit\" and \"cursor\" page a query to another node (\"node\")");
      // Refused as the network layer refuses a peer's query, so a client sees one answer
      // whether it asks this node or another.
      auto answer = local_.query(query);
      if (auto refused = net::refusal_of(answer)) return reply_network_error(res, *refused);
      return reply_data(res, to_json(answer));
    }
    if (!(*body)["node"].is_string()) return reply_error(res, 400, "\"node\" must be a string");
    auto id = resolve_node(core_, (*body)["node"]);
    if (!id) return reply_network_error(res, id.error());
    auto result = core_.query_node(*id, std::move(query));
    if (!result) return reply_network_error(res, result.error());
    reply_data(res, to_json(*result));
  });

  s.Post("/api/v1/mutation", [this](const httplib::Request& req, httplib::Response& res) {
    if (!local_.mutate) return reply_error(res, 404, "this node serves no data");
    if (!json_body(req, res, false)) return;
    auto applied = local_.mutate(req.body);
    if (!applied) return reply_error(res, applied.error().kind == net::ErrorKind::Config ? 400 : 500, applied.error().message);
    reply_data(res, *applied);
  });

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    const auto stats = core_.stats();
    std::ostringstream out;
    metric(out, "datafold_connections_open", "gauge", "Established connections.", stats.open_connections);
    metric(out, "datafold_connections_inbound_total", "counter", "Inbound connections accepted.", stats.inbound_accepted);
    metric(out, "datafold_connections_dialled_total", "counter", "Outbound dials started.", stats.outbound_dialled);
    metric(out, "datafold_handshake_failures_total", "counter", "Handshakes that failed.", stats.handshake_failures);
    metric(out, "datafold_requests_sent_total", "counter", "Requests sent to peers.", stats.requests_sent);
    metric(out, "datafold_requests_failed_total", "counter", "Requests to peers that ended in an error.", stats.requests_failed);
    metric(out, "datafold_requests_received_total", "counter", "Requests received from peers.", stats.requests_received);
    metric(out, "datafold_known_nodes", "gauge", "Nodes this node knows of.", core_.known_nodes().size());
    {
      const auto reach = core_.reachability();
      // A family of its own: datafold_connections_open above is the unlabelled total, and
      // one name cannot be both.
      out << "# HELP datafold_connections_by_path Connections to peers open now, by how they were made "
             "(direct, mapped, hole-punched, relayed).\n"
          << "# TYPE datafold_connections_by_path gauge\n";
      const auto by_path = connections_by_path(core_.known_nodes());  // held: items() only refers to it
      for (const auto& [path, open] : by_path.items())
        out << "datafold_connections_by_path{path=\"" << path << "\"} " << open.get<std::size_t>() << '\n';
      metric(out, "datafold_reachable", "gauge",
             "1 when peers' dial-backs reached this node, 0 when they failed, -1 when unknown.",
             reach.status == net::ReachabilityStatus::Reachable     ? 1
             : reach.status == net::ReachabilityStatus::Unreachable ? 0
                                                                    : -1);
      metric(out, "datafold_relay_reservations_held", "gauge", "Relays this node holds a reservation at.",
             reach.relayed_addresses.size());
      metric(out, "datafold_relayed_connections_total", "counter", "Connections made through a relay circuit.",
             stats.relayed_connections);
      out << "# HELP datafold_hole_punches_total Attempts to replace a relayed connection by a direct one.\n"
          << "# TYPE datafold_hole_punches_total counter\n"
          << "datafold_hole_punches_total{outcome=\"direct\"} " << stats.hole_punches_succeeded << '\n'
          << "datafold_hole_punches_total{outcome=\"failed\"} " << stats.hole_punches_failed << '\n';
      if (reach.relay.enabled) {
        metric(out, "datafold_relay_reservations", "gauge", "Reservations this relay holds for others.",
               reach.relay.reservations);
        metric(out, "datafold_relay_circuits", "gauge", "Circuits this relay carries now.", reach.relay.circuits_running);
        metric(out, "datafold_relay_circuits_refused_total", "counter", "Circuits refused: no reservation, or a limit.",
               reach.relay.circuits_refused);
        metric(out, "datafold_relay_bytes_total", "counter", "Bytes this relay carried, both directions.",
               reach.relay.bytes_relayed);
      }
    }
    {
      const auto mapping = core_.port_mapping();
      metric(out, "datafold_port_mapping_active", "gauge", "1 while the gateway maps the listen port (UPnP or NAT-PMP).",
             mapping.active ? 1 : 0);
      metric(out, "datafold_port_mapping_failures_total", "counter",
             "Attempts to map or renew the listen port on the gateway that failed.", mapping.failures);
    }
    out << "# HELP datafold_requests_answered_total Requests from peers this node answered, by type and outcome.\n"
        << "# TYPE datafold_requests_answered_total counter\n"
        << "datafold_requests_answered_total{type=\"query\",outcome=\"ok\"} " << stats.queries_answered << '\n'
        << "datafold_requests_answered_total{type=\"query\",outcome=\"error\"} " << stats.queries_refused << '\n'
        << "datafold_requests_answered_total{type=\"list_schemas\",outcome=\"ok\"} " << stats.schema_listings_answered << '\n'
        << "datafold_requests_answered_total{type=\"list_schemas\",outcome=\"error\"} " << stats.schema_listings_refused << '\n';
    metric(out, "datafold_trust_refusals_total", "counter", "Queries refused because their trust proof failed.",
           stats.trust_refusals);
    metric(out, "datafold_requests_pending", "gauge", "This node's requests awaiting a reply.", stats.requests_pending);
    metric(out, "datafold_requests_rate_limited_total", "counter",
           "Peers' requests over the per-peer rate (served at the rate; their connection unread meanwhile).",
           stats.requests_rate_limited);
    metric(out, "datafold_requests_in_flight_limited_total", "counter",
           "Times a connection was not read because its peer had the most requests in flight.",
           stats.requests_in_flight_limited);
    metric(out, "datafold_backpressure_pauses_total", "counter",
           "Times a connection was not read because its peer held its memory share or the budget was spent.",
           stats.backpressure_pauses);
    metric(out, "datafold_connections_closed_over_budget_total", "counter",
           "Connections closed for holding more than their memory share (budget spent, or stalled).",
           stats.connections_closed_over_budget);
    metric(out, "datafold_memory_budget_bytes", "gauge", "The node's memory budget for what peers make it hold.",
           stats.memory_budget_bytes);
    metric(out, "datafold_memory_in_use_bytes", "gauge",
           "Bytes peers make the node hold now (write queues, read buffers, requests being answered).",
           stats.memory_in_use_bytes);
    metric(out, "datafold_memory_peak_bytes", "gauge", "The most bytes peers made the node hold since it started.",
           stats.memory_peak_bytes);
    metric(out, "datafold_protocol_errors_total", "counter", "Bad frames or envelopes received.", stats.protocol_errors);
    metric(out, "datafold_redials_total", "counter", "Background redials of lost or bootstrap peers.", stats.redials);
    metric(out, "datafold_connections_evicted_total", "counter",
           "Idle connections closed to make room at the connection cap.", stats.connections_evicted);
    metric(out, "datafold_connections_refused_total", "counter", "Connections turned away at the connection caps.",
           stats.connections_refused);
    out << "# HELP datafold_request_duration_seconds Latency of this node's requests to peers.\n"
        << "# TYPE datafold_request_duration_seconds histogram\n";
    for (std::size_t i = 0; i < stats.request_latency_buckets.size(); ++i)
      out << "datafold_request_duration_seconds_bucket{le=\"" << static_cast<double>(net::NetworkStats::kLatencyBucketsUs[i]) / 1e6
          << "\"} " << stats.request_latency_buckets[i] << '\n';
    out << "datafold_request_duration_seconds_bucket{le=\"+Inf\"} " << stats.request_latency_count << '\n'
        << "datafold_request_duration_seconds_sum " << static_cast<double>(stats.request_latency_sum_us) / 1e6 << '\n'
        << "datafold_request_duration_seconds_count " << stats.request_latency_count << '\n';
    if (auto discovery = core_.discovery_stats()) {
      metric(out, "datafold_discovery_datagrams_received_total", "counter", "Discovery datagrams received.",
             discovery->datagrams_received);
      metric(out, "datafold_discovery_datagrams_ignored_total", "counter",
             "Discovery datagrams ignored (forged, replayed, foreign, own, rate-limited...).",
             discovery->datagrams_ignored);
      metric(out, "datafold_discovery_datagrams_sent_total", "counter", "Discovery datagrams sent.",
             discovery->datagrams_sent);
    }
    if (auto dht = core_.dht_stats()) {
      metric(out, "datafold_dht_values_accepted_total", "counter", "DHT values believed (verified, current).",
             dht->values_accepted);
      out << "# HELP datafold_dht_values_rejected_total DHT values ignored, by reason.\n"
          << "# TYPE datafold_dht_values_rejected_total counter\n";
      for (const auto& [reason, count] : {std::pair{"forged", dht->values_forged}, {"replayed", dht->values_replayed},
                                          {"refused", dht->values_refused}, {"foreign", dht->values_foreign}, {"stale", dht->values_stale},
                                          {"malformed", dht->values_malformed}})
        out << "datafold_dht_values_rejected_total{reason=\"" << reason << "\"} " << count << '\n';
      metric(out, "datafold_dht_lookups_total", "counter", "Node ids looked up in the DHT.", dht->lookups);
      out << "# HELP datafold_dht_lookup_duration_seconds How long lookups of node ids in the DHT took.\n"
          << "# TYPE datafold_dht_lookup_duration_seconds histogram\n";
      for (std::size_t i = 0; i < dht->lookup_latency_buckets.size(); ++i)
        out << "datafold_dht_lookup_duration_seconds_bucket{le=\"" << static_cast<double>(net::DhtStats::kLookupBucketsMs[i]) / 1e3
            << "\"} " << dht->lookup_latency_buckets[i] << '\n';
      out << "datafold_dht_lookup_duration_seconds_bucket{le=\"+Inf\"} " << dht->lookup_latency_count << '\n'
          << "datafold_dht_lookup_duration_seconds_sum " << static_cast<double>(dht->lookup_latency_sum_ms) / 1e3 << '\n'
          << "datafold_dht_lookup_duration_seconds_count " << dht->lookup_latency_count << '\n';
      metric(out, "datafold_dht_lookups_failed_total", "counter", "DHT lookups that found nothing by their deadline.",
             dht->lookups_failed);
      metric(out, "datafold_dht_publications_total", "counter", "Announcements signed and put in the DHT.",
             dht->publications);
      metric(out, "datafold_dht_datagrams_received_total", "counter", "UDP datagrams the DHT received.",
             dht->datagrams_in);
      metric(out, "datafold_dht_datagrams_sent_total", "counter", "UDP datagrams the DHT sent.", dht->datagrams_out);
      metric(out, "datafold_dht_routing_table_nodes", "gauge", "Good nodes in the DHT's routing table.",
             dht->routing_table_nodes);
    }
    out << reputation_metrics(core_);
    if (extra_metrics_) out << extra_metrics_();
    res.set_content(out.str(), "text/plain; version=0.0.4");
  });

  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    reply_error(res, 500, "internal error");
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) reply_error(res, res.status, res.status == 404 ? "no such route" : "request failed");
  });
}

}  // namespace datafold::app
