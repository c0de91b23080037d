// TlsConnection: the Connection over TCP + TLS 1.3. One reader and one writer
// coroutine on the connection's strand; everything mutable below is touched only
// on that strand, except the atomics that other threads read.
//
// Where things are: tls_handshake.cpp (TLS, peer key, Hello exchange),
// tls_connection.cpp (reading, dispatching, writing, requests, closing),
// tls_health.cpp (request deadlines, pings, idle close; the decisions are
// ConnectionHealth's, transport/connection_health.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>

#include "datafold/net/connection.hpp"
#include "datafold/net/identity.hpp"
#include "datafold/net/message_codec.hpp"
#include "datafold/net/node_info.hpp"
#include "core/coarse_clock.hpp"
#include "core/pending_requests.hpp"
#include "transport/connection_health.hpp"
#include "transport/memory_budget.hpp"
#include "transport/tls_socket.hpp"

namespace datafold::net::detail {

class TlsConnection;

struct ConnectionLimits {
  std::size_t max_frame_bytes = kDefaultMaxFrameBytes;
  std::size_t max_in_flight = 1024;            // each direction
  std::size_t max_write_queue_bytes = 32u << 20;
  std::chrono::milliseconds ping_interval{30'000};
  std::chrono::milliseconds idle_timeout{300'000};
  // The node's memory budget, shared by all its connections; null: not counted.
  std::shared_ptr<MemoryBudget> budget;
  // A connection whose reader is paused because its peer does not read its
  // replies (it holds its share) is closed after this long.
  std::chrono::milliseconds stall_timeout{20'000};
};

// Why a connection slowed or closed its peer: for counters and the peer's reputation.
enum class LimitHit {
  InFlight,      // the peer has max_in_flight requests unanswered: reading paused
  Rate,          // over its request rate: served, reading paused for the token debt (the node's)
  Backpressure,  // holds its memory share, or the node's budget is spent: reading paused
  Stalled,       // paused past stall_timeout without draining: closed
  OverBudget,    // the node's budget spent while it held more than its share (or a backlog): closed
};
const char* to_string(LimitHit hit) noexcept;

// What we say about ourselves in the Hello, and what we require of the peer.
struct HandshakeParams {
  NodeId local_id;
  std::string network_name;
  std::string agent;
  NodeCapabilities capabilities;
  std::uint16_t listen_port = 0;
  std::uint32_t min_version = kMinProtocolVersion;
  std::uint32_t max_version = kMaxProtocolVersion;
  std::optional<NodeId> expected_peer;  // dialling a known id
  // The connection runs through a circuit of this relay (its socket goes to the
  // relay): the peer's address as the socket sees it is the relay's, so none is
  // reported to the peer as its observed address.
  std::optional<NodeId> relayed_via;
  // The external address of this node's port mapping, told to the peer ("": none).
  std::string mapped_address;
  // Dialled only to answer a DialBack: the Hello says so, and the peer closes it.
  bool dial_back_probe = false;
  // Peers refused as soon as their key is proven, before any Hello (reputation's
  // bans): the peer is sent a PERMISSION_DENIED Error instead, and the handshake
  // fails with that code. Empty: none.
  std::function<bool(const NodeId&)> refuse_peer{};
  std::chrono::milliseconds timeout{10'000};
};

// A query as it came off the wire, not yet decoded (ConnectionEvents::on_incoming_query):
// its envelope's bytes, which live only for the call, and its stream window, which
// peek_hot_query read.
struct UndecodedQuery {
  std::uint32_t stream_window = 0;
  std::span<const std::uint8_t> envelope;
};

// How a connection reports to whoever owns it. Called on the connection's strand.
class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  // A request (Query, ListSchemasRequest) or a one-way message (NodeAnnouncement).
  // A request must be answered with TlsConnection::respond().
  virtual void on_incoming(const std::shared_ptr<TlsConnection>& connection, Message&& message) = 0;
  // Whether queries are to come undecoded, to on_incoming_query: for an owner that
  // answers them on other threads and decodes them there, so that what a query holds
  // is allocated and freed on one thread (glibc's caches are per thread: memory made
  // on one and freed on another costs both a trip through its arena and its lock).
  // Asked once, when the connection starts: on_incoming_query must take a query
  // whatever the owner would answer now.
  virtual bool wants_undecoded_queries() const { return false; }
  // A query, undecoded (after wants_undecoded_queries()): a request like any other,
  // answered with respond(), or with refuse_undecodable() if it turns out not to decode.
  virtual void on_incoming_query(const std::shared_ptr<TlsConnection>& connection, const UndecodedQuery& query) {
    (void)connection;
    (void)query;
  }
  // A query with this id has come and is about to be decoded and delivered, if it
  // decodes (hot_query_id): a hint, for work that may start early.
  virtual void expect_query(const Uuid& query_id) { (void)query_id; }
  virtual void on_closed(const std::shared_ptr<TlsConnection>& connection, const NetworkError& reason) = 0;
  // The connection paused reading from its peer, or closed it, to hold a limit
  // (once per pause, not per frame). Before on_closed for the closing kinds.
  virtual void on_limit_hit(const std::shared_ptr<TlsConnection>& connection, LimitHit hit) {
    (void)connection;
    (void)hit;
  }
};

class TlsConnection final : public Connection, public std::enable_shared_from_this<TlsConnection> {
 public:
  using Clock = std::chrono::steady_clock;
  // What "now" is for the connection's health and deadlines (last received, pings,
  // RTT, idle close, request deadlines). Timers still wait in real time; tests
  // that need a fake clock drive ConnectionHealth directly. Called on the strand
  // and, for is_healthy(), on any thread.
  using ClockFn = std::function<Clock::time_point()>;

  // `socket` must already be connected and bound to an executor that runs one handler
  // at a time (a strand, or an io_context run by a single thread). An empty
  // `clock` reads std::chrono::steady_clock.
  TlsConnection(asio::ip::tcp::socket socket, asio::ssl::context& tls, bool inbound,
                ConnectionLimits limits, ClockFn clock = {});
  ~TlsConnection() override;

  // TLS handshake, peer key check, Hello exchange, all under params.timeout.
  // On failure the socket is closed; the error says why (Authentication, Timeout, Protocol...).
  asio::awaitable<NetworkResult<void>> handshake(HandshakeParams params);

  // After a successful handshake: starts the reader, writer and health timer.
  void start(std::weak_ptr<ConnectionEvents> events);

  // Answers an incoming request (frees its in-flight slot). Thread-safe. Within a
  // ReplyBatch on this thread, the reply waits in the batch until its turn ends.
  void respond(const Message& reply);
  // The same, queued at once: only on the connection's strand, and with no lock held
  // that on_closed() or a completion could want (queueing may close the connection).
  void respond_on_strand(const Message& reply);
  // Instead of an answer, for a request delivered undecoded (on_incoming_query) that
  // does not decode: the peer gets the InvalidMessage Error of any frame that does not
  // decode, and it counts as a protocol violation as such a frame does. Thread-safe.
  void refuse_undecodable(NetworkError error);
  // Sends a part of a streamed answer that is not its last; the last goes by
  // respond(), which frees the request's slot. Thread-safe.
  void send_part(const Message& part);
  // Connection: a request answered in parts (a streamed query).
  void request_parts(const Message& request, Completion on_part, std::chrono::milliseconds part_timeout) override;
  // For a node that is stopping: fails every pending outgoing request with `reason`
  // and refuses new ones, but keeps the connection up so replies to the peer's
  // requests still go out. Thread-safe; `done` runs on the connection's strand.
  void stop_requests(NetworkError reason, std::function<void()> done);
  // Sends what is queued, then closes; `closed` runs once it is closed. Thread-safe.
  void close_gracefully(NetworkError reason, std::function<void()> closed);

  // Closes an idle connection to make room for another: tells the peer so (an Error
  // {ResourceExhausted} with no related id, PROTOCOL.md section 9), flushes, closes.
  // The peer closes its side and does not count it a failure. Thread-safe.
  void release_for_room();

  // Marks this a duplicate of another connection to the same peer: no new requests;
  // closed once nothing is pending if we dialled it, by the peer otherwise.
  void supersede();

  // The peer's Hello. Its observed_address is where the peer saw this node's
  // connection come from ("ip:port"; "" from a peer that does not say).
  const HelloMessage& peer_hello() const noexcept { return peer_hello_; }
  // The relay this connection runs through; nullopt for a direct connection.
  const std::optional<NodeId>& relayed_via() const noexcept { return relayed_via_; }
  // How the connection was made (Relayed when relayed_via(), else Direct unless the
  // node that made it says otherwise, once, before start(): a mapped address dialled,
  // a hole punched).
  ConnectionPath path() const noexcept { return relayed_via_ ? ConnectionPath::Relayed : path_; }
  void set_path(ConnectionPath path) noexcept { path_ = path; }
  std::optional<std::chrono::microseconds> last_rtt() const noexcept;
  // True when the connection ended because of the peer or the network, not by our choice.
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
  // Nothing in flight either way: closing it now loses nothing.
  bool idle() const noexcept { return pending_count_.load(std::memory_order_relaxed) == 0 && incoming_in_flight_.load() == 0; }
  // When a request or reply last went either way (pings aside), as nanoseconds
  // since the epoch of the connection's clock: for comparing connections.
  std::int64_t last_activity_ns() const noexcept { return last_activity_ns_.load(std::memory_order_relaxed); }
  // When anything (pongs included) last arrived from the peer, on the same clock.
  std::int64_t last_received_ns() const noexcept { return last_received_ns_.load(std::memory_order_relaxed); }
  // Bad frames and envelopes the peer has sent (answered with an Error, or the close).
  unsigned protocol_violations() const noexcept { return protocol_violations_.load(std::memory_order_relaxed); }
  const asio::any_io_executor& executor() const noexcept { return strand_; }

  // Connection
  const NodeId& node_id() const noexcept override { return peer_id_; }
  const PublicKey& peer_public_key() const noexcept override { return peer_key_; }
  std::uint32_t protocol_version() const noexcept override { return version_; }
  std::string remote_address() const override { return remote_address_; }
  bool inbound() const noexcept override { return inbound_; }
  ConnectionState state() const noexcept override { return state_.load(std::memory_order_acquire); }
  bool is_healthy() const noexcept override;
  std::size_t pending_requests() const noexcept override {
    return pending_count_.load(std::memory_order_relaxed);
  }
  void request(const Message& request, Completion done, std::chrono::milliseconds timeout) override;
  void send_message(const Message& message) override;
  void close() override;
  std::shared_ptr<MemoryBudget> memory_budget() const noexcept override { return limits_.budget; }

  // Pauses reading from the peer for `wait` (on the strand, e.g. from
  // ConnectionEvents::on_incoming): the request rate's token debt.
  void pause_reading_for(Clock::duration wait);
  // Bytes this connection holds against the node's budget.
  std::size_t budget_held() const noexcept { return budget_held_.load(std::memory_order_relaxed); }

  // Closes with `reason` (on the strand). Pending requests fail with it. `failure`:
  // the peer or the network ended it, rather than this node's choice.
  void close_with(NetworkError reason, bool failure = false);

 private:
  // Appends `reply`'s frame to `frame` (or, too large, an Error saying so).
  void encode_reply(const Message& reply, std::string& frame) const;
  // On the strand: queues an encoded reply and releases what its request held.
  void queue_reply(std::string_view frame);
  // From any thread: queue_reply for each of the frames, back to back in `frames`,
  // in one post to the strand (ReplyBatch hands a turn's replies over so).
  friend class ReplyBatch;
  void queue_replies(std::string frames, std::vector<std::uint32_t> sizes);
  void send_request(const Message& request, Completion done, std::chrono::milliseconds timeout, bool in_parts);
  // What start_request needs of a request besides its frame.
  struct OutgoingRequest {
    Uuid id;
    std::chrono::milliseconds timeout;
    bool liveness = false;  // a Ping: not activity of the connection's own
    bool in_parts = false;
  };
  // On the strand: checks the connection can take the request, then takes `done`
  // (moved from) and queues `frame`; or says why not, leaving `done` to the caller.
  NetworkResult<void> start_request(const OutgoingRequest& about, std::string_view frame, Completion& done);
  // The caller runs on this connection's I/O thread (its executor is a single-threaded io_context).
  bool on_own_thread() const noexcept;
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  // Lets go of the write buffers grown past what an idle connection keeps that hold
  // nothing now (the writer has been quiet for a while, or memory is short). True
  // if it let go of any.
  bool release_big_write_buffers();
  // The same for writing_ alone, when no write is using it.
  bool release_idle_writing_buffer();
  // Frees `buffer` and what the account holds for it (`charged`, then 0).
  void release_write_buffer(std::string& buffer, std::size_t& charged);
  asio::awaitable<NetworkResult<Message>> read_one_message();
  // Waits while the reader must not read (see pause_reason); false once closed.
  asio::awaitable<bool> wait_while_paused();
  std::optional<LimitHit> pause_reason();  // and clears a rate pause that is over
  void limit_hit(LimitHit hit);
  void wake_reader() { resume_timer_.cancel(); }
  // The budget charge of what the peer sent and is not yet decoded, set to what the decoder buffers.
  void settle_read_charge();
  void publish_held() { budget_held_.store(account_.held(), std::memory_order_relaxed); }
  asio::awaitable<NetworkResult<void>> write_now(const Message& message);

  void handle_frame(std::span<const std::uint8_t> payload);
  // `request_bytes`: the frame's size, charged to a request until it is answered.
  // `events`: the owner, if handle_frame locked it already; locked here if needed.
  void dispatch(Message&& message, std::size_t request_bytes, std::shared_ptr<ConnectionEvents> events);
  // A request comes in: it is in flight, and its `request_bytes` move from the read
  // buffer's charge to its own until it is answered (request_done).
  void request_taken(std::size_t request_bytes);
  // A request is answered (or refused): releases its share of what requests hold.
  void request_done();
  // A frame that does not decode: an InvalidMessage Error, and the close at too many.
  void refuse_frame(const NetworkError& error);
  void enqueue_frame(std::string_view frame);
  void send_error(ErrorCode code, std::string text, std::optional<Uuid> related);
  void close_after_flush(NetworkError reason);
  void arm_deadline_timer();
  // After a request's deadline was set to `deadline`: arms the timer only if it would
  // fire later (arm_deadline_timer_for in tls_health.cpp says why).
  void arm_deadline_timer_for(Clock::time_point deadline);
  void on_health_tick();
  void schedule_health_tick();
  void send_ping();
  void sync_pending_count() { pending_count_.store(pending_.size(), std::memory_order_relaxed); }
  void note_received();
  // Activity is noted several times per request, mostly from the coarse clock: against
  // the idle timeout a few milliseconds do not matter. A request sent and any message
  // received are noted at the precise time (a message received: the time its read
  // took, health_.last_received()): eviction takes the least recently used idle
  // connection, and at the coarse clock's ticks a connection used a moment ago would
  // tie with one not used since it opened.
  void note_activity() { note_activity(clock_ ? clock_() : detail::coarse_steady_now()); }
  void note_activity(Clock::time_point now);
  Clock::time_point now() const { return clock_ ? clock_() : Clock::now(); }

  const ClockFn clock_;  // empty: steady_clock (or the coarse clock, where it says so)
  TlsSocket stream_;
  // The socket's executor (a strand, or a single-threaded io_context's), so every
  // handler of this connection is serialized; "the strand" below means this.
  asio::any_io_executor strand_;
  const bool inbound_;
  const ConnectionLimits limits_;
  std::weak_ptr<ConnectionEvents> events_;
  bool undecoded_queries_ = false;  // the owner's wants_undecoded_queries(), at start()

  // Set by the handshake, then constant.
  NodeId peer_id_;
  PublicKey peer_key_;
  HelloMessage peer_hello_;
  std::uint32_t version_ = 0;
  std::string remote_address_;  // as the socket saw it; IPv4 peers of a dual-stack listener unmapped
  std::optional<NodeId> relayed_via_;
  ConnectionPath path_ = ConnectionPath::Direct;

  std::atomic<ConnectionState> state_{ConnectionState::Handshaking};
  std::atomic<std::size_t> pending_count_{0};
  std::atomic<std::int64_t> last_received_ns_{0};
  std::atomic<std::int64_t> last_rtt_us_{-1};
  std::atomic<bool> failed_{false};

  FrameDecoder decoder_;
  std::string outbox_;   // frames waiting for the writer
  std::string writing_;  // frames the writer is sending now
  bool write_in_progress_ = false;
  bool closing_ = false;  // flush what is queued, then close
  bool requests_stopped_ = false;
  bool released_by_peer_ = false;  // the peer closed it to make room: no failure of theirs
  std::vector<std::function<void()>> close_waiters_;
  NetworkError closing_reason_;
  asio::steady_timer writer_wakeup_;

  PendingRequests pending_;
  asio::steady_timer deadline_timer_;
  std::optional<Clock::time_point> armed_deadline_;

  std::atomic<std::size_t> incoming_in_flight_{0};  // written on the strand, read by the pool
  std::atomic<unsigned> protocol_violations_{0};  // written on the strand, read by stats
  bool handshake_timed_out_ = false;

  // The handshake's watchdog, then the health tick, then the flush deadline of a close.
  asio::steady_timer health_timer_;
  ConnectionHealth health_;
  // ConnectionHealth's times, published for other threads.
  std::atomic<std::int64_t> last_activity_ns_{0};

  // Memory budget (transport/memory_budget.hpp). The account holds the bytes of
  // the write queue (outbox_ + writing_), of received bytes not yet decoded
  // (read_charged_), and of requests being answered (incoming_bytes_, their sum).
  BudgetAccount account_;
  std::size_t read_charged_ = 0;
  std::size_t incoming_bytes_ = 0;
  std::atomic<std::size_t> budget_held_{0};
  // Running mean of this connection's reply frames: what each request in flight
  // will add to the write queue once answered. Before the first reply, a guess
  // on the large side, so a peer cannot commit the node to many big replies
  // before the first one is seen.
  std::size_t reply_bytes_mean_ = 16 * 1024;
  // What the account holds for outbox_ and writing_: their capacity, not just
  // their size (a queue grown by doubling holds up to twice what it queues).
  std::size_t outbox_charged_ = 0;
  // Writes completed: a paused reader whose replies still drain is slow, not stalled.
  std::uint64_t writes_done_ = 0;
  std::size_t writing_charged_ = 0;
  Clock::time_point rate_resume_at_{};
  asio::steady_timer resume_timer_;
};

}  // namespace datafold::net::detail
