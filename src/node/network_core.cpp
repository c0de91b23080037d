#include "datafold/net/network_core.hpp"

#include <future>

#include "node/network_node.hpp"

namespace datafold::net {

namespace {

// Runs an asynchronous call and waits for it. The wait needs no deadline of its
// own: every path inside has one (connect, handshake, request) and stop() ends
// the rest. A completion destroyed uncalled breaks the promise, which we report.
template <class T, class Start>
NetworkResult<T> wait_for(const NetworkNode& node, Start&& start) {
  if (node.on_io_thread())
    return make_error(ErrorKind::Config, "blocking call made on the node's I/O thread; use the async_ form");
  auto promise = std::make_shared<std::promise<NetworkResult<T>>>();
  auto future = promise->get_future();
  start([promise](NetworkResult<T> outcome) { promise->set_value(std::move(outcome)); });
  try {
    return future.get();
  } catch (const std::future_error&) {
    return make_error(ErrorKind::Connection, "node stopped before the request finished");
  }
}

// Completion handlers of the async_ calls that always run on the handler pool.
// (async_query_node's, which may run on an I/O thread, are placed by NetworkNode.)
template <class T>
std::function<void(NetworkResult<T>)> on_handler_pool(const std::shared_ptr<NetworkNode>& node,
                                                      std::function<void(NetworkResult<T>)> handler) {
  return [weak = std::weak_ptr<NetworkNode>(node), handler = std::move(handler)](NetworkResult<T> outcome) mutable {
    auto node = weak.lock();
    if (!node) return handler(std::move(outcome));
    node->post_to_handlers([handler = std::move(handler), outcome = std::move(outcome)]() mutable {
      handler(std::move(outcome));
    });
  };
}

// Either form of query callback (QueryService wraps one without a context). While
// the callbacks change, queries go the way that suits any callback (in parts, on the
// pool): none runs the new one on an I/O thread before it is declared fit.
template <class Callback>
void install_query_callback(NetworkNode& node, Callback cb, RunOn run_on) {
  node.answer_queries(NetworkNode::QueryAnswering::InParts);
  node.query_service().set_query_callback(std::move(cb));
  node.answer_queries(run_on == RunOn::IoThread ? NetworkNode::QueryAnswering::WholeOnIoThread
                                                : NetworkNode::QueryAnswering::WholeOnPool);
}

}  // namespace

NetworkResult<NetworkCore> NetworkCore::create(NetworkConfig config, NodeId local_node_id,
                                               std::optional<std::string> public_key) {
  auto node = NetworkNode::create(std::move(config), local_node_id, std::move(public_key));
  if (!node) return std::move(node).error();
  return NetworkCore(std::move(*node));
}

NetworkCore::NetworkCore(std::shared_ptr<NetworkNode> node) : node_(std::move(node)) {}
NetworkCore::NetworkCore(NetworkCore&&) noexcept = default;
NetworkCore& NetworkCore::operator=(NetworkCore&&) noexcept = default;
NetworkCore::~NetworkCore() {
  if (node_) (void)node_->stop();
}

NetworkResult<void> NetworkCore::start() { return node_->start(); }
NetworkResult<void> NetworkCore::stop() { return node_->stop(); }

void NetworkCore::set_query_callback(QueryCallback cb, RunOn run_on) {
  install_query_callback(*node_, std::move(cb), run_on);
}
void NetworkCore::set_query_callback(QueryCallbackWithContext cb, RunOn run_on) {
  install_query_callback(*node_, std::move(cb), run_on);
}
void NetworkCore::set_page_callback(QueryService::PageCallback cb) {
  node_->answer_queries(NetworkNode::QueryAnswering::InParts);
  node_->query_service().set_page_callback(std::move(cb));
}
void NetworkCore::set_turn_scope(TurnScope scope) { node_->set_turn_scope(std::move(scope)); }
void NetworkCore::set_schema_list_callback(SchemaListCallback cb) {
  node_->schema_service().set_schema_list_callback(std::move(cb));
}
void NetworkCore::set_schema_list_callback(SchemaListCallbackWithContext cb) {
  node_->schema_service().set_schema_list_callback(std::move(cb));
}

NetworkResult<std::vector<NodeInfo>> NetworkCore::discover_nodes() {
  if (!node_->running()) return make_error(ErrorKind::Discovery, "node is not started");
  if (node_->on_io_thread())
    return make_error(ErrorKind::Config, "discover_nodes() waits; it cannot run on the node's I/O thread");
  return node_->discover();
}

void NetworkCore::add_known_node(NodeInfo info) { node_->add_known_node(std::move(info)); }

NetworkResult<void> NetworkCore::connect_to_node(const NodeId& id) {
  if (id == node_->identity().node_id()) return make_error(ErrorKind::Config, "cannot connect to this node itself");
  auto connected = wait_for<NetworkNode::ConnectionPtr>(
      *node_, [&](auto done) { node_->async_connection(id, std::move(done)); });
  if (!connected) return std::move(connected).error();
  return {};
}

NetworkResult<NodeId> NetworkCore::connect_to_address(const std::string& host_port) {
  auto connected = wait_for<NetworkNode::ConnectionPtr>(
      *node_, [&](auto done) { node_->async_connect_address(host_port, std::move(done)); });
  if (!connected) return std::move(connected).error();
  return (*connected)->node_id();
}

NetworkResult<QueryResult> NetworkCore::query_node(const NodeId& id, Query query) {
  return wait_for<QueryResult>(*node_, [&](auto done) { node_->async_query(id, std::move(query), std::move(done)); });
}

NetworkResult<std::shared_ptr<QueryStream>> NetworkCore::stream_query(const NodeId& id, Query query,
                                                                      QueryStream::Options options) {
  return wait_for<std::shared_ptr<QueryStream>>(*node_, [&](auto done) {
    node_->async_stream_query(id, std::move(query), options, {}, std::move(done));
  });
}

void NetworkCore::async_stream_query(const NodeId& id, Query query, QueryStream::Options options,
                                     QueryStream::PartHandler on_part) {
  auto handler = std::make_shared<QueryStream::PartHandler>(std::move(on_part));
  node_->async_stream_query(
      id, std::move(query), options, [handler](NetworkResult<QueryResult> part, bool last) {
        return (*handler)(std::move(part), last);
      },
      on_handler_pool<std::shared_ptr<QueryStream>>(
          node_, [handler](NetworkResult<std::shared_ptr<QueryStream>> started) {
            if (!started) (void)(*handler)(std::move(started).error(), true);
          }));
}

NetworkResult<std::vector<SchemaInfo>> NetworkCore::list_available_schemas(const NodeId& id) {
  return wait_for<std::vector<SchemaInfo>>(*node_,
                                           [&](auto done) { node_->async_list_schemas(id, std::move(done)); });
}

void NetworkCore::async_query_node(const NodeId& id, Query query,
                                   std::function<void(NetworkResult<QueryResult>)> handler, RunOn run_on) {
  node_->async_query(id, std::move(query), std::move(handler), run_on);
}

std::future<NetworkResult<QueryResult>> NetworkCore::async_query_node(const NodeId& id, Query query) {
  auto promise = std::make_shared<std::promise<NetworkResult<QueryResult>>>();
  auto future = promise->get_future();
  node_->async_query(id, std::move(query),
                     [promise](NetworkResult<QueryResult> outcome) { promise->set_value(std::move(outcome)); });
  return future;
}

void NetworkCore::async_list_available_schemas(
    const NodeId& id, std::function<void(NetworkResult<std::vector<SchemaInfo>>)> handler) {
  node_->async_list_schemas(id, on_handler_pool<std::vector<SchemaInfo>>(node_, std::move(handler)));
}

std::unordered_set<NodeId> NetworkCore::connected_nodes() const { return node_->connected_nodes(); }
std::unordered_map<NodeId, NodeInfo> NetworkCore::known_nodes() const { return node_->known_nodes(); }
const NodeId& NetworkCore::local_node_id() const { return node_->identity().node_id(); }
const PublicKey& NetworkCore::public_key() const { return node_->identity().public_key(); }
bool NetworkCore::running() const { return node_->running(); }
std::uint16_t NetworkCore::listen_port() const { return node_->listen_port(); }
NetworkStats NetworkCore::stats() const { return node_->stats(); }
std::optional<DiscoveryStats> NetworkCore::discovery_stats() const { return node_->discovery_stats(); }
std::optional<DhtStats> NetworkCore::dht_stats() const { return node_->dht_stats(); }
PortMappingStatus NetworkCore::port_mapping() const { return node_->port_mapping(); }
std::vector<NodeAddress> NetworkCore::advertised_addresses() const { return node_->advertised_addresses(); }
std::vector<ReputationEntry> NetworkCore::reputation() const { return node_->reputation(); }
ReputationEntry NetworkCore::reputation_of(const NodeId& id) const { return node_->reputation_of(id); }
ReputationStats NetworkCore::reputation_stats() const { return node_->reputation_stats(); }
NetworkResult<void> NetworkCore::ban(const std::string& subject, std::chrono::seconds duration) {
  return node_->ban(subject, duration);
}
NetworkResult<bool> NetworkCore::unban(const std::string& subject) { return node_->unban(subject); }
NetworkResult<bool> NetworkCore::reset_reputation(const std::string& subject) {
  return node_->reset_reputation(subject);
}

ReachabilityReport NetworkCore::reachability() const { return node_->reachability(); }

NetworkResult<std::vector<DhtRecord>> NetworkCore::inspect_dht(const NodeId& id) {
  if (!node_->running()) return make_error(ErrorKind::Discovery, "node is not started");
  return wait_for<std::vector<DhtRecord>>(*node_, [&](auto done) { node_->async_inspect_dht(id, std::move(done)); });
}
TrustStore& NetworkCore::trust_store() { return node_->trust_store(); }

}  // namespace datafold::net
