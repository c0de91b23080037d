#include "json_views.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace datafold::app {

namespace {

// Unix milliseconds, or null for the epoch ("never").
net::Json unix_ms_or_null(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return ms > 0 ? net::Json(ms) : net::Json(nullptr);
}

}  // namespace

net::Json to_json(const net::NodeAddress& address) {
  return {{"address", address.address},
          {"source", std::string(net::to_string(address.source))},
          {"last_seen_ms", unix_ms_or_null(address.last_seen)},
          {"last_success_ms", unix_ms_or_null(address.last_success)}};
}

net::Json to_json(const net::PortMappingStatus& mapping) {
  return {{"enabled", mapping.enabled},
          {"active", mapping.active},
          {"protocol", mapping.protocol ? net::Json(std::string(net::to_string(*mapping.protocol))) : net::Json()},
          {"external_address", mapping.active ? net::Json(mapping.external_address) : net::Json()},
          // null while inactive or for a lease without end
          {"lease_expiry_ms", mapping.active ? unix_ms_or_null(mapping.lease_expiry) : net::Json()},
          {"last_error", mapping.last_error.empty() ? net::Json() : net::Json(mapping.last_error)},
          {"failures", mapping.failures}};
}

net::Json to_json(const net::ReputationEntry& entry) {
  return {{"subject", entry.subject},
          {"kind", entry.is_node ? "node" : "ip"},
          {"score", std::round(entry.score * 10) / 10},
          {"state", std::string(net::to_string(entry.state))},
          {"banned_until_ms", entry.banned_until ? unix_ms_or_null(*entry.banned_until) : net::Json()}};
}

net::Json to_json(const net::ReputationStats& stats) {
  net::Json events = net::Json::object();
  for (const auto& [kind, count] : stats.events) events[kind] = count;
  net::Json subjects = net::Json::object();
  for (const auto& [state, count] : stats.subjects_by_state) subjects[state] = count;
  return {{"events", std::move(events)}, {"subjects", std::move(subjects)}, {"refused_banned", stats.refused_banned}};
}

net::Json to_json(const net::NodeInfo& node) {
  const auto last_seen_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(node.last_seen.time_since_epoch()).count();
  net::Json addresses = net::Json::array();
  for (const auto& address : node.addresses) addresses.push_back(to_json(address));
  return {
      {"node_id", node.node_id.to_string()},
      {"public_key", node.public_key.empty() ? net::Json(nullptr) : net::Json(node.public_key.to_string())},
      {"address", node.address},
      {"addresses", std::move(addresses)},
      {"trust_distance", node.trust_distance},
      {"capabilities",
       {{"supports_query", node.capabilities.supports_query},
        {"supports_schema_listing", node.capabilities.supports_schema_listing},
        {"dial_back", node.capabilities.dial_back},
        {"relay", node.capabilities.relay},
        {"hole_punch", node.capabilities.hole_punch}}},
      {"last_seen_ms", last_seen_ms > 0 ? net::Json(last_seen_ms) : net::Json(nullptr)},
      {"protocol_version", node.protocol_version},
      {"health", std::string(net::to_string(node.health))},
      {"failed_dials", node.failed_dials},
      {"rtt_us", node.rtt ? net::Json(node.rtt->count()) : net::Json(nullptr)},
      // How the connection was made: "direct", "mapped", "hole-punched", or "relayed"
      // through `relay`; null when not connected.
      {"path", node.path ? net::Json(std::string(net::to_string(*node.path))) : net::Json(nullptr)},
      {"relay", node.relayed_via ? net::Json(node.relayed_via->to_string()) : net::Json(nullptr)},
  };
}

net::Json connections_by_path(const std::unordered_map<net::NodeId, net::NodeInfo>& nodes) {
  std::map<net::ConnectionPath, std::size_t> open;
  for (const auto& [id, info] : nodes)
    if (info.path) ++open[*info.path];
  net::Json out = net::Json::object();
  for (auto path : {net::ConnectionPath::Direct, net::ConnectionPath::Mapped, net::ConnectionPath::HolePunched,
                    net::ConnectionPath::Relayed})
    out[std::string(net::to_string(path))] = open[path];
  return out;
}
net::Json to_json(const net::ReachabilityReport& report) {
  return {{"status", std::string(net::to_string(report.status))},
          {"reachable_addresses", report.reachable_addresses},
          {"relayed_addresses", report.relayed_addresses},
          {"relay",
           {{"enabled", report.relay.enabled},
            {"reservations", report.relay.reservations},
            {"reservations_refused", report.relay.reservations_refused},
            {"circuits_running", report.relay.circuits_running},
            {"circuits_opened", report.relay.circuits_opened},
            {"circuits_refused", report.relay.circuits_refused},
            {"circuits_cut", report.relay.circuits_cut},
            {"bytes_relayed", report.relay.bytes_relayed},
            {"limits",
             {{"max_reservations", report.relay.limits.max_reservations},
              {"max_reservations_per_ip", report.relay.limits.max_reservations_per_ip},
              {"max_circuits", report.relay.limits.max_circuits},
              {"max_circuits_per_peer", report.relay.limits.max_circuits_per_peer},
              {"max_circuit_bytes", report.relay.limits.max_circuit_bytes},
              {"max_circuit_seconds", report.relay.limits.max_circuit_duration.count()}}}}}};
}

net::Json to_json(const std::vector<net::NodeInfo>& nodes) {
  auto sorted = nodes;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  net::Json out = net::Json::array();
  for (const auto& node : sorted) out.push_back(to_json(node));
  return out;
}

net::Json to_json(const net::SchemaInfo& schema) {
  net::Json out{{"name", schema.name}, {"version", schema.version}};
  if (schema.description) out["description"] = *schema.description;
  // Absent from a node that predates field listings, which said nothing about fields.
  if (!schema.fields.empty()) {
    net::Json fields = net::Json::array();
    for (const auto& field : schema.fields)
      fields.push_back({{"name", field.name}, {"type", field.type}, {"readable", field.readable}});
    out["fields"] = std::move(fields);
  }
  return out;
}

net::Json to_json(const std::vector<net::SchemaInfo>& schemas) {
  net::Json out = net::Json::array();
  for (const auto& schema : schemas) out.push_back(to_json(schema));
  return out;
}

net::Json to_json(const net::QueryResult& result) {
  net::Json results = net::Json::array();
  for (const auto& field : result.results) {
    if (field.ok()) {
      results.push_back({{"field", field.field}, {"value", field.value()}});
    } else {
      results.push_back({{"field", field.field},
                         {"error",
                          {{"kind", std::string(net::to_string(field.error().kind))},
                           {"message", field.error().message}}}});
    }
  }
  net::Json out{{"results", results}};
  if (!result.cursor.empty()) out["cursor"] = cursor_to_text(result.cursor);
  return out;
}

std::string cursor_to_text(const std::string& cursor) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * cursor.size());
  for (const char c : cursor) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::optional<std::string> cursor_from_text(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = digit(text[i]), lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

net::Json to_json(const net::NetworkError& error) {
  return {{"kind", std::string(net::to_string(error.kind))},
          {"code", static_cast<std::uint32_t>(error.code)},
          {"message", error.message}};
}

net::Json to_json(const net::NetworkStats& stats) {
  return {{"open_connections", stats.open_connections},   {"inbound_accepted", stats.inbound_accepted},
          {"outbound_dialled", stats.outbound_dialled},   {"handshake_failures", stats.handshake_failures},
          {"requests_sent", stats.requests_sent},         {"requests_received", stats.requests_received},
          {"requests_failed", stats.requests_failed},     {"protocol_errors", stats.protocol_errors},
          {"requests_pending", stats.requests_pending},   {"requests_rate_limited", stats.requests_rate_limited},
          {"redials", stats.redials},                     {"connections_evicted", stats.connections_evicted},
          {"connections_refused", stats.connections_refused},
          {"requests_in_flight_limited", stats.requests_in_flight_limited},
          {"backpressure_pauses", stats.backpressure_pauses},
          {"connections_closed_over_budget", stats.connections_closed_over_budget},
          {"memory_budget_bytes", stats.memory_budget_bytes},
          {"memory_in_use_bytes", stats.memory_in_use_bytes},
          {"memory_peak_bytes", stats.memory_peak_bytes}};
}

}  // namespace datafold::app

namespace datafold::app {

net::Json to_json(const net::DiscoveryStats& stats) {
  return {{"datagrams_received", stats.datagrams_received}, {"datagrams_accepted", stats.datagrams_accepted},
          {"datagrams_ignored", stats.datagrams_ignored},   {"datagrams_sent", stats.datagrams_sent},
          {"nodes_known", stats.nodes_known}};
}

}  // namespace datafold::app

namespace datafold::app {

net::Json to_json(const net::DhtStats& stats) {
  return {{"port", stats.port},
          {"values_read", stats.values_read},
          {"values_accepted", stats.values_accepted},
          {"values_superseded", stats.values_superseded},
          {"values_rejected",
           {{"forged", stats.values_forged},
            {"replayed", stats.values_replayed},
            {"refused", stats.values_refused},
            {"foreign", stats.values_foreign},
            {"stale", stats.values_stale},
            {"malformed", stats.values_malformed}}},
          {"lookups", stats.lookups},
          {"lookups_found", stats.lookups_found},
          {"lookups_failed", stats.lookups_failed},
          {"publications", stats.publications},
          {"datagrams_in", stats.datagrams_in},
          {"datagrams_out", stats.datagrams_out},
          {"routing_table_nodes", stats.routing_table_nodes}};
}

net::Json to_json(const net::DhtRecord& record) {
  net::Json out{{"verified", record.verified}, {"bytes", record.bytes}};
  if (!record.verified) out["why_not"] = record.why_not;
  if (!record.node_id.empty()) {
    out["node_id"] = record.node_id.to_string();
    out["addresses"] = record.addresses;
    out["tcp_port"] = record.tcp_port;
    out["sequence"] = record.sequence;
    out["age_ms"] = record.age.count();
  }
  return out;
}

net::Json to_json(const net::TrustEntry& entry) {
  net::Json out{{"node_id", entry.public_key.node_id().to_string()},
                {"public_key", entry.public_key.to_string()},
                {"distance", entry.distance}};
  out["note"] = entry.note.empty() ? net::Json(nullptr) : net::Json(entry.note);
  out["name"] = entry.name.empty() ? net::Json(nullptr) : net::Json(entry.name);
  return out;
}

}  // namespace datafold::app
