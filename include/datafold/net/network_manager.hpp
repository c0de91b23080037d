// NetworkManager: the original design's simplified wrapper around NetworkCore,
// kept for code written against the old API. Same operations, same threads.
#pragma once

#include "datafold/net/network_core.hpp"

namespace datafold::net {

class NetworkManager {
 public:
  static NetworkResult<NetworkManager> create(NetworkConfig config, NodeId local_node_id,
                                              std::optional<std::string> public_key);

  void set_schema_list_callback(NetworkCore::SchemaListCallback cb) { core_.set_schema_list_callback(std::move(cb)); }
  void set_query_callback(NetworkCore::QueryCallback cb) { core_.set_query_callback(std::move(cb)); }
  NetworkResult<void> start() { return core_.start(); }
  NetworkResult<void> stop() { return core_.stop(); }
  NetworkResult<std::vector<NodeInfo>> discover_nodes() { return core_.discover_nodes(); }
  NetworkResult<void> connect_to_node(const NodeId& id) { return core_.connect_to_node(id); }
  NetworkResult<QueryResult> query_node(const NodeId& id, Query query) { return core_.query_node(id, std::move(query)); }
  NetworkResult<std::vector<SchemaInfo>> list_available_schemas(const NodeId& id) {
    return core_.list_available_schemas(id);
  }
  std::unordered_set<NodeId> connected_nodes() const { return core_.connected_nodes(); }
  std::unordered_map<NodeId, NodeInfo> known_nodes() const { return core_.known_nodes(); }

  // The wrapped core, for everything beyond the original API.
  NetworkCore& core() noexcept { return core_; }

 private:
  explicit NetworkManager(NetworkCore core) : core_(std::move(core)) {}
  NetworkCore core_;
};

}  // namespace datafold::net
