// NetworkNode: the implementation behind NetworkCore. Owns the I/O threads, the
// handler pool, the listener and the connections, and carries out what its
// PeerTable (who is known, connected, dialled, redialled) decides.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/thread_pool.hpp>

#include "datafold/net/config.hpp"
#include "datafold/net/dht.hpp"
#include "datafold/net/discovery.hpp"
#include "datafold/net/message_router.hpp"
#include "datafold/net/network_core.hpp"
#include "datafold/net/query_service.hpp"
#include "datafold/net/query_stream.hpp"
#include "datafold/net/reachability.hpp"
#include "datafold/net/schema_service.hpp"
#include "datafold/net/trust_store.hpp"
#include "core/coarse_clock.hpp"
#include "core/keyed_uuid_hash.hpp"
#include "core/relayed_address.hpp"
#include "discovery/dht/dht_discovery.hpp"
#include "peers/observed_addresses.hpp"
#include "reachability/reachability.hpp"
#include "peers/peer_table.hpp"
#include "peers/reputation_keeper.hpp"
#include "reachability/port_mapper.hpp"
#include "transport/tls_connection.hpp"
#include "core/round_robin_queue.hpp"
#include "node/peer_work.hpp"
#include "transport/run_executor.hpp"
#include "core/token_bucket.hpp"

namespace datafold::net {

namespace detail {
class AnswerStream;
class RelayServer;
}

class NetworkNode final : public detail::ConnectionEvents,
                          public std::enable_shared_from_this<NetworkNode> {
 public:
  using ConnectionPtr = std::shared_ptr<detail::TlsConnection>;
  using ConnectionHandler = std::function<void(NetworkResult<ConnectionPtr>)>;

  static NetworkResult<std::shared_ptr<NetworkNode>> create(NetworkConfig config, NodeId local_node_id,
                                                            std::optional<std::string> public_key);
  NetworkNode(NetworkConfig config, std::weak_ptr<IoThreads> shared_io, Identity identity,
              std::shared_ptr<asio::ssl::context> tls,
              TrustStore trust_store);
  ~NetworkNode() override;

  NetworkResult<void> start();
  NetworkResult<void> stop();

  // Probes the LAN (if discovery is on), waits config().discovery_wait, and
  // returns every known node.
  std::vector<NodeInfo> discover();
  std::optional<DiscoveryStats> discovery_stats() const;
  // nullopt when the DHT is off or the node is stopped.
  std::optional<DhtStats> dht_stats() const;
  ReachabilityReport reachability() const;
  // Every value the DHT holds for `id`, each checked (`datafold lookup`). Discovery
  // error when the DHT is off. `done` runs on the DHT's thread.
  void async_inspect_dht(const NodeId& id, std::function<void(NetworkResult<std::vector<DhtRecord>>)> done);

  QueryService& query_service() { return *query_service_; }
  SchemaService& schema_service() { return *schema_service_; }

  void add_known_node(NodeInfo info);
  std::vector<NodeInfo> known_node_list() const;
  std::unordered_map<NodeId, NodeInfo> known_nodes() const;
  std::unordered_set<NodeId> connected_nodes() const;

  // The pooled connection to `id`, dialling its known addresses if there is none (all
  // of them, staggered: the first that authenticates as `id` wins), and looking it up
  // in the DHT (when on) if no address is known or none answers.
  // `done` runs on an I/O thread, the DHT's thread, or inline when the answer is immediate.
  void async_connection(const NodeId& id, ConnectionHandler done);
  // Dials an address whatever node is there.
  void async_connect_address(const std::string& host_port, ConnectionHandler done);

  // `done` runs as `run_on` says (NetworkCore's async_query_node), except that an
  // outcome made inside this call goes to the handler pool, so a callback issuing its
  // next query from there cannot recurse without end; with no `run_on`, wherever the
  // outcome is made, this call included.
  void async_query(const NodeId& id, Query query, std::function<void(NetworkResult<QueryResult>)> done,
                   std::optional<RunOn> run_on = std::nullopt);
  // Asks `id` for `query`'s answer in parts (network_node_streams.cpp): `started`
  // gets the stream once the request is sent, or why it could not be.
  void async_stream_query(const NodeId& id, Query query, QueryStream::Options options,
                          QueryStream::PartHandler on_part,
                          std::function<void(NetworkResult<std::shared_ptr<QueryStream>>)> started);
  void async_list_schemas(const NodeId& id,
                          std::function<void(NetworkResult<std::vector<SchemaInfo>>)> done);

  // How queries are answered, as NetworkCore::set_query_callback or set_page_callback
  // said (one value, so a query never sees half of a change).
  enum class QueryAnswering : std::uint8_t {
    InParts,          // a page callback on the handler pool: parts under the asker's credit
    WholeOnPool,      // a query callback (it knows no positions: its answer is one reply)
    WholeOnIoThread,  // the same, declared non-blocking: answered on the strand as it is read
  };
  void answer_queries(QueryAnswering how) noexcept { answering_ = how; }

  // Runs `work` on the handler pool (inline if the node is stopped).
  void post_to_handlers(std::function<void()> work);
  // A peer's request to the handler pool, in turn with other peers' (RoundRobinQueue).
  // With a TurnScope set, a turn answers up to kMaxRequestsPerTurn of one peer's
  // waiting requests together, and the turns waiting share a scope; without, a turn
  // is one request.
  void post_peer_request(const NodeId& peer, std::function<void()> work);
  // The same for a request read from `connection`, carried in a reused slot (peer_work.hpp).
  void post_peer_request(const ConnectionPtr& connection, Message&& message, bool in_parts);
  // The same for a query still undecoded (on_incoming_query): its envelope is copied to
  // the slot and decoded by the handler thread that answers it.
  void post_peer_request(const ConnectionPtr& connection, std::span<const std::uint8_t> envelope, bool in_parts);
  // Runs around each turn from then on (NetworkCore::set_turn_scope).
  void set_turn_scope(TurnScope scope);

  // True on one of this node's I/O threads, where blocking calls would deadlock.
  bool on_io_thread() const noexcept;
  bool running() const noexcept { return running_.load(); }

  const Identity& identity() const noexcept { return identity_; }
  const NetworkConfig& config() const noexcept { return config_; }
  std::uint16_t listen_port() const noexcept { return bound_port_.load(); }
  NetworkStats stats() const;
  // The gateway's mapping of the listen port (network_node_mapping.cpp).
  PortMappingStatus port_mapping() const;
  // Every address this node announces in the DHT, with its source.
  std::vector<NodeAddress> advertised_addresses() const;
  // 0 for this node's own key, else the trust store's distance, else config().unknown_trust_distance.
  std::uint32_t trust_distance_of(const PublicKey& key) const;
  TrustStore& trust_store() noexcept { return trust_store_; }

  // Reputation (network_node_reputation.cpp): every scored subject, worst first;
  // one node's score and state; events and states counted; the operator's hand.
  std::vector<ReputationEntry> reputation() const;
  ReputationEntry reputation_of(const NodeId& node) const;
  ReputationStats reputation_stats() const;
  // `subject`: a node id or an IP. A ban closes the subject's connections at once.
  NetworkResult<void> ban(const std::string& subject, std::chrono::seconds duration);
  NetworkResult<bool> unban(const std::string& subject);
  NetworkResult<bool> reset_reputation(const std::string& subject);

  // ConnectionEvents
  void on_incoming(const ConnectionPtr& connection, Message&& message) override;
  // Queries answered on the handler pool come undecoded: decoded there, what they hold
  // is made and freed on one thread.
  bool wants_undecoded_queries() const override;
  void on_incoming_query(const ConnectionPtr& connection, const detail::UndecodedQuery& query) override;
  void expect_query(const Uuid& query_id) override;
  void on_closed(const ConnectionPtr& connection, const NetworkError& reason) override;
  // Counts each limit a peer hits (in flight, rate, memory share, closes); the
  // request rate's is called from on_incoming. The one place a peer's abuse of
  // the node's limits is seen, to feed its reputation.
  void on_limit_hit(const ConnectionPtr& connection, detail::LimitHit hit) override;

 private:
  // One Happy Eyeballs dial and one of its attempts (network_node_dial.cpp).
  struct DialRace;
  struct DialAttempt;

  // Relays (network_node_relay.cpp).
  struct HeldReservation {
    std::string relay_address;  // "host:port" others reach the relay at
    std::weak_ptr<detail::TlsConnection> connection;
  };
  void open_relay();
  void handle_relay_request(const ConnectionPtr& from, const RelayRequestMessage& request);
  asio::awaitable<void> serve_circuit_join(asio::ip::tcp::socket socket);
  void accept_invite(const ConnectionPtr& relay, const RelayRequestMessage& invite);
  asio::awaitable<void> join_circuit(std::string relay_address, NodeId relay, RelayToken token);
  void maintain_relay_reservations();
  // Relays announced in the DHT (a network-key search), made known, when the node
  // wants more than it knows of; at most once per kDhtRelaySearchGap.
  void search_dht_for_relays();
  // A connected node known at `address`, if any. Under mutex_.
  std::optional<NodeId> connected_at_locked(const std::string& address) const;
  void reserve_on(const ConnectionPtr& relay);
  std::vector<std::string> relayed_addresses_locked() const;
  void on_relay_link_closed(const ConnectionPtr& connection);
  asio::awaitable<void> relay_maintenance_loop();
  asio::awaitable<NetworkResult<ConnectionPtr>> connect_relayed(detail::RelayedAddress relayed, NodeId target,
                                                                std::shared_ptr<DialAttempt> attempt);
  // Hole punching (network_node_punch.cpp).
  struct PunchRace;
  void maybe_punch(const ConnectionPtr& connection);
  asio::awaitable<void> punch(ConnectionPtr relayed);
  void handle_hole_punch(const ConnectionPtr& from, const HolePunchMessage& request);
  asio::awaitable<std::optional<std::string>> simultaneous_open(NodeId peer, std::vector<std::string> targets,
                                                                std::uint16_t port);
  asio::awaitable<void> punch_loop(std::shared_ptr<PunchRace> race, asio::ip::tcp::endpoint target, std::string address,
                                   asio::ip::tcp::endpoint local, std::chrono::steady_clock::time_point deadline);
  std::vector<std::string> punch_addresses(std::uint16_t port) const;
  // What a punch message names: where peers dialled this node back when it is
  // reachable, else the addresses of its punch port.
  std::vector<std::string> addresses_for_punch(bool reachable, std::uint16_t port) const;
  bool reachable_now() const;
  // Reachability (network_node_reachability.cpp).
  void maintain_reachability();
  void handle_dial_back(const ConnectionPtr& from, const DialBackRequestMessage& request);
  // The node's addresses changed (a confirmed observed one, a relay reservation):
  // the LAN and the DHT hear of it.
  void announce_addresses();
  // What the node says of itself in Hellos and announcements.
  NodeCapabilities capabilities() const;

  // async_connection() without the DHT: known addresses only.
  void connect_known(const NodeId& id, ConnectionHandler done);
  // The pooled connection to `id` if one is open, else null. Every request asks for
  // its peer's connection, and most find one open: it is used whatever the peer's
  // reputation, which decides only whether this node dials.
  ConnectionPtr open_connection(const NodeId& id) const;

  // Wide-area discovery (network_node_dht.cpp).
  NetworkResult<void> open_dht();
  // Puts (again) the node's announcement with every address it can be dialled at.
  void publish_to_dht();
  // The IPs several distinct peers say they see this node at (ObservedAddresses).
  std::vector<std::string> confirmed_public_ips() const;
  // A peer's Hello said where it sees this node; a newly believed IP is announced.
  void note_observed_address(const NodeId& reporter, const std::string& reporter_ip, const std::string& observed);
  // Hands a node found in the DHT to the PeerTable; true when it brought an address not in `tried`.
  bool merge_from_dht(const discovery::DhtFoundNode& found, const std::vector<std::string>& tried);
  std::vector<std::string> addresses_known_locked(const NodeId& id) const;
  void record_dht_lookup(std::chrono::steady_clock::time_point started);
  // Asks the DHT for the network's nodes; the answer comes within dht_lookup_timeout.
  std::future<std::vector<discovery::DhtFoundNode>> ask_dht_for_network(
      const std::shared_ptr<discovery::DhtDiscovery>& dht);

  // Port mapping (network_node_mapping.cpp): started once the node runs, stopped
  // first at stop (bounded wait); a change re-announces the node's addresses.
  void open_port_mapping();
  void close_port_mapping();
  void on_port_mapping(const PortMappingStatus& status);
  // What LAN announcements carry beyond the interfaces' addresses: believed observed
  // addresses, the mapped one, the relayed ones. Under mutex_.
  std::vector<std::string> extra_addresses_locked() const;

  detail::ConnectionLimits limits() const;
  detail::HandshakeParams handshake_params(std::optional<NodeId> expected) const;
  detail::PeerTable make_peer_table();
  // What PeerTable asks about a connection; under mutex_.
  detail::LinkFacts link_facts_locked(detail::LinkId link) const;

  // Dials (network_node_dial.cpp). A dial is a PeerTable ticket; its waiters are here.
  void connect_address(const std::string& host_port, AddressSource source, ConnectionHandler done);
  void start_dial(detail::DialTicket ticket, std::optional<NodeId> expected, std::vector<std::string> addresses,
                  AddressSource source);
  void finish_dial(detail::DialTicket ticket, NetworkResult<ConnectionPtr> outcome);
  // Tries `addresses` staggered (DialPlan); the first that authenticates wins.
  asio::awaitable<void> dial(detail::DialTicket ticket, std::optional<NodeId> expected,
                             std::vector<std::string> addresses, AddressSource source);
  asio::awaitable<void> run_attempt(std::shared_ptr<DialRace> race, std::size_t index, std::string address,
                                    std::optional<NodeId> expected);
  // TCP (connect timeout), then TLS and Hello (handshake timeout) to one address,
  // direct or relayed.
  asio::awaitable<NetworkResult<ConnectionPtr>> connect_one(std::string address, std::optional<NodeId> expected,
                                                            std::shared_ptr<DialAttempt> attempt);
  asio::awaitable<NetworkResult<std::shared_ptr<asio::ip::tcp::socket>>> open_tcp(const std::string& address,
                                                                                 std::shared_ptr<DialAttempt> attempt);
  // TLS and Hello on a connected socket (as the TLS server when `inbound`).
  asio::awaitable<NetworkResult<ConnectionPtr>> secure(asio::ip::tcp::socket socket, bool inbound,
                                                       detail::HandshakeParams params,
                                                       std::shared_ptr<DialAttempt> attempt);

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve_inbound(asio::ip::tcp::socket socket, std::string ip);
  // Hands an authenticated connection to the PeerTable and carries out its verdict.
  // `dialled_address`: the address an outbound one answered at ("" for inbound, whose
  // admitted IP is `inbound_ip`). `hole_punched`: made by the hole-punch exchange.
  // At the end that answered a hole punch's Connect saying it can be dialled: the
  // peer's dial back (a connection reversal) comes in as an ordinary inbound
  // connection while the relayed one is still in use. Takes the expectation (one
  // dial back per Connect). Under mutex_.
  bool take_punch_reversal_locked(const detail::TlsConnection& connection);
  NetworkResult<ConnectionPtr> adopt(const ConnectionPtr& connection, const std::string& dialled_address,
                                     AddressSource source, const std::string& inbound_ip, bool hole_punched = false);
  NetworkResult<void> open_listener();
  // Where one connection's or one task's handlers run, one at a time: a strand when
  // several I/O threads share the io_context; with a single I/O thread (the default)
  // the io_context itself, which already runs one handler at a time, so every
  // completion is spared the strand's lock and queue. Then work co_spawn()ed from the
  // I/O thread starts inline, up to its first wait (a new strand starts it later):
  // callers hold no lock when they spawn.
  asio::any_io_executor serial_executor() const;
  // The executor for the node's I/O work: the io_context's, or on shared threads the
  // current run's (run_executor.hpp).
  asio::any_io_executor io_executor() const;
  NetworkResult<void> open_io();
  void end_io_work();  // no work of the node runs on its I/O threads after this
  void close_io();
  NetworkResult<void> open_discovery();
  void on_discovery_event(DiscoveryEvent event, const NodeInfo& node);

  // One query this node asks a peer, from async_query to its completion
  // (network_node_ask.cpp): what the steps of asking need, held once, so a query
  // passes through one callback rather than one per step.
  struct OutgoingQuery;
  // Sends `call` on the pooled connection; once more on a new connection if the
  // first was closed by the peer to make room before the request reached it.
  void send_query(std::shared_ptr<OutgoingQuery> call);
  void send_query_on(std::shared_ptr<OutgoingQuery> call, const ConnectionPtr& connection);
  void on_query_outcome(std::shared_ptr<OutgoingQuery> call, NetworkResult<QueryResult>&& outcome);
  void finish_query(OutgoingQuery& call, NetworkResult<QueryResult>&& outcome);
  // A request this node sent (a query, a listing) ended: its counters and latency.
  void count_request_end(bool answered, std::chrono::steady_clock::time_point started);
  void send_list_schemas(const NodeId& id, std::function<void(NetworkResult<std::vector<SchemaInfo>>)> done,
                         bool may_resend);

  // Per-peer request rate: how long to read nothing more from `peer` (zero while
  // within max_requests_per_second_per_peer; its token debt past it).
  std::chrono::steady_clock::duration admit_request(const NodeId& peer);
  // on_incoming after its counters: refuses a request while stopping, holds one over its
  // peer's rate (serve_after), serves the rest.
  void take_incoming(const ConnectionPtr& connection, Message&& message);
  // Serves a request over its peer's rate once its token debt is paid, reading nothing
  // more from the connection until then.
  void serve_after(const ConnectionPtr& connection, Message&& message, std::chrono::steady_clock::duration debt);
  // on_incoming's second half: answers a request (admitted by its rate) or takes an announcement.
  void serve_incoming(const ConnectionPtr& connection, Message&& message);
  // A request for the services (query, schema listing) answered on this thread;
  // `on_strand`: the connection's, with no lock held, so the reply is queued at once.
  void answer_request(const ConnectionPtr& connection, Message&& message, bool on_strand);

  // Streamed answers (network_node_streams.cpp; services/answer_stream.hpp).
  // Answers `query` (stream_window > 0) in parts; on the handler pool.
  void start_answer_stream(const ConnectionPtr& connection, Message message);  // holds a QueryMessage
  void on_query_credit(const ConnectionPtr& connection, const QueryCreditMessage& credit);
  // The answers still being sent on `connection` stop (it closed).
  void cancel_answer_streams(const detail::TlsConnection* connection);
  void forget_answer_stream(const Uuid& query_id);
  // The request for `query` with this node's trust proof (unsigned: for a direct connection).
  QueryMessage make_query_request(Query&& query) const;
  // Gives `request` (its query set) a fresh id and this node's proof: each send of a
  // query is a new request.
  void stamp_query_request(QueryMessage& request) const;

  // Reputation (network_node_reputation.cpp).
  bool is_trusted(const NodeId& node) const;
  // What the peer on `connection` did; closes it if that got it banned.
  void record_peer_event(const ConnectionPtr& connection, detail::PeerEvent event, unsigned times = 1);
  // `done`, after charging the peer a Timeout if the request timed out while the
  // peer kept talking on the connection: alive, yet it did not answer. A peer that
  // went silent altogether (a partition, a crash) is not charged: that is the
  // network's doing, and the connection's health check ends it.
  template <class Result>
  std::function<void(NetworkResult<Result>)> charging_timeouts(const ConnectionPtr& connection,
                                                               std::function<void(NetworkResult<Result>)> done) {
    return [self = shared_from_this(), sent = RequestSent(*connection), connection,
            done = std::move(done)](NetworkResult<Result> outcome) {
      if (!outcome) self->charge_if_ignored(connection, sent, outcome.error());
      done(std::move(outcome));
    };
  }
  // When a request went out, for charge_if_ignored. The coarse clock: a deadline of
  // seconds is told from a Timeout reply well within its tick.
  struct RequestSent {
    RequestSent() = default;
    explicit RequestSent(const detail::TlsConnection& connection)
        : heard_before(connection.last_received_ns()), at(detail::coarse_steady_now()) {}
    std::int64_t heard_before = 0;
    std::chrono::steady_clock::time_point at{};
  };
  // charging_timeouts' test: the request failed with this node's own deadline (not the
  // peer's Timeout reply, an answer if a sad one) while the peer kept talking.
  void charge_if_ignored(const ConnectionPtr& connection, const RequestSent& sent, const NetworkError& error);
  // `addresses` of one node, the best-scored hosts first, avoided or banned ones last.
  std::vector<std::string> by_reputation(std::vector<std::string> addresses) const;
  // A request within the peer's limits, credited at the next tick.
  void note_good_request(const NodeId& peer);
  void reputation_tick();
  asio::awaitable<void> reputation_loop();
  void close_banned_connections();

  // Redial (network_node_redial.cpp; see NetworkConfig::redial_*).
  void schedule_redial_locked(const detail::RedialOrder& order);
  void redial(const NodeId& id, std::uint64_t generation);
  void dial_bootstrap_peer(std::string address);

  const NetworkConfig config_;
  const Identity identity_;
  // identity_'s key as a query's pub_key carries it, encoded once: every query sends it.
  const std::string public_key_text_;
  const std::shared_ptr<asio::ssl::context> tls_;
  // Mutable: trust_distance_of() picks up changes another process made to the file.
  mutable TrustStore trust_store_;
  std::shared_ptr<QueryService> query_service_;
  std::shared_ptr<SchemaService> schema_service_;
  MessageRouter router_;
  std::atomic<QueryAnswering> answering_{QueryAnswering::InParts};

  std::mutex lifecycle_mutex_;  // start() / stop()
  // Where the node's I/O runs while it runs: an io_context of its own (own_io_, run
  // by io_threads_), or the one of the IoThreads it shares (shared_io_), where each
  // run's work goes through a RunExecutor (run_) so that stop() can end it.
  asio::io_context* io_ = nullptr;
  std::size_t io_thread_count_ = 1;  // how many threads run io_
  std::unique_ptr<asio::io_context> own_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> io_threads_;
  // From the config, held weakly: a stopped node, and what it left queued on the
  // threads, does not keep them running.
  const bool shares_io_;
  const std::weak_ptr<IoThreads> shared_io_config_;
  std::shared_ptr<IoThreads> shared_io_;
  std::shared_ptr<detail::NodeRun> run_;
  std::atomic<const void*> shared_group_{nullptr};  // the shared threads' io_thread_group(), while running
  std::unique_ptr<asio::thread_pool> handlers_;
  // Peers' requests waiting for a handler thread, taken a peer's turn at a time.
  // A turn is capped so a peer with a backlog delays another by a few requests at most;
  // a run takes several turns before it lets the pool's other work go.
  static constexpr std::size_t kMaxRequestsPerTurn = 16;
  static constexpr std::size_t kTurnsPerRun = 16;
  // With a TurnScope, the turns waiting are taken into one scope up to this many
  // requests: a store's transaction then begins and ends once for several peers.
  static constexpr std::size_t kMaxRequestsPerScope = 64;
  // A runner that finds no work waiting looks again for this long, yielding its core to
  // other threads meanwhile, before it lets its thread sleep. A client waiting for each
  // answer before it asks again, or a load of many, sends the next request sooner than
  // this; a sleeping thread would cost that request a futex wake, two context switches
  // and the time the thread takes to be scheduled. A node between bursts of requests
  // spends up to this much yielding at the end of each, and the pool's other work
  // (completions of the node's own requests) may wait that much more for the thread.
  static constexpr std::chrono::microseconds kRunnerLinger{100};
  void run_peer_turns();
  // Yields this thread until peer_work_waiting_ says work came, or kRunnerLinger passed.
  void linger_for_peer_work() const;
  // Answers `requests`, several peers' turns back to back (each ending at the next of
  // `turn_ends`), inside one `scope` if there is one; each turn's replies are handed
  // over when it ends.
  void take_turns(std::vector<detail::PeerWork>& requests, const std::vector<std::size_t>& turn_ends,
                  const TurnScope* scope);
  void answer_incoming(detail::IncomingRequest& request);
  // Fills a request slot (`fill`, under peer_work_mutex_) and queues it for the pool.
  template <class Fill>
  void post_incoming_request(const ConnectionPtr& connection, bool in_parts, Fill&& fill);
  // Queues `work` (under peer_work_mutex_); true if a runner must be started for it.
  bool queue_peer_work_locked(const NodeId& peer, detail::PeerWork work);
  std::mutex peer_work_mutex_;
  detail::RoundRobinQueue<NodeId, detail::PeerWork> peer_work_;
  detail::RequestSlots request_slots_;  // under peer_work_mutex_
  std::size_t peer_turn_runners_ = 0;  // run_peer_turns posted or running (under peer_work_mutex_)
  // Whether peer_work_ holds work, as of the last change under peer_work_mutex_: what a
  // lingering runner watches without taking the lock.
  std::atomic<bool> peer_work_waiting_{false};
  std::shared_ptr<const TurnScope> turn_scope_;  // null: none (under peer_work_mutex_)
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  // Set and reset under mutex_; callers copy it, so a stop() in between is harmless.
  std::shared_ptr<NodeDiscovery> discovery_;
  std::shared_ptr<discovery::DhtDiscovery> dht_;  // likewise
  std::atomic<bool> running_{false};
  std::atomic<bool> handlers_joined_{false};  // stop() has drained the handler pool
  std::atomic<std::uint16_t> bound_port_{0};

  // Streamed answers being sent, by query id, with the connection they go on (a
  // credit from any other connection is not theirs).
  struct AnswerStreamEntry {
    const detail::TlsConnection* connection = nullptr;
    std::shared_ptr<detail::AnswerStream> stream;
  };
  std::mutex answer_streams_mutex_;
  std::unordered_map<Uuid, AnswerStreamEntry, detail::KeyedUuidHash> answer_streams_;  // ids peers chose

  mutable std::mutex mutex_;  // guards everything below; never held across I/O or callbacks
  // Who is known, connected, dialled, redialled; decides, holds no socket.
  detail::PeerTable peers_;
  // The connections behind the table's LinkIds: every adopted one not yet closed.
  std::unordered_map<detail::LinkId, ConnectionPtr> links_;
  std::unordered_map<const detail::TlsConnection*, detail::LinkId> link_ids_;
  detail::LinkId next_link_id_ = 1;
  std::unordered_map<detail::DialTicket, std::vector<ConnectionHandler>> dial_waiters_;
  std::uint64_t closed_protocol_violations_ = 0;  // of connections already gone
  // Where peers say they see this node; believed on the word of several (section 10.1).
  detail::ObservedAddresses observed_;
  // Set and reset under mutex_ (by start() and stop()); its own thread does the work.
  std::shared_ptr<reachability::PortMapper> port_mapper_;
  // "ip:port" the gateway maps to the listen port, "" for none.
  std::string mapped_address_;
  // When each id was last looked up in the DHT (bounded; see network_node_dht.cpp).
  std::unordered_map<NodeId, std::chrono::steady_clock::time_point> dht_lookups_;
  // How long the node's DHT lookups took (DhtStats::lookup_latency_*), under mutex_.
  std::array<std::uint64_t, DhtStats::kLookupBucketsMs.size()> dht_lookup_buckets_{};
  std::uint64_t dht_lookup_count_ = 0;
  std::uint64_t dht_lookup_sum_ms_ = 0;

  // Relaying for others (config().relay), and this node's reservations at relays.
  std::shared_ptr<detail::RelayServer> relay_server_;
  std::unordered_map<NodeId, HeldReservation> relay_reservations_;
  std::unordered_set<NodeId> relay_reservations_pending_;
  std::unordered_set<std::string> relay_addresses_pending_;
  std::optional<std::chrono::steady_clock::time_point> dht_relay_search_at_;
  // Hole punches: the port this node named to each peer, and peers being punched to.
  std::unordered_map<NodeId, std::uint16_t> punch_ports_;
  std::unordered_set<NodeId> punching_;
  // Peers told this node can be dialled (a Connect answered `reachable`): until when
  // an inbound connection from them is their dial back, the punch's.
  std::unordered_map<NodeId, std::chrono::steady_clock::time_point> reversals_expected_;
  // What dial-backs by peers found.
  detail::Reachability reachability_{config_.reachability_interval};

  // Dial-backs this node runs for peers, and their rate per asking IP.
  std::mutex dial_back_mutex_;
  std::size_t dial_back_in_flight_ = 0;
  std::unordered_map<std::string, detail::TokenBucket> dial_back_buckets_;

  // Taken on I/O threads for every request a peer sends; never held with mutex_.
  std::mutex rate_mutex_;
  std::unordered_map<NodeId, detail::TokenBucket> request_buckets_;
  std::unordered_map<NodeId, std::uint64_t> good_requests_;  // since the last reputation tick

  // What the node thinks of its peers; outlives start/stop, persisted in its file.
  std::unique_ptr<detail::ReputationKeeper> reputation_;

  // Shared by every connection (transport/memory_budget.hpp).
  const std::shared_ptr<detail::MemoryBudget> budget_ =
      std::make_shared<detail::MemoryBudget>(config_.memory_budget_bytes, config_.max_connections);

  struct Counters {
    std::atomic<std::uint64_t> inbound_accepted{0};
    std::atomic<std::uint64_t> outbound_dialled{0};
    std::atomic<std::uint64_t> handshake_failures{0};
    std::atomic<std::uint64_t> requests_sent{0};
    std::atomic<std::uint64_t> requests_received{0};
    std::atomic<std::uint64_t> requests_failed{0};
    std::atomic<std::uint64_t> queries_answered{0};
    std::atomic<std::uint64_t> queries_refused{0};
    std::atomic<std::uint64_t> schema_listings_answered{0};
    std::atomic<std::uint64_t> schema_listings_refused{0};
    std::atomic<std::uint64_t> trust_refusals{0};
    std::atomic<std::uint64_t> requests_pending{0};
    std::atomic<std::uint64_t> requests_rate_limited{0};
    std::atomic<std::uint64_t> requests_in_flight_limited{0};
    std::atomic<std::uint64_t> backpressure_pauses{0};
    std::atomic<std::uint64_t> connections_closed_over_budget{0};
    std::atomic<std::uint64_t> redials{0};
    std::atomic<std::uint64_t> connections_evicted{0};
    std::atomic<std::uint64_t> connections_refused{0};
    std::atomic<std::uint64_t> relayed_connections{0};
    std::atomic<std::uint64_t> hole_punches_succeeded{0};
    std::atomic<std::uint64_t> hole_punches_failed{0};
    std::atomic<std::uint64_t> dial_backs_answered{0};
    std::atomic<std::uint64_t> dial_backs_refused{0};
    std::atomic<std::uint64_t> dial_back_probes_received{0};
    // Each request counts once, in the first bucket it fits; stats() sums them into
    // the cumulative histogram NetworkStats reports.
    std::array<std::atomic<std::uint64_t>, NetworkStats::kLatencyBucketsUs.size()> latency_buckets{};
    std::atomic<std::uint64_t> latency_count{0};
    std::atomic<std::uint64_t> latency_sum_us{0};
  };
  void record_reply(const ConnectionPtr& connection, const Message& request, const std::optional<Message>& reply);
  void record_latency(std::chrono::steady_clock::time_point started);
  mutable Counters counters_;
};

}  // namespace datafold::net
