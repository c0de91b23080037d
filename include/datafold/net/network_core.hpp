// NetworkCore: one node's network layer. It accepts and dials authenticated,
// encrypted connections, answers queries and schema listings through the
// callbacks it is given, and queries other nodes.
//
// Threads: the blocking calls may be made from any thread except this node's
// own I/O threads (there they return a Config error instead of deadlocking).
// Query and schema callbacks run on the node's handler pool, and so do the
// completion handlers of the async_ calls, unless given RunOn::IoThread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "datafold/net/config.hpp"
#include "datafold/net/dht.hpp"
#include "datafold/net/discovery.hpp"
#include "datafold/net/error.hpp"
#include "datafold/net/node_id.hpp"
#include "datafold/net/node_info.hpp"
#include "datafold/net/query.hpp"
#include "datafold/net/query_service.hpp"
#include "datafold/net/query_stream.hpp"
#include "datafold/net/run_on.hpp"
#include "datafold/net/reachability_report.hpp"
#include "datafold/net/reputation.hpp"
#include "datafold/net/reachability.hpp"
#include "datafold/net/request_context.hpp"
#include "datafold/net/schema_info.hpp"
#include "datafold/net/trust_store.hpp"

namespace datafold::net {

class NetworkNode;  // the implementation (src/network_node.hpp)

// Counters a user (or a test, or /metrics) can read at any time.
struct NetworkStats {
  std::uint64_t open_connections = 0;   // established, handshake done
  std::uint64_t inbound_accepted = 0;
  std::uint64_t outbound_dialled = 0;
  std::uint64_t handshake_failures = 0;
  std::uint64_t requests_sent = 0;
  std::uint64_t requests_received = 0;
  std::uint64_t requests_failed = 0;    // outgoing requests that ended in an error
  std::uint64_t protocol_errors = 0;    // bad frames or envelopes received
  std::uint64_t requests_pending = 0;   // this node's requests awaiting a reply or an error
  std::uint64_t requests_rate_limited = 0;  // peers' requests over max_requests_per_second_per_peer (served; reading paused)
  std::uint64_t requests_in_flight_limited = 0;  // reader pauses at max_in_flight_per_connection
  std::uint64_t backpressure_pauses = 0;  // reader pauses at a peer's memory share or a spent budget
  std::uint64_t connections_closed_over_budget = 0;  // closed: over share with the budget spent, or stalled

  // The memory budget (NetworkConfig::memory_budget_bytes): what peers make the
  // node hold now, the most it has held, and the total.
  std::uint64_t memory_budget_bytes = 0;
  std::uint64_t memory_in_use_bytes = 0;
  std::uint64_t memory_peak_bytes = 0;
  std::uint64_t redials = 0;              // background redials of lost or bootstrap peers
  std::uint64_t connections_evicted = 0;  // idle connections closed to make room (least recently used first)
  std::uint64_t connections_refused = 0;  // turned away at the connection caps
  std::uint64_t relayed_connections = 0;  // made through a relay circuit (either end)
  std::uint64_t hole_punches_succeeded = 0;  // relayed connections replaced by a direct one
  std::uint64_t hole_punches_failed = 0;     // attempts that found no direct path
  std::uint64_t dial_backs_answered = 0;  // peers' reachability checks carried out
  std::uint64_t dial_backs_refused = 0;   // over the rate or in-flight limit

  // Requests this node answered, by type and outcome.
  std::uint64_t queries_answered = 0;
  std::uint64_t queries_refused = 0;         // answered with an Error
  std::uint64_t schema_listings_answered = 0;
  std::uint64_t schema_listings_refused = 0;
  std::uint64_t trust_refusals = 0;          // TrustValidationFailed sent back

  // Latency of this node's own requests to peers (successful or not), as a
  // cumulative histogram: request_latency_buckets[i] counts those that took at
  // most kLatencyBucketsUs[i] microseconds.
  static constexpr std::array<std::uint64_t, 8> kLatencyBucketsUs = {250, 1'000, 5'000, 25'000,
                                                                     100'000, 500'000, 2'000'000, 10'000'000};
  std::array<std::uint64_t, 8> request_latency_buckets{};
  std::uint64_t request_latency_count = 0;
  std::uint64_t request_latency_sum_us = 0;
};

class NetworkCore {
 public:
  using QueryCallback = std::function<QueryResult(Query)>;
  using QueryCallbackWithContext = std::function<QueryResult(Query, const RequestContext&)>;
  using SchemaListCallback = std::function<std::vector<SchemaInfo>()>;
  using SchemaListCallbackWithContext = std::function<std::vector<SchemaInfo>(const RequestContext&)>;

  // Checks the config. `local_node_id` and `public_key` (text form) must match
  // the identity in `config`, or be empty / nullopt to mean "derive it".
  static NetworkResult<NetworkCore> create(NetworkConfig config, NodeId local_node_id,
                                           std::optional<std::string> public_key);

  NetworkCore(NetworkCore&&) noexcept;
  NetworkCore& operator=(NetworkCore&&) noexcept;
  ~NetworkCore();  // stops the node if running

  // Binds the listener, starts the I/O and handler threads, dials bootstrap peers
  // (in the background). Connection error if the address cannot be bound.
  NetworkResult<void> start();
  // Stops accepting, fails every pending outgoing request with a Connection error,
  // closes every connection, joins the threads. Idempotent.
  NetworkResult<void> stop();

  // The callback answers in fold_db's per-field shape; an answer whose every field
  // fails alike is sent as one Error (query_refusal.hpp): NotFound everywhere is
  // SCHEMA_NOT_FOUND, InvalidDSL everywhere INVALID_DSL, nothing readable with a field
  // denied PERMISSION_DENIED (docs/PROTOCOL.md 7.3).
  void set_query_callback(QueryCallback cb, RunOn run_on = RunOn::HandlerPool);
  void set_query_callback(QueryCallbackWithContext cb, RunOn run_on = RunOn::HandlerPool);
  // Answers queries a page at a time (replaces a query callback): what lets this node
  // send answers of any size in parts and honour limits with cursors.
  void set_page_callback(QueryService::PageCallback cb);
  // A listing should give each schema's fields (SchemaInfo::fields) as the requester
  // sees them: which it may read is what lets a client write a query that is answered.
  void set_schema_list_callback(SchemaListCallback cb);
  void set_schema_list_callback(SchemaListCallbackWithContext cb);
  // Held around the turns of peers' requests the handler pool takes together
  // (run_on.hpp): e.g. a store's read transaction, shared by their queries; turns begun
  // after the call use it. A scope that throws is logged; requests it did not get to
  // are answered without it.
  void set_turn_scope(TurnScope scope);

  // Every node known so far (added, bootstrap, or discovered).
  NetworkResult<std::vector<NodeInfo>> discover_nodes();
  // Tell the node where a peer is. An existing entry is updated.
  void add_known_node(NodeInfo info);

  // Ensures a connection to `id`: dials its known addresses if needed, and with the DHT
  // on looks it up there when no address is known or none answers.
  NetworkResult<void> connect_to_node(const NodeId& id);
  // Dials "host:port" without knowing who is there; returns the id the peer proved.
  NetworkResult<NodeId> connect_to_address(const std::string& host_port);

  // The whole answer. From a peer that can send it in parts, any answer up to
  // QueryService::kMaxWholeAnswerBytes; for larger ones use stream_query or a limit.
  NetworkResult<QueryResult> query_node(const NodeId& id, Query query);
  // The answer in parts, read with QueryStream::next() as fast as the caller likes:
  // the peer sends at most options.window parts ahead (docs/PROTOCOL.md 7.8). Waits
  // until the query is sent. Config error for this node's own id.
  NetworkResult<std::shared_ptr<QueryStream>> stream_query(const NodeId& id, Query query,
                                                           QueryStream::Options options = {});
  // The same, each part handed to `on_part` on an I/O thread as it arrives (keep it
  // short; return false to stop). A failure to send ends it as an error part.
  void async_stream_query(const NodeId& id, Query query, QueryStream::Options options,
                          QueryStream::PartHandler on_part);
  NetworkResult<std::vector<SchemaInfo>> list_available_schemas(const NodeId& id);

  // Asynchronous forms: never block; the handler runs on the handler pool (or, for
  // a query given RunOn::IoThread, on the I/O thread the reply came on: see RunOn).
  void async_query_node(const NodeId& id, Query query,
                        std::function<void(NetworkResult<QueryResult>)> handler, RunOn run_on = RunOn::HandlerPool);
  std::future<NetworkResult<QueryResult>> async_query_node(const NodeId& id, Query query);
  void async_list_available_schemas(
      const NodeId& id, std::function<void(NetworkResult<std::vector<SchemaInfo>>)> handler);

  std::unordered_set<NodeId> connected_nodes() const;
  std::unordered_map<NodeId, NodeInfo> known_nodes() const;

  const NodeId& local_node_id() const;
  const PublicKey& public_key() const;
  bool running() const;
  // The bound port once started (useful with listen_port = 0), else 0.
  std::uint16_t listen_port() const;
  NetworkStats stats() const;
  // LAN discovery counters; nullopt when discovery is off or the node is stopped.
  std::optional<DiscoveryStats> discovery_stats() const;
  // DHT counters; nullopt when the DHT is off (NetworkConfig::enable_dht) or the node is stopped.
  std::optional<DhtStats> dht_stats() const;
  // Whether peers can dial this node, its relayed addresses, and its relaying for others.
  ReachabilityReport reachability() const;
  // The gateway's mapping of the listen port (NetworkConfig::port_mapping): active or
  // not, by which protocol, the external address, its lease, or why there is none.
  PortMappingStatus port_mapping() const;
  // The addresses this node announces (DHT value; LAN announcements carry the same
  // beyond their interfaces' own), each with its source: `mapped` for the gateway's
  // mapping, `lan` for the interfaces' addresses, `peer` for observed addresses
  // several peers agree on.
  std::vector<NodeAddress> advertised_addresses() const;
  // Every value the DHT holds under `id`'s key, each checked as a lookup would
  // (verified, or why not). Waits up to dht_lookup_timeout; Discovery error when
  // the DHT is off. An empty list: nothing there.
  NetworkResult<std::vector<DhtRecord>> inspect_dht(const NodeId& id);
  // The distances this node gives other keys (NetworkConfig::trust_store_file).
  // Changes apply to the next request; this node's own key is always 0.
  TrustStore& trust_store();

  // Reputation (NetworkConfig::reputation; DESIGN.md section 10.4): every scored node
  // id and IP block, worst first; one node's standing; events and states counted.
  std::vector<ReputationEntry> reputation() const;
  ReputationEntry reputation_of(const NodeId& id) const;
  ReputationStats reputation_stats() const;
  // The operator's hand, by a node id's text or an IP: a ban (closes the subject's
  // connections at once; a trusted key can be banned only this way), an unban
  // (back to neutral), a reset (forgotten). Config error for a subject that is
  // neither; false when nothing was known of it.
  NetworkResult<void> ban(const std::string& subject, std::chrono::seconds duration);
  NetworkResult<bool> unban(const std::string& subject);
  NetworkResult<bool> reset_reputation(const std::string& subject);

 private:
  explicit NetworkCore(std::shared_ptr<NetworkNode> node);
  std::shared_ptr<NetworkNode> node_;
};

}  // namespace datafold::net
