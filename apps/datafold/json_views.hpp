// How the CLI (--json) and the HTTP API show the library's values as JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <datafold/net/error.hpp>
#include <datafold/net/json.hpp>
#include <datafold/net/network_core.hpp>
#include <datafold/net/reachability.hpp>
#include <datafold/net/node_info.hpp>
#include <datafold/net/query.hpp>
#include <datafold/net/schema_info.hpp>
#include <datafold/net/trust_store.hpp>

namespace datafold::app {

// {"address": "ip:port", "source": "lan", "last_seen_ms": ms|null, "last_success_ms": ms|null}
net::Json to_json(const net::NodeAddress& address);
// "address" is the first of "addresses", the order a dial tries them in.
net::Json to_json(const net::NodeInfo& node);
net::Json to_json(const std::vector<net::NodeInfo>& nodes);  // sorted by node id
net::Json to_json(const net::SchemaInfo& schema);
net::Json to_json(const std::vector<net::SchemaInfo>& schemas);
// {"results": [{"field": f, "value": v} | {"field": f, "error": {"kind": k, "message": m}}]}
// {"results": [...]}, and "cursor" (cursor_to_text) when the answer has one.
net::Json to_json(const net::QueryResult& result);
// A query cursor as text (lower-case hex) for JSON and the command line, and back
// (nullopt if the text is not hex).
std::string cursor_to_text(const std::string& cursor);
std::optional<std::string> cursor_from_text(std::string_view text);
// {"kind": …, "code": …, "message": …}
net::Json to_json(const net::NetworkError& error);
net::Json to_json(const net::NetworkStats& stats);
net::Json to_json(const net::DiscoveryStats& stats);
net::Json to_json(const net::DhtStats& stats);
net::Json to_json(const net::ReachabilityReport& report);
// Open connections by how they were made: {"direct": n, "mapped": n, "hole-punched": n,
// "relayed": n}, every path present.
net::Json connections_by_path(const std::unordered_map<net::NodeId, net::NodeInfo>& nodes);
net::Json to_json(const net::DhtRecord& record);
// {"enabled", "active", "protocol", "external_address", "lease_expiry_ms", "last_error", "failures"}
net::Json to_json(const net::PortMappingStatus& mapping);
// {"subject", "kind": "node"|"ip", "score" (one decimal), "state", "banned_until_ms": ms|null}
net::Json to_json(const net::ReputationEntry& entry);
// {"events": {kind: n}, "subjects": {state: n}, "refused_banned": n}
net::Json to_json(const net::ReputationStats& stats);

// {"node_id", "public_key", "distance", "note": text|null, "name": text|null}
net::Json to_json(const net::TrustEntry& entry);

}  // namespace datafold::app
