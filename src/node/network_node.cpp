#include "node/network_node.hpp"

#include <future>
#include <latch>
#include <thread>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "discovery/lan/node_discovery_impl.hpp"
#include "node/io_threads_impl.hpp"
#include "core/endpoint.hpp"
#include "relay/circuit_join.hpp"
#include "relay/relay_server.hpp"
#include "services/released_values.hpp"
#include "transport/listener.hpp"
#include "transport/peek.hpp"
#include "transport/reply_batch.hpp"
#include "transport/tls_context.hpp"

namespace datafold::net {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;

NetworkError node_stopped() { return make_error(ErrorKind::Connection, "node is stopped"); }

std::string ip_of(const std::string& address) {
  auto parsed = detail::parse_host_port(address);
  return parsed ? parsed->host : address;
}

detail::PeerTime steady_now() { return detail::PeerClock::now(); }

// A direct connection that runs through a port mapping: dialled at the peer's mapped
// address (its Hello says which that is), or, inbound, dialled at ours (the dialler's
// Hello says where it saw this node: a mapping's external address, not the socket's).
bool through_a_mapping(const detail::TlsConnection& connection, const std::string& dialled,
                       const std::string& our_mapping) {
  if (connection.relayed_via()) return false;
  const auto& hello = connection.peer_hello();
  if (!connection.inbound()) return !dialled.empty() && dialled == hello.mapped_address;
  return !our_mapping.empty() && hello.observed_address == our_mapping;
}

// Whether a query the pool answers is answered as a stream of parts: when the node
// answers in parts and the asker gave a window. Otherwise it gets one reply, which an
// asker of parts takes as its last part (PROTOCOL.md 7.8).
bool answered_in_parts(NetworkNode::QueryAnswering answering, std::uint32_t stream_window) {
  return answering == NetworkNode::QueryAnswering::InParts && stream_window > 0;
}

// A query delivered undecoded (on_incoming_query), decoded; if it does not decode, the
// peer is told (TlsConnection::refuse_undecodable) and nullopt returned.
std::optional<Message> decode_request(const NetworkNode::ConnectionPtr& connection,
                                      std::span<const std::uint8_t> envelope) {
  auto decoded = decode_envelope(envelope);
  if (!decoded) {
    connection->refuse_undecodable(std::move(decoded).error());
    return std::nullopt;
  }
  return std::move(*decoded);
}

}  // namespace

// ------------------------------------------------------------------ lifecycle

NetworkResult<std::shared_ptr<NetworkNode>> NetworkNode::create(NetworkConfig config, NodeId local_node_id,
                                                                std::optional<std::string> public_key) {
  if (auto valid = config.validate(); !valid) return std::move(valid).error();

  std::optional<Identity> identity = config.identity;
  if (!identity) {
    auto made = config.key_file.empty() ? Identity::generate() : Identity::load_or_create(config.key_file);
    if (!made) return std::move(made).error();
    identity = std::move(*made);
  }
  if (!local_node_id.empty() && local_node_id != identity->node_id())
    return make_error(ErrorKind::Config, "local_node_id " + local_node_id.short_string() +
                                             " does not match the configured identity " +
                                             identity->node_id().short_string());
  if (public_key && !public_key->empty()) {
    auto key = PublicKey::from_string(*public_key);
    if (!key) return make_error(ErrorKind::Config, "public_key is not a base64 Ed25519 key");
    if (*key != identity->public_key())
      return make_error(ErrorKind::Config, "public_key does not match the configured identity");
  }
  auto tls = detail::make_tls_context(*identity);
  if (!tls) return std::move(tls).error();
  auto trust = config.trust_store_file.empty() ? NetworkResult<TrustStore>(TrustStore{})
                                               : TrustStore::open(config.trust_store_file);
  if (!trust) return std::move(trust).error();  // Config error naming the file and the problem
  std::weak_ptr<IoThreads> shared_io = std::exchange(config.shared_io, nullptr);
  auto node = std::make_shared<NetworkNode>(std::move(config), std::move(shared_io), std::move(*identity),
                                            std::move(*tls), std::move(*trust));
  // Scores and bans from the last run (a Config error names the file).
  if (auto loaded = node->reputation_->load(); !loaded) return std::move(loaded).error();
  return node;
}

NetworkNode::NetworkNode(NetworkConfig config, std::weak_ptr<IoThreads> shared_io, Identity identity,
                         std::shared_ptr<asio::ssl::context> tls, TrustStore trust_store)
    : config_(std::move(config)),
      identity_(std::move(identity)),
      public_key_text_(identity_.public_key().to_string()),
      tls_(std::move(tls)),
      trust_store_(std::move(trust_store)),
      shares_io_(!shared_io.expired()),
      shared_io_config_(std::move(shared_io)),
      peers_(make_peer_table()),
      reputation_(std::make_unique<detail::ReputationKeeper>(
          config_.reputation, [this](const NodeId& node) { return is_trusted(node); })) {
  // The services outlive any single start/stop; they look trust up through the node.
  auto lookup = [this](const PublicKey& key) { return trust_distance_of(key); };
  query_service_ = std::make_shared<QueryService>(lookup);
  schema_service_ = std::make_shared<SchemaService>(lookup);
  router_.register_handler(query_service_);
  router_.register_handler(schema_service_);
}

NetworkNode::~NetworkNode() { (void)stop(); }

detail::PeerTable NetworkNode::make_peer_table() {
  detail::PeerTableConfig table;
  table.self = identity_.node_id();
  table.links.max_connections = config_.max_connections;
  table.links.max_connections_per_ip = config_.max_connections_per_ip;
  table.redial = {.initial = config_.redial_initial_delay, .ceiling = config_.redial_max_delay};
  table.redial_max_attempts = config_.redial_max_attempts;
  // The table calls this inside its own calls, which the node makes under mutex_.
  table.link_facts = [this](detail::LinkId link) { return link_facts_locked(link); };
  return detail::PeerTable(std::move(table));
}

detail::LinkFacts NetworkNode::link_facts_locked(detail::LinkId link) const {
  auto it = links_.find(link);
  if (it == links_.end()) return {};
  const auto& connection = it->second;
  return {connection->state(), connection->idle(),
          detail::PeerTime(std::chrono::duration_cast<detail::PeerClock::duration>(
              std::chrono::nanoseconds(connection->last_activity_ns()))),
          connection->relayed_via().has_value()};
}

asio::any_io_executor NetworkNode::io_executor() const {
  if (!run_) return io_->get_executor();
  return detail::RunExecutor<asio::io_context::executor_type>(io_->get_executor(), run_);
}

asio::any_io_executor NetworkNode::serial_executor() const {
  if (io_thread_count_ == 1) return io_executor();
  return asio::make_strand(io_executor());
}

NetworkResult<void> NetworkNode::open_listener() {
  auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(serial_executor());
  if (auto listening = detail::open_listener(*acceptor, config_.listen_address, config_.listen_port); !listening)
    return listening;
  std::error_code ec;
  bound_port_ = acceptor->local_endpoint(ec).port();
  acceptor_ = std::move(acceptor);
  return {};
}

NetworkResult<void> NetworkNode::start() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (running_) return {};
  if (auto opened = open_io(); !opened) return opened;
  if (config_.accept_connections) {
    if (auto listening = open_listener(); !listening) {
      close_io();
      return listening;
    }
  }
  if (config_.enable_discovery) {
    if (auto discovering = open_discovery(); !discovering) {
      acceptor_.reset();
      close_io();
      return discovering;
    }
  }
  if (config_.enable_dht) {
    if (auto joined = open_dht(); !joined) {
      {
        std::lock_guard lock(mutex_);
        discovery_.reset();
      }
      acceptor_.reset();
      close_io();
      return joined;
    }
  }
  open_relay();
  handlers_ = std::make_unique<asio::thread_pool>(config_.handler_threads);
  handlers_joined_ = false;
  {
    std::lock_guard lock(mutex_);
    peers_.start();
  }
  running_ = true;
  if (own_io_) {
    work_.emplace(own_io_->get_executor());
    for (std::size_t i = 0; i < config_.io_threads; ++i) {
      io_threads_.emplace_back([this] {
        detail::io_thread_group() = this;
        own_io_->run();
        detail::io_thread_group() = nullptr;
      });
    }
  }
  auto self = shared_from_this();
  if (acceptor_) asio::co_spawn(acceptor_->get_executor(), [self] { return self->accept_loop(); }, asio::detached);
  if (discovery_) discovery_->start();
  for (const auto& peer : config_.bootstrap_peers) dial_bootstrap_peer(peer);
  open_port_mapping();
  asio::co_spawn(serial_executor(), [self] { return self->relay_maintenance_loop(); }, asio::detached);
  if (reputation_->enabled())
    asio::co_spawn(serial_executor(), [self] { return self->reputation_loop(); }, asio::detached);
  spdlog::debug("node {} listening on port {}", identity_.node_id().short_string(), bound_port_.load());
  return {};
}

NetworkResult<void> NetworkNode::stop() {
  if (on_io_thread())
    return make_error(ErrorKind::Config, "stop() called from the node's own I/O thread");
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (!running_.exchange(false)) return {};
  close_port_mapping();  // the gateway forgets the mapping before the node goes quiet
  if (discovery_) discovery_->stop();  // goodbye first, while the sockets are up
  if (dht_) dht_->stop();              // fails the lookups still waiting
  std::shared_ptr<detail::RelayServer> relay;
  {
    std::lock_guard lock(mutex_);
    relay = std::move(relay_server_);
    relay_reservations_.clear();
    relay_reservations_pending_.clear();
    relay_addresses_pending_.clear();
  }
  if (relay) relay->stop();  // circuits through this node close: their ends see it at once

  std::vector<ConnectionPtr> connections;
  std::vector<ConnectionHandler> dial_waiters;
  {
    std::lock_guard lock(mutex_);
    peers_.stop();  // no more adoptions, dials or redials
    for (const auto& [link, connection] : links_) connections.push_back(connection);
    for (auto& [ticket, waiters] : dial_waiters_)
      for (auto& waiter : waiters) dial_waiters.push_back(std::move(waiter));
    dial_waiters_.clear();
  }
  for (auto& waiter : dial_waiters) waiter(node_stopped());

  // Stopping keeps what the node owes its peers: requests it is already answering
  // get their replies, and only then do connections close.
  //  1. Stop listening, and fail every request this node is waiting on (their
  //     completions run on the handler pool, which is still running).
  const auto stopping = make_error(ErrorKind::Connection, "node is stopping");
  std::latch requests_stopped(static_cast<std::ptrdiff_t>(connections.size()) + 1);
  if (acceptor_) {
    asio::post(acceptor_->get_executor(), [this, &requests_stopped] {
      std::error_code ignored;
      acceptor_->close(ignored);
      requests_stopped.count_down();
    });
  } else {
    requests_stopped.count_down();
  }
  for (auto& connection : connections)
    connection->stop_requests(stopping, [&requests_stopped] { requests_stopped.count_down(); });
  requests_stopped.wait();
  //  2. Let callbacks in progress finish; their replies queue on open connections.
  //     Requests arriving now are refused (on_incoming sees running_ false).
  handlers_->join();
  handlers_joined_ = true;
  //  3. Flush what is queued and close (each close has its own flush deadline).
  std::latch closed(static_cast<std::ptrdiff_t>(connections.size()));
  for (auto& connection : connections)
    connection->close_gracefully(stopping, [&closed] { closed.count_down(); });
  closed.wait();

  end_io_work();
  {
    std::lock_guard lock(mutex_);
    links_.clear();
    link_ids_.clear();
    peers_.clear_connections();  // a restarted node starts with a clean slate
  }
  reputation_tick();  // the last credits, and the file saved
  {
    std::lock_guard lock(rate_mutex_);
    request_buckets_.clear();
  }
  connections.clear();
  handlers_.reset();
  // Work queued for the handler pool that no thread will run now (a part of an answer
  // scheduled by a credit that arrived as the pool was joining), and the answers still
  // in the table, hold connections: they must go before the io_context they live on.
  {
    std::lock_guard lock(peer_work_mutex_);
    while (peer_work_.pop()) {
    }
    peer_work_waiting_.store(false, std::memory_order_relaxed);
    peer_turn_runners_ = 0;
  }
  {
    std::lock_guard lock(answer_streams_mutex_);
    answer_streams_.clear();
  }
  acceptor_.reset();
  {
    std::lock_guard lock(mutex_);
    discovery_.reset();
    dht_.reset();
    dht_lookups_.clear();
  }
  close_io();  // destroys any coroutine still suspended, with what it holds
  bound_port_ = 0;
  return {};
}

NetworkResult<void> NetworkNode::open_io() {
  if (shares_io_) {
    shared_io_ = shared_io_config_.lock();
    if (!shared_io_)
      return make_error(ErrorKind::Config, "the IoThreads this node was configured to share (shared_io) are gone");
    io_ = &shared_io_->impl().io;
    io_thread_count_ = shared_io_->size();
    run_ = std::make_shared<detail::NodeRun>();
    shared_group_ = &shared_io_->impl();
    return {};
  }
  own_io_ = std::make_unique<asio::io_context>(static_cast<int>(config_.io_threads));
  io_ = own_io_.get();
  io_thread_count_ = config_.io_threads;
  return {};
}

void NetworkNode::end_io_work() {
  if (run_) {
    // What the run left queued on the shared threads is destroyed there, unrun.
    run_->end();
    return;
  }
  work_.reset();
  own_io_->stop();
  for (auto& thread : io_threads_) thread.join();
  io_threads_.clear();
}

void NetworkNode::close_io() {
  if (run_) run_->end();
  io_ = nullptr;
  own_io_.reset();
  run_.reset();
  shared_group_ = nullptr;
  shared_io_.reset();  // last, and never on one of its threads: stop() refuses to run there
}

bool NetworkNode::on_io_thread() const noexcept {
  const void* group = detail::io_thread_group();
  return group != nullptr && (group == this || group == shared_group_.load());
}

void NetworkNode::post_to_handlers(std::function<void()> work) {
  // Once stop() has drained the pool nothing would run what is posted there.
  if (handlers_ && !handlers_joined_) {
    asio::post(*handlers_, std::move(work));
  } else {
    work();
  }
}

void NetworkNode::post_peer_request(const NodeId& peer, std::function<void()> work) {
  if (!handlers_ || handlers_joined_) return work();
  bool start_runner = false;
  {
    std::lock_guard lock(peer_work_mutex_);
    start_runner = queue_peer_work_locked(peer, detail::PeerWork{nullptr, std::move(work)});
  }
  if (start_runner) asio::post(*handlers_, [this] { run_peer_turns(); });
}

template <class Fill>
void NetworkNode::post_incoming_request(const ConnectionPtr& connection, bool in_parts, Fill&& fill) {
  if (!handlers_ || handlers_joined_) {
    detail::IncomingRequest request;
    request.connection = connection;
    request.in_parts = in_parts;
    fill(request);
    return answer_incoming(request);
  }
  bool start_runner = false;
  {
    std::lock_guard lock(peer_work_mutex_);
    auto slot = request_slots_.take();
    slot->connection = connection;
    slot->in_parts = in_parts;
    fill(*slot);
    start_runner = queue_peer_work_locked(connection->node_id(), detail::PeerWork{std::move(slot), {}});
  }
  if (start_runner) asio::post(*handlers_, [this] { run_peer_turns(); });
}

void NetworkNode::post_peer_request(const ConnectionPtr& connection, Message&& message, bool in_parts) {
  post_incoming_request(connection, in_parts,
                        [&message](detail::IncomingRequest& slot) { slot.message = std::move(message); });
}

void NetworkNode::post_peer_request(const ConnectionPtr& connection, std::span<const std::uint8_t> envelope,
                                    bool in_parts) {
  post_incoming_request(connection, in_parts, [envelope](detail::IncomingRequest& slot) {
    slot.envelope.assign(envelope.begin(), envelope.end());
  });
}

bool NetworkNode::queue_peer_work_locked(const NodeId& peer, detail::PeerWork work) {
  peer_work_.push(peer, std::move(work));
  peer_work_waiting_.store(true, std::memory_order_relaxed);
  // A runner takes turns until the queue is empty, so under load a request queues
  // no pool work and wakes no thread of its own: one runner per handler thread.
  if (peer_turn_runners_ >= config_.handler_threads) return false;
  ++peer_turn_runners_;
  return true;
}

void NetworkNode::set_turn_scope(TurnScope scope) {
  auto shared = scope ? std::make_shared<const TurnScope>(std::move(scope)) : nullptr;
  std::lock_guard lock(peer_work_mutex_);
  turn_scope_ = std::move(shared);
}

void NetworkNode::run_peer_turns() {
  std::vector<detail::PeerWork> requests;  // one or more peers' turns, back to back
  std::vector<std::size_t> turn_ends;      // where each of those turns ends
  // The slots of the requests answered, cleared: they go back for the next requests at
  // the next lock (the turn's other work having been let go outside it).
  std::vector<std::unique_ptr<detail::IncomingRequest>> answered;
  const auto give_back_answered = [this, &answered] {
    for (auto& slot : answered) request_slots_.give_back(std::move(slot));
    answered.clear();
  };
  bool lingered = false;  // since work was last taken
  for (std::size_t turns = 0; turns < kTurnsPerRun;) {
    std::shared_ptr<const TurnScope> scope;
    {
      std::unique_lock lock(peer_work_mutex_);
      give_back_answered();
      scope = turn_scope_;
      // Without a scope to share, a turn is one request: a peer's requests then run on
      // every handler thread at once, and a slow one holds up none of the others.
      if (peer_work_.pop_turn(scope ? kMaxRequestsPerTurn : 1, requests) == 0) {
        if (lingered) {
          --peer_turn_runners_;
          return;
        }
        // Still counted as running, so the requests that come meanwhile wake no thread.
        lock.unlock();
        linger_for_peer_work();
        lingered = true;
        continue;
      }
      lingered = false;
      turn_ends.push_back(requests.size());
      // With a scope, the turns waiting next share it, each still answered and its
      // replies handed over as a turn of its own: a store's read transaction then
      // begins and ends (locking and unlocking its file, a system call each) once for
      // several peers rather than once each.
      while (scope && requests.size() < kMaxRequestsPerScope &&
             peer_work_.pop_turn(std::min(kMaxRequestsPerTurn, kMaxRequestsPerScope - requests.size()), requests) > 0)
        turn_ends.push_back(requests.size());
      peer_work_waiting_.store(peer_work_.size() > 0, std::memory_order_relaxed);
    }
    take_turns(requests, turn_ends, scope.get());
    turns += turn_ends.size();
    for (auto& work : requests) {
      if (!work.request) continue;
      work.request->clear();  // here, outside the lock: this frees what the request held
      answered.push_back(std::move(work.request));
    }
    requests.clear();
    turn_ends.clear();
  }
  {
    std::lock_guard lock(peer_work_mutex_);
    give_back_answered();
  }
  // The pool's other work (completions of this node's own requests) gets its go
  // before more turns are taken.
  asio::post(*handlers_, [this] { run_peer_turns(); });
}

void NetworkNode::linger_for_peer_work() const {
  const auto until = std::chrono::steady_clock::now() + kRunnerLinger;
  while (!peer_work_waiting_.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();  // the I/O threads that bring the requests may want this core
}

void NetworkNode::take_turns(std::vector<detail::PeerWork>& requests, const std::vector<std::size_t>& turn_ends,
                             const TurnScope* scope) {
  bool answered = false;
  const auto answer_all = [this, &requests, &turn_ends, &answered] {
    if (answered) return;
    answered = true;
    std::size_t begin = 0;
    for (const std::size_t end : turn_ends) {
      // A turn's replies go to each connection together when it ends: one write.
      std::optional<detail::ReplyBatch> replies;
      if (end - begin > 1) replies.emplace();
      for (std::size_t i = begin; i < end; ++i) {
        auto& request = requests[i];
        if (!request.request) {
          request.work();
          continue;
        }
        answer_incoming(*request.request);
      }
      begin = end;
    }
  };
  if (scope != nullptr) {
    // The application's scope (a store's read transaction) is held across the turns.
    try {
      (*scope)(answer_all);
    } catch (const std::exception& e) {
      spdlog::error("the turn scope failed: {}", e.what());
    } catch (...) {
      spdlog::error("the turn scope failed");
    }
  }
  // Every request is answered, whatever the scope did.
  answer_all();
}

// ------------------------------------------------------------------ discovery

NetworkResult<void> NetworkNode::open_discovery() {
  DiscoveryConfig discovery_config{
      .identity = identity_,
      .network_name = config_.network_name,
      .tcp_port = bound_port_.load(),
      .capabilities = capabilities(),
      .discovery_port = config_.discovery_port,
      .interfaces = config_.discovery_interfaces,
      .group = config_.discovery_group,
      .group_v6 = config_.discovery_group_v6,
      .announcement_interval = config_.announcement_interval,
      .listen_address = config_.listen_address,
      .refuse_sender = [this](std::string_view ip) { return reputation_->refuse_ip(ip); },
      .refuse_node = [this](const NodeId& node) { return reputation_->refuse_node(node); },
      .on_forged =
          [this](std::string_view ip) {
            reputation_->record(detail::PeerEvent::ForgedAnnouncement, std::nullopt, ip);
          },
  };
  // The node outlives its discovery (stop() resets it), so `this` is safe here.
  auto made = make_node_discovery(io_executor(), std::move(discovery_config),
                                  [this](DiscoveryEvent event, const NodeInfo& node) { on_discovery_event(event, node); });
  if (!made) return std::move(made).error();
  {
    std::lock_guard lock(mutex_);
    discovery_ = std::move(*made);
  }
  std::string via;
  for (const auto& lan : discovery_->interfaces()) via += (via.empty() ? "" : ", ") + lan;
  spdlog::debug("discovery on port {} via {}", config_.discovery_port, via);
  return {};
}

void NetworkNode::on_discovery_event(DiscoveryEvent event, const NodeInfo& node) {
  switch (event) {
    case DiscoveryEvent::Discovered:
    case DiscoveryEvent::Updated: {
      NodeInfo announced = node;
      announced.trust_distance = trust_distance_of(node.public_key);
      std::lock_guard lock(mutex_);
      if (auto order = peers_.on_announced(announced, AddressSource::Lan, steady_now())) schedule_redial_locked(*order);
      break;
    }
    case DiscoveryEvent::Departed:
    case DiscoveryEvent::Expired: {
      std::lock_guard lock(mutex_);
      peers_.on_lan_lost(node.node_id);
      break;
    }
  }
}

std::optional<DiscoveryStats> NetworkNode::discovery_stats() const {
  // Not the lifecycle lock: stop() holds that while callbacks drain, and a callback may ask.
  std::lock_guard lock(mutex_);
  if (!discovery_) return std::nullopt;
  return discovery_->stats();
}

std::vector<NodeInfo> NetworkNode::discover() {
  std::shared_ptr<NodeDiscovery> discovery;
  std::shared_ptr<discovery::DhtDiscovery> dht;
  {
    std::lock_guard lock(mutex_);
    discovery = discovery_;
    dht = dht_;
  }
  // The LAN probe and the DHT search run at once; the DHT's usually takes longer.
  std::future<std::vector<discovery::DhtFoundNode>> from_dht;
  if (dht && running_) from_dht = ask_dht_for_network(dht);
  if (discovery && running_) (void)discovery->find_nodes(config_.discovery_wait);
  if (from_dht.valid())
    for (const auto& found : from_dht.get()) merge_from_dht(found, {});
  // Results as offered: avoided and banned nodes left out, the best-scored first.
  auto nodes = known_node_list();
  std::erase_if(nodes, [this](const NodeInfo& node) { return reputation_->avoided(node.node_id); });
  std::stable_sort(nodes.begin(), nodes.end(), [this](const NodeInfo& a, const NodeInfo& b) {
    return reputation_->score(a.node_id, "") > reputation_->score(b.node_id, "");
  });
  return nodes;
}

// ------------------------------------------------------------------ known nodes

std::uint32_t NetworkNode::trust_distance_of(const PublicKey& key) const {
  if (key == identity_.public_key()) return 0;
  // Picks up `datafold trust set` run by another process. Throttled inside, so
  // cheap per query; a malformed file is logged there and the last good contents stay.
  (void)trust_store_.reload_if_changed();
  return trust_store_.get(key).value_or(config_.unknown_trust_distance);
}

void NetworkNode::add_known_node(NodeInfo info) {
  std::lock_guard lock(mutex_);
  peers_.add_known(std::move(info));
}

std::unordered_map<NodeId, NodeInfo> NetworkNode::known_nodes() const {
  std::unordered_map<NodeId, NodeInfo> out;
  for (auto& info : known_node_list()) out.emplace(info.node_id, std::move(info));
  return out;
}

std::vector<NodeInfo> NetworkNode::known_node_list() const {
  std::vector<NodeInfo> out;
  {
    std::lock_guard lock(mutex_);
    out = peers_.known();
    for (auto& info : out) {
      if (auto link = peers_.link_for(info.node_id)) {
        if (auto connection = links_.find(*link); connection != links_.end()) {
          info.rtt = connection->second->last_rtt();
          info.relayed_via = connection->second->relayed_via();
          info.path = connection->second->path();
        }
      }
    }
  }
  // The peer table keeps the distance a node had when it was last announced or connected;
  // the trust store may have changed since (`datafold trust set`, the dashboard), and a
  // listing must say what the next query would be judged by.
  for (auto& info : out)
    if (!info.public_key.empty()) info.trust_distance = trust_distance_of(info.public_key);
  return out;
}

std::unordered_set<NodeId> NetworkNode::connected_nodes() const {
  std::lock_guard lock(mutex_);
  auto connected = peers_.connected();
  return {connected.begin(), connected.end()};
}

NetworkStats NetworkNode::stats() const {
  NetworkStats out;
  {
    std::lock_guard lock(mutex_);
    out.open_connections = peers_.link_count();
    out.protocol_errors = closed_protocol_violations_;
    for (const auto& [link, connection] : links_) out.protocol_errors += connection->protocol_violations();
  }
  out.requests_pending = counters_.requests_pending;
  out.requests_rate_limited = counters_.requests_rate_limited;
  out.requests_in_flight_limited = counters_.requests_in_flight_limited;
  out.backpressure_pauses = counters_.backpressure_pauses;
  out.connections_closed_over_budget = counters_.connections_closed_over_budget;
  out.memory_budget_bytes = budget_->total();
  out.memory_in_use_bytes = budget_->in_use();
  out.memory_peak_bytes = budget_->peak();
  out.redials = counters_.redials;
  out.connections_evicted = counters_.connections_evicted;
  out.connections_refused = counters_.connections_refused;
  out.inbound_accepted = counters_.inbound_accepted;
  out.relayed_connections = counters_.relayed_connections;
  out.hole_punches_succeeded = counters_.hole_punches_succeeded;
  out.hole_punches_failed = counters_.hole_punches_failed;
  out.dial_backs_answered = counters_.dial_backs_answered;
  out.dial_backs_refused = counters_.dial_backs_refused;
  out.outbound_dialled = counters_.outbound_dialled;
  out.handshake_failures = counters_.handshake_failures;
  out.requests_sent = counters_.requests_sent;
  out.requests_received = counters_.requests_received;
  out.requests_failed = counters_.requests_failed;
  out.queries_answered = counters_.queries_answered;
  out.queries_refused = counters_.queries_refused;
  out.schema_listings_answered = counters_.schema_listings_answered;
  out.schema_listings_refused = counters_.schema_listings_refused;
  out.trust_refusals = counters_.trust_refusals;
  std::uint64_t at_most = 0;
  for (std::size_t i = 0; i < out.request_latency_buckets.size(); ++i)
    out.request_latency_buckets[i] = at_most += counters_.latency_buckets[i];
  out.request_latency_count = counters_.latency_count;
  out.request_latency_sum_us = counters_.latency_sum_us;
  return out;
}

// ------------------------------------------------------------------ connections

detail::ConnectionLimits NetworkNode::limits() const {
  detail::ConnectionLimits limits;
  limits.max_frame_bytes = config_.max_frame_bytes;
  limits.max_in_flight = config_.max_in_flight_per_connection;
  limits.max_write_queue_bytes = config_.max_write_queue_bytes;
  limits.ping_interval = config_.ping_interval;
  limits.idle_timeout = config_.idle_timeout;
  limits.budget = budget_;
  limits.stall_timeout = config_.backpressure_stall_timeout;
  return limits;
}

detail::HandshakeParams NetworkNode::handshake_params(std::optional<NodeId> expected) const {
  detail::HandshakeParams params;
  params.local_id = identity_.node_id();
  params.network_name = config_.network_name;
  params.agent = config_.agent;
  params.capabilities = capabilities();
  params.listen_port = bound_port_.load();
  params.expected_peer = expected;
  params.timeout = config_.handshake_timeout;
  std::lock_guard lock(mutex_);
  params.mapped_address = mapped_address_;
  return params;
}

asio::awaitable<void> NetworkNode::accept_loop() {
  auto self = shared_from_this();
  asio::steady_timer backoff(acceptor_->get_executor());
  while (running_) {
    auto [ec, socket] = co_await acceptor_->async_accept(serial_executor(), as_tuple(use_awaitable));
    if (ec) {
      if (!running_ || ec == asio::error::operation_aborted) co_return;
      // Out of descriptors or memory: give the system a moment instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(as_tuple(use_awaitable));
      continue;
    }
    std::error_code peer_ec;
    const std::string ip = socket.remote_endpoint(peer_ec).address().to_string();
    if (peer_ec) continue;
    if (reputation_->refuse_ip(ip)) {
      // Banned: turned away before TLS costs anything.
      counters_.connections_refused++;
      spdlog::debug("refused a connection from {}: banned", ip);
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    bool admitted = false;
    {
      std::lock_guard lock(mutex_);
      admitted = peers_.admit_inbound(ip);
    }
    if (!admitted) {
      counters_.connections_refused++;
      spdlog::debug("refused a connection from {}: connection limit reached", ip);
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    counters_.inbound_accepted++;
    auto executor = socket.get_executor();
    asio::co_spawn(executor,
                   [self, socket = std::move(socket), ip]() mutable {
                     return self->serve_inbound(std::move(socket), ip);
                   },
                   asio::detached);
  }
}

asio::awaitable<void> NetworkNode::serve_inbound(asio::ip::tcp::socket socket, std::string ip) {
  auto self = shared_from_this();
  if (config_.relay) {
    // A relay's listener also takes circuit joins: their first byte tells them from TLS.
    auto first = co_await detail::peek_first_byte(socket, config_.handshake_timeout);
    if (first && detail::starts_circuit_join(*first)) {
      {
        std::lock_guard lock(mutex_);
        peers_.inbound_handshake_failed(ip);  // a circuit end is not a connection of this node's
      }
      co_await serve_circuit_join(std::move(socket));
      co_return;
    }
  }
  auto connection = std::make_shared<detail::TlsConnection>(std::move(socket), *tls_, true, limits());
  auto params = handshake_params(std::nullopt);
  // A banned key goes as soon as its certificate proves it, before any Hello.
  params.refuse_peer = [this](const NodeId& peer) { return reputation_->refuse_node(peer); };
  auto handshake = co_await connection->handshake(std::move(params));
  if (!handshake) {
    {
      std::lock_guard lock(mutex_);
      peers_.inbound_handshake_failed(ip);
    }
    if (handshake.error().code == ErrorCode::PermissionDenied) {
      counters_.connections_refused++;
      co_return;
    }
    counters_.handshake_failures++;
    spdlog::debug("inbound handshake from {} failed: {}", ip, handshake.error().message);
    // A bad certificate or Hello, or a handshake held open to its deadline, is the
    // peer's doing; a connection that simply went away may be the network's.
    if (handshake.error().kind != ErrorKind::Connection)
      reputation_->record(detail::PeerEvent::FailedHandshake, std::nullopt, ip);
    co_return;
  }
  if (connection->peer_hello().dial_back_probe) {
    // A peer checking this node can be dialled (it asked for it): nothing to keep.
    counters_.dial_back_probes_received++;
    {
      std::lock_guard lock(mutex_);
      peers_.inbound_handshake_failed(ip);
    }
    connection->close();
    co_return;
  }
  // A refusal is carried out (and the IP released) inside.
  (void)adopt(connection, "", AddressSource::Inbound, ip);
}

NetworkResult<NetworkNode::ConnectionPtr> NetworkNode::adopt(const ConnectionPtr& connection,
                                                             const std::string& dialled_address,
                                                             AddressSource source, const std::string& inbound_ip,
                                                             bool hole_punched) {
  if (reputation_->refuse_node(connection->node_id())) {
    // Banned: the earliest point its key is known.
    if (connection->inbound()) {
      std::lock_guard lock(mutex_);
      peers_.inbound_handshake_failed(inbound_ip);
    }
    counters_.connections_refused++;
    connection->close();
    return make_error(ErrorKind::Connection, "node " + connection->node_id().short_string() + " is banned here");
  }
  const auto& hello = connection->peer_hello();
  detail::AuthenticatedLink link;
  link.peer = connection->node_id();
  link.public_key = connection->peer_public_key();
  link.inbound = connection->inbound();
  link.remote_ip = link.inbound ? inbound_ip : ip_of(connection->remote_address());
  link.listen_port = hello.listen_port;
  link.protocol_version = connection->protocol_version();
  link.capabilities = hello.capabilities;
  link.trust_distance = trust_distance_of(link.public_key);
  link.dialled_address = dialled_address;
  link.dialled_source = source;

  detail::Adoption adoption;
  ConnectionPtr chosen;
  ConnectionPtr retired;
  ConnectionPtr evicted;
  {
    std::lock_guard lock(mutex_);
    link.link = next_link_id_++;
    if (hole_punched || take_punch_reversal_locked(*connection))
      connection->set_path(ConnectionPath::HolePunched);
    else if (through_a_mapping(*connection, dialled_address, mapped_address_))
      connection->set_path(ConnectionPath::Mapped);
    // Registered first: the table may ask about it (a duplicate's tie-break).
    links_.emplace(link.link, connection);
    adoption = peers_.on_authenticated(link);
    if (adoption.verdict == detail::Adoption::Verdict::Adopted) {
      link_ids_.emplace(connection.get(), link.link);
      chosen = links_.at(adoption.use);
      if (adoption.retire) retired = links_.at(*adoption.retire);
      if (adoption.evict) evicted = links_.at(*adoption.evict);
    } else {
      links_.erase(link.link);
    }
  }
  switch (adoption.verdict) {
    case detail::Adoption::Verdict::Self:
      connection->close();
      return make_error(ErrorKind::Config, "that address is this node itself");
    case detail::Adoption::Verdict::Stopped:
      connection->close();
      return node_stopped();
    case detail::Adoption::Verdict::Full:
      // Turned away with the same notice an evicted connection gets.
      connection->start(weak_from_this());
      connection->release_for_room();
      return make_error(ErrorKind::ResourceExhausted, "connection limit reached", ErrorCode::ResourceExhausted);
    case detail::Adoption::Verdict::Adopted:
      break;
  }
  connection->start(weak_from_this());
  if (retired) retired->supersede();
  if (chosen == connection) maybe_punch(connection);
  note_observed_address(link.peer, link.remote_ip, hello.observed_address);
  if (evicted) {
    counters_.connections_evicted++;
    spdlog::debug("closing idle connection to {} to make room", evicted->node_id().short_string());
    evicted->release_for_room();
  }
  return chosen;
}

void NetworkNode::on_closed(const ConnectionPtr& connection, const NetworkError& reason) {
  bool peer_gone = false;
  const NodeId& peer = connection->node_id();
  {
    std::lock_guard lock(mutex_);
    // One never adopted (refused, or closed by stop()) has nothing to release.
    if (auto id = link_ids_.find(connection.get()); id != link_ids_.end()) {
      const detail::LinkId link = id->second;
      closed_protocol_violations_ += connection->protocol_violations();
      if (connection->protocol_violations() > 0)
        reputation_->record(detail::PeerEvent::ProtocolViolation, peer,
                            connection->relayed_via() ? std::string() : ip_of(connection->remote_address()),
                            connection->protocol_violations());
      // A circuit ends when its relay cuts it (its byte or time limit) or goes: that
      // says nothing of the peer, whom the next request reaches through a new circuit
      // (or finds unreachable then), without waiting out a redial backoff.
      const bool peer_failed = connection->failed() && !connection->relayed_via();
      auto closure = peers_.on_link_closed(link, peer_failed, reason.message, steady_now());
      links_.erase(link);
      link_ids_.erase(id);
      peer_gone = closure.peer_gone;
      if (closure.redial) schedule_redial_locked(*closure.redial);
    }
  }
  if (peer_gone) {
    // Its rate budget goes with it once spent budget has refilled; a peer that
    // reconnects to reset a drained bucket finds it still drained.
    std::lock_guard lock(rate_mutex_);
    auto bucket = request_buckets_.find(peer);
    if (bucket != request_buckets_.end() && bucket->second.full(detail::TokenBucket::Clock::now()))
      request_buckets_.erase(bucket);
  }
  on_relay_link_closed(connection);
  cancel_answer_streams(connection.get());
  spdlog::debug("connection to {} closed: {}", connection->node_id().short_string(), reason.message);
}

// ------------------------------------------------------------------ requests

void NetworkNode::on_incoming(const ConnectionPtr& connection, Message&& message) {
  // Paces an answer this node is sending: no request, and never delayed.
  if (const auto* credit = std::get_if<QueryCreditMessage>(&message)) return on_query_credit(connection, *credit);
  counters_.requests_received++;
  take_incoming(connection, std::move(message));
}

bool NetworkNode::wants_undecoded_queries() const {
  // A query answered as it is read is decoded as it is read.
  return answering_.load() != QueryAnswering::WholeOnIoThread;
}

// The replay check's cache miss starts here, to overlap with decoding the query.
void NetworkNode::expect_query(const Uuid& query_id) { query_service_->expect(query_id); }

void NetworkNode::on_incoming_query(const ConnectionPtr& connection, const detail::UndecodedQuery& query) {
  counters_.requests_received++;
  if (const auto answering = answering_.load(); running_ && answering != QueryAnswering::WholeOnIoThread) {
    if (const auto debt = admit_request(connection->node_id()); debt > std::chrono::steady_clock::duration::zero()) {
      if (auto message = decode_request(connection, query.envelope)) serve_after(connection, std::move(*message), debt);
      return;
    }
    // To the pool as serve_incoming sends a query, but undecoded.
    return post_peer_request(connection, query.envelope, answered_in_parts(answering, query.stream_window));
  }
  // Stopping, or the answering changed since the connection asked: as any message.
  if (auto message = decode_request(connection, query.envelope)) take_incoming(connection, std::move(*message));
}

void NetworkNode::take_incoming(const ConnectionPtr& connection, Message&& message) {
  if (!running_) {
    if (!std::holds_alternative<NodeAnnouncementMessage>(message))
      connection->respond(make_error_reply(message, make_error(ErrorKind::Connection, "node is stopping",
                                                               ErrorCode::InternalError)));
    return;
  }
  const bool is_request =
      std::holds_alternative<QueryMessage>(message) || std::holds_alternative<ListSchemasRequestMessage>(message) ||
      std::holds_alternative<DialBackRequestMessage>(message) || std::holds_alternative<RelayRequestMessage>(message) ||
      std::holds_alternative<HolePunchMessage>(message);
  if (is_request) {
    // Over its rate a request is still served, once the bucket would have admitted
    // it (its token debt), and the connection reads nothing more until then. One
    // Error per excess request would send the flooder more bytes than it sent; a
    // delayed answer also slows a peer that opens a connection per request.
    if (const auto debt = admit_request(connection->node_id()); debt > std::chrono::steady_clock::duration::zero())
      return serve_after(connection, std::move(message), debt);
  }
  serve_incoming(connection, std::move(message));
}

void NetworkNode::serve_after(const ConnectionPtr& connection, Message&& message,
                              std::chrono::steady_clock::duration debt) {
  connection->pause_reading_for(debt);
  on_limit_hit(connection, detail::LimitHit::Rate);
  auto timer = std::make_shared<asio::steady_timer>(connection->executor(), debt);
  timer->async_wait([self = shared_from_this(), connection, timer, message = std::move(message)](std::error_code) mutable {
    if (!self->running_) {
      connection->respond(make_error_reply(message, make_error(ErrorKind::Connection, "node is stopping",
                                                               ErrorCode::InternalError)));
      return;
    }
    self->serve_incoming(connection, std::move(message));
  });
}

void NetworkNode::serve_incoming(const ConnectionPtr& connection, Message&& message) {
  // Network-layer requests are answered here, on the connection's strand: none blocks.
  if (const auto* dial_back = std::get_if<DialBackRequestMessage>(&message)) return handle_dial_back(connection, *dial_back);
  if (const auto* relay = std::get_if<RelayRequestMessage>(&message)) return handle_relay_request(connection, *relay);
  if (const auto* punch = std::get_if<HolePunchMessage>(&message)) return handle_hole_punch(connection, *punch);
  if (const auto* query = std::get_if<QueryMessage>(&message)) {
    const auto answering = answering_.load();
    // A callback that never blocks answers here, as the query is read: no trip to the
    // handler pool and back (RunOn::IoThread).
    if (answering == QueryAnswering::WholeOnIoThread)
      return answer_request(connection, std::move(message), /*on_strand=*/true);
    const bool in_parts = answered_in_parts(answering, query->stream_window);
    return post_peer_request(connection, std::move(message), in_parts);
  }
  post_peer_request(connection, std::move(message), /*in_parts=*/false);
}

void NetworkNode::answer_incoming(detail::IncomingRequest& request) {
  if (!request.envelope.empty()) {
    auto message = decode_request(request.connection, request.envelope);
    if (!message) return;
    request.message = std::move(*message);
  }
  if (request.in_parts) return start_answer_stream(request.connection, std::move(request.message));
  answer_request(request.connection, std::move(request.message), /*on_strand=*/false);
}

void NetworkNode::answer_request(const ConnectionPtr& connection, Message&& message, bool on_strand) {
  // Announcements relayed over connections are not used yet: LAN discovery takes
  // them from UDP, where NodeDiscovery::handle_node_announcement would also take these.
  if (std::holds_alternative<NodeAnnouncementMessage>(message)) return;
  // Who asked, as the handshake proved it. Each service works out the effective
  // distance itself (the query service from the trust proof), so none is looked up here.
  RequestContext context{connection->node_id(), connection->peer_public_key(), config_.unknown_trust_distance};
  // A query goes to the query service as the router would send it, but given up:
  // the service takes its query rather than copy it. (The message stays a Query,
  // for record_reply.)
  auto* query = std::get_if<QueryMessage>(&message);
  std::optional<Message> reply;
  if (query != nullptr) {
    try {
      auto answered = query_service_->answer(std::move(*query), context);
      reply = answered ? std::move(*answered) : make_error_reply(message, answered.error());
    } catch (const std::exception&) {  // as the router answers a handler that throws
      reply = make_error_reply(message, make_error(ErrorKind::Message, "internal error", ErrorCode::InternalError));
    }
  } else {
    reply = router_.route(message, context);
  }
  record_reply(connection, message, reply);
  if (!reply) return;
  if (on_strand)
    connection->respond_on_strand(*reply);
  else
    connection->respond(*reply);
  detail::release_values(*reply);  // sent: its rows are freed the cheap way
}

void NetworkNode::on_limit_hit(const ConnectionPtr& connection, detail::LimitHit hit) {
  switch (hit) {
    case detail::LimitHit::InFlight: counters_.requests_in_flight_limited++; break;
    case detail::LimitHit::Rate:
      counters_.requests_rate_limited++;
      record_peer_event(connection, detail::PeerEvent::RateLimitHit);
      break;
    case detail::LimitHit::Backpressure: counters_.backpressure_pauses++; break;
    case detail::LimitHit::Stalled:
    case detail::LimitHit::OverBudget:
      counters_.connections_closed_over_budget++;
      spdlog::info("closing connection to {} at {}: {} (holds {} bytes of the node's {} byte budget)",
                   connection->node_id().short_string(), connection->remote_address(), detail::to_string(hit),
                   connection->budget_held(), budget_->total());
      // Made the node hold its replies and would not read them: as bad as garbage.
      record_peer_event(connection, detail::PeerEvent::OverBudget);
      break;
  }
}

std::chrono::steady_clock::duration NetworkNode::admit_request(const NodeId& peer) {
  if (config_.max_requests_per_second_per_peer <= 0) return std::chrono::steady_clock::duration::zero();
  const auto now = detail::TokenBucket::Clock::now();
  std::lock_guard lock(rate_mutex_);
  auto bucket = request_buckets_.find(peer);
  if (bucket == request_buckets_.end()) {
    // Buckets of peers gone for good are dropped in on_closed once full; this bounds
    // the rest (peers that left with a spent budget) to about the connection cap.
    if (request_buckets_.size() >= 2 * config_.max_connections)
      std::erase_if(request_buckets_, [now](auto& entry) { return entry.second.full(now); });
    bucket = request_buckets_
                 .emplace(peer, detail::TokenBucket(config_.max_requests_per_second_per_peer,
                                                    static_cast<double>(config_.request_burst_per_peer), now))
                 .first;
  }
  return bucket->second.take_owing(now);
}

void NetworkNode::record_reply(const ConnectionPtr& connection, const Message& request,
                               const std::optional<Message>& reply) {
  const auto* error = reply ? std::get_if<ErrorMessage>(&*reply) : nullptr;
  if (error && error->code == ErrorCode::TrustValidationFailed) {
    // A proof that does not verify, or a replayed query id: forged or replayed.
    counters_.trust_refusals++;
    record_peer_event(connection, detail::PeerEvent::RefusedTrustProof);
  } else if (std::holds_alternative<QueryMessage>(request) || std::holds_alternative<ListSchemasRequestMessage>(request)) {
    note_good_request(connection->node_id());
  }
  if (std::holds_alternative<QueryMessage>(request)) {
    (error ? counters_.queries_refused : counters_.queries_answered)++;
  } else if (std::holds_alternative<ListSchemasRequestMessage>(request)) {
    (error ? counters_.schema_listings_refused : counters_.schema_listings_answered)++;
  }
}

void NetworkNode::record_latency(std::chrono::steady_clock::time_point started) {
  const auto us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  for (std::size_t i = 0; i < NetworkStats::kLatencyBucketsUs.size(); ++i) {
    if (us <= NetworkStats::kLatencyBucketsUs[i]) {
      counters_.latency_buckets[i]++;
      break;
    }
  }
  counters_.latency_count++;
  counters_.latency_sum_us += us;
}

}  // namespace datafold::net
