#include "transport/tls_connection.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/endpoint.hpp"
#include "transport/tls_context.hpp"

namespace datafold::net::detail {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;

constexpr std::size_t kReadChunkBytes = 16 * 1024;
// Buffers bigger than this are released once drained, so a burst does not pin memory.
constexpr std::size_t kKeptBufferBytes = 64 * 1024;
// Frames that fail to decode before the connection is closed.
constexpr unsigned kMaxProtocolViolations = 3;
// A connection asked to close after flushing gets this long to do so.
constexpr std::chrono::seconds kFlushDeadline{5};
constexpr unsigned kMaxMissedPongs = 3;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t wall_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

NetworkError connection_error(const std::string& what, const std::error_code& ec) {
  return make_error(ErrorKind::Connection, what + ": " + ec.message());
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

// ------------------------------------------------------------------ connection

TlsConnection::TlsConnection(asio::ip::tcp::socket socket, asio::ssl::context& tls, bool inbound,
                             ConnectionLimits limits)
    : stream_(std::move(socket), tls),
      strand_(stream_.get_executor()),
      inbound_(inbound),
      limits_(limits),
      decoder_(limits.max_frame_bytes),
      writer_wakeup_(strand_),
      deadline_timer_(strand_),
      health_timer_(strand_),
      last_activity_(Clock::now()) {
  std::error_code ec;
  remote_address_ = format_endpoint(stream_.lowest_layer().remote_endpoint(ec));
  stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ec);
  last_received_ns_ = now_ns();
  last_activity_ns_ = now_ns();
}

TlsConnection::~TlsConnection() = default;

// ------------------------------------------------------------------ handshake

asio::awaitable<NetworkResult<Message>> TlsConnection::read_one_message() {
  std::span<const std::uint8_t> payload;
  for (;;) {
    switch (decoder_.next(payload)) {
      case FrameDecoder::Status::Frame:
        co_return decode_envelope(payload);
      case FrameDecoder::Status::TooLarge:
        co_return make_error(ErrorKind::Protocol, "handshake frame too large", ErrorCode::ProtocolError);
      case FrameDecoder::Status::NeedMore:
        break;
    }
    auto buf = decoder_.prepare(kReadChunkBytes);
    auto [ec, n] = co_await stream_.read_some(buf);
    if (ec) co_return connection_error("connection lost during handshake", ec);
    decoder_.commit(n);
  }
}

asio::awaitable<NetworkResult<void>> TlsConnection::write_now(const Message& message) {
  std::string frame;
  append_frame(message, frame);
  auto [ec, n] = co_await stream_.write_all(bytes_of(frame));
  if (ec) co_return connection_error("connection lost during handshake", ec);
  co_return NetworkResult<void>{};
}

asio::awaitable<NetworkResult<void>> TlsConnection::handshake(HandshakeParams params) {
  auto self = shared_from_this();
  bool& timed_out = handshake_timed_out_;
  // One deadline for the whole handshake: TLS, then Hello both ways. The watchdog
  // closes the socket, which ends whichever operation is waiting.
  health_timer_.expires_after(params.timeout);
  health_timer_.async_wait([self](std::error_code ec) {
    if (ec || self->state() != ConnectionState::Handshaking) return;
    self->handshake_timed_out_ = true;
    std::error_code ignored;
    self->stream_.lowest_layer().close(ignored);
  });
  auto fail = [&](NetworkError error) -> NetworkResult<void> {
    health_timer_.cancel();
    std::error_code ignored;
    stream_.lowest_layer().close(ignored);
    state_ = ConnectionState::Closed;
    if (timed_out)
      return make_error(ErrorKind::Timeout,
                        "handshake with " + remote_address_ + " did not finish within " +
                            std::to_string(params.timeout.count()) + " ms",
                        ErrorCode::Timeout);
    return error;
  };

  if (!inbound_ && stream_.native_handle() != nullptr) configure_client(stream_.native_handle());
  const auto tls_ec = co_await stream_.handshake(inbound_);
  if (tls_ec) {
    const bool tls_refused = tls_ec.category() == asio::error::get_ssl_category();
    co_return fail(make_error(tls_refused ? ErrorKind::Authentication : ErrorKind::Connection,
                              "TLS handshake with " + remote_address_ + " failed: " + tls_ec.message(),
                              tls_refused ? ErrorCode::AuthenticationFailed : ErrorCode::None));
  }
  if (!negotiated_datafold_alpn(stream_.native_handle()))
    co_return fail(make_error(ErrorKind::Protocol, "peer does not speak datafold/1 (ALPN)",
                              ErrorCode::ProtocolError));
  auto key = detail::peer_public_key(stream_.native_handle());
  if (!key)
    co_return fail(make_error(ErrorKind::Authentication, "peer presented no Ed25519 key",
                              ErrorCode::AuthenticationFailed));
  peer_key_ = *key;
  peer_id_ = key->node_id();
  if (params.expected_peer && *params.expected_peer != peer_id_)
    co_return fail(make_error(ErrorKind::Authentication,
                              "dialled node " + params.expected_peer->short_string() + " at " +
                                  remote_address_ + " but the peer proved it is " +
                                  peer_id_.short_string(),
                              ErrorCode::AuthenticationFailed));

  HelloMessage ours;
  ours.message_id = Uuid::random();
  ours.min_version = params.min_version;
  ours.max_version = params.max_version;
  ours.node_id = params.local_id;
  ours.listen_port = params.listen_port;
  ours.capabilities = params.capabilities;
  ours.agent = params.agent;
  ours.network_name = params.network_name;
  if (auto sent = co_await write_now(ours); !sent) co_return fail(std::move(sent).error());

  auto received = co_await read_one_message();
  if (!received) co_return fail(std::move(received).error());
  if (auto* refusal = std::get_if<ErrorMessage>(&*received))
    co_return fail(make_error(kind_for_remote_code(refusal->code),
                              "peer refused the handshake: " + refusal->message, refusal->code));
  auto* hello = std::get_if<HelloMessage>(&*received);
  if (hello == nullptr)
    co_return fail(make_error(ErrorKind::Protocol, "peer's first message was not a Hello",
                              ErrorCode::ProtocolError));

  auto refuse = [&](ErrorCode code, ErrorKind kind, std::string text) -> asio::awaitable<NetworkResult<void>> {
    ErrorMessage error;
    error.message_id = Uuid::random();
    error.code = code;
    error.message = text;
    error.related_message_id = hello->message_id;
    (void)co_await write_now(error);
    co_return fail(make_error(kind, std::move(text), code));
  };
  if (hello->node_id != peer_id_)
    co_return co_await refuse(ErrorCode::AuthenticationFailed, ErrorKind::Authentication,
                              "Hello names a node id other than the certificate's key");
  if (hello->network_name != params.network_name)
    co_return co_await refuse(ErrorCode::ProtocolError, ErrorKind::Protocol,
                              "network name mismatch: we are '" + params.network_name +
                                  "', peer is '" + hello->network_name + "'");
  const std::uint32_t version = std::min(params.max_version, hello->max_version);
  if (version < std::max(params.min_version, hello->min_version))
    co_return co_await refuse(
        ErrorCode::UnsupportedVersion, ErrorKind::Protocol,
        "no common protocol version: we speak " + std::to_string(params.min_version) + ".." +
            std::to_string(params.max_version) + ", peer speaks " +
            std::to_string(hello->min_version) + ".." + std::to_string(hello->max_version));

  health_timer_.cancel();
  if (timed_out) co_return fail(make_error(ErrorKind::Timeout, "handshake timed out", ErrorCode::Timeout));
  version_ = version;
  peer_hello_ = std::move(*hello);
  state_ = ConnectionState::Open;
  co_return NetworkResult<void>{};
}

void TlsConnection::start(std::weak_ptr<ConnectionEvents> events) {
  events_ = std::move(events);
  auto self = shared_from_this();
  asio::co_spawn(strand_, [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(strand_, [self]() { return self->write_loop(); }, asio::detached);
  asio::post(strand_, [self]() { self->schedule_health_tick(); });
}

// ------------------------------------------------------------------ reading

void TlsConnection::note_received() { last_received_ns_.store(now_ns(), std::memory_order_relaxed); }

void TlsConnection::note_activity() {
  last_activity_ = Clock::now();
  last_activity_ns_.store(now_ns(), std::memory_order_relaxed);
}

asio::awaitable<void> TlsConnection::read_loop() {
  auto self = shared_from_this();
  std::span<const std::uint8_t> payload;
  for (;;) {
    // Decode every whole frame already buffered (the first pass takes frames that
    // arrived together with the peer's Hello).
    for (bool more = true; more && state() != ConnectionState::Closed && !closing_;) {
      switch (decoder_.next(payload)) {
        case FrameDecoder::Status::Frame:
          handle_frame(payload);
          break;
        case FrameDecoder::Status::TooLarge:
          ++protocol_violations_;
          send_error(ErrorCode::ProtocolError,
                     "frame of " + std::to_string(decoder_.announced_length()) +
                         " bytes exceeds the limit of " + std::to_string(limits_.max_frame_bytes),
                     std::nullopt);
          close_after_flush(make_error(ErrorKind::Protocol, "peer sent an oversize frame",
                                       ErrorCode::ProtocolError));
          co_return;
        case FrameDecoder::Status::NeedMore:
          more = false;
          break;
      }
    }
    if (state() == ConnectionState::Closed || closing_) co_return;

    std::error_code ec;
    std::size_t n = 0;
    if (decoder_.buffered_bytes() == 0) {
      // No frame half-received: wait for the peer without a read buffer, so an idle
      // connection holds none (a read buffer per connection is 16 KiB).
      decoder_.release();
      ec = co_await stream_.wait_readable();
    }
    if (!ec) std::tie(ec, n) = co_await stream_.read_some(decoder_.prepare(kReadChunkBytes));
    if (ec) {
      close_with(ec == asio::error::eof || ec == asio::ssl::error::stream_truncated
                     ? make_error(ErrorKind::Connection, "peer " + peer_id_.short_string() + " closed the connection")
                     : connection_error("connection to " + peer_id_.short_string() + " lost", ec),
                 // The peer hanging up on a connection this node was closing anyway is no failure.
                 !closing_);
      co_return;
    }
    decoder_.commit(n);
    note_received();
  }
}

void TlsConnection::handle_frame(std::span<const std::uint8_t> payload) {
  auto decoded = decode_envelope(payload);
  if (decoded) {
    dispatch(std::move(*decoded));
    return;
  }
  ++protocol_violations_;
  spdlog::debug("invalid message from {} at {}: {}", peer_id_.short_string(), remote_address_,
                decoded.error().message);
  send_error(ErrorCode::InvalidMessage, decoded.error().message, std::nullopt);
  if (protocol_violations_ >= kMaxProtocolViolations)
    close_after_flush(make_error(ErrorKind::Protocol, "peer sent too many invalid messages",
                                 ErrorCode::InvalidMessage));
}

void TlsConnection::dispatch(Message message) {
  auto self = shared_from_this();
  const bool liveness = std::holds_alternative<PingMessage>(message) ||
                        std::holds_alternative<PongMessage>(message);
  if (!liveness) note_activity();

  auto deliver_request = [&](Message request, const Uuid& id) {
    auto events = events_.lock();
    if (!events) {
      send_error(ErrorCode::InternalError, "node is shutting down", id);
      return;
    }
    if (incoming_in_flight_ >= limits_.max_in_flight) {
      send_error(ErrorCode::ResourceExhausted,
                 "more than " + std::to_string(limits_.max_in_flight) + " requests in flight", id);
      return;
    }
    ++incoming_in_flight_;
    events->on_incoming(self, std::move(request));
  };
  auto complete = [&](const Uuid& id, NetworkResult<Message> outcome) {
    if (!pending_.complete(id, std::move(outcome)))
      spdlog::debug("dropped a late or unsolicited reply from {}", peer_id_.short_string());
    sync_pending_count();
    if (state() == ConnectionState::Superseded && !inbound_ && pending_.empty())
      close_after_flush(make_error(ErrorKind::Connection, "duplicate connection retired"));
  };

  std::visit(
      Overloaded{
          [&](HelloMessage& m) {
            ++protocol_violations_;
            send_error(ErrorCode::ProtocolError, "Hello after the handshake", m.message_id);
          },
          [&](QueryMessage& m) {
            const Uuid id = m.query_id;
            deliver_request(std::move(message), id);
          },
          [&](ListSchemasRequestMessage& m) {
            const Uuid id = m.request_id;
            deliver_request(std::move(message), id);
          },
          [&](NodeAnnouncementMessage&) {
            if (auto events = events_.lock()) events->on_incoming(self, std::move(message));
          },
          [&](QueryResponseMessage& m) {
            const Uuid id = m.query_id;
            complete(id, std::move(message));
          },
          [&](SchemaListResponseMessage& m) {
            const Uuid id = m.request_id;
            complete(id, std::move(message));
          },
          [&](PongMessage& m) {
            const Uuid id = m.ping_id;
            complete(id, std::move(message));
          },
          [&](ErrorMessage& m) {
            if (!m.related_message_id && m.code == ErrorCode::ResourceExhausted) {
              // The peer is closing this connection to make room for another; close our
              // side now so no new request goes on it. Nothing is wrong with the peer.
              released_by_peer_ = true;
              // Requests still pending on it fail with code ResourceExhausted, which tells
              // the node they never reached the peer's handler and may be sent again.
              close_after_flush(make_error(ErrorKind::Connection, "peer closed the connection to make room: " + m.message,
                                           ErrorCode::ResourceExhausted));
              return;
            }
            if (!m.related_message_id) {
              spdlog::info("peer {} at {} reported: {} ({})", peer_id_.short_string(), remote_address_,
                           m.message, to_string(m.code));
              return;
            }
            complete(*m.related_message_id,
                     make_error(kind_for_remote_code(m.code), m.message, m.code));
          },
          [&](PingMessage& m) {
            PongMessage pong;
            pong.message_id = Uuid::random();
            pong.ping_id = m.message_id;
            pong.sent_at_us = m.sent_at_us;
            std::string frame;
            append_frame(pong, frame);
            enqueue_frame(frame);
          },
          [&](UnknownMessage& m) {
            send_error(ErrorCode::UnsupportedMessage, "message kind not supported by this node",
                       m.message_id);
          },
      },
      message);
}

// ------------------------------------------------------------------ writing

asio::awaitable<void> TlsConnection::write_loop() {
  auto self = shared_from_this();
  while (state() != ConnectionState::Closed) {
    if (outbox_.empty()) {
      if (closing_) {
        close_with(closing_reason_);
        co_return;
      }
      writer_wakeup_.expires_at(Clock::time_point::max());
      co_await writer_wakeup_.async_wait(as_tuple(use_awaitable));
      continue;
    }
    // Everything queued goes out in one TLS write: batching for free under load.
    std::swap(writing_, outbox_);
    write_in_progress_ = true;
    auto [ec, n] = co_await stream_.write_all(bytes_of(writing_));
    write_in_progress_ = false;
    if (writing_.capacity() > kKeptBufferBytes) {
      std::string().swap(writing_);
    } else {
      writing_.clear();
    }
    if (ec) {
      close_with(connection_error("write to " + peer_id_.short_string() + " failed", ec), true);
      co_return;
    }
  }
}

void TlsConnection::enqueue_frame(std::string_view frame) {
  if (state() == ConnectionState::Closed) return;
  outbox_.append(frame);
  if (outbox_.size() + writing_.size() > limits_.max_write_queue_bytes + limits_.max_frame_bytes) {
    // Replies and control messages are not refused one by one: a peer that lets
    // this much pile up is not reading, and keeping it would cost unbounded memory.
    close_with(make_error(ErrorKind::ResourceExhausted, "peer is not reading; write queue full",
                          ErrorCode::ResourceExhausted));
    return;
  }
  writer_wakeup_.cancel();
}

void TlsConnection::send_error(ErrorCode code, std::string text, std::optional<Uuid> related) {
  ErrorMessage error;
  error.message_id = Uuid::random();
  error.code = code;
  error.message = std::move(text);
  error.related_message_id = related;
  std::string frame;
  append_frame(error, frame);
  enqueue_frame(frame);
}

void TlsConnection::respond(Message reply) {
  std::string frame;
  append_frame(reply, frame);  // encoded on the caller's thread, not the I/O thread
  if (frame.size() - kFrameHeaderBytes > limits_.max_frame_bytes) {
    // The peer would close the connection on it: tell it what happened instead.
    ErrorMessage error;
    error.message_id = Uuid::random();
    error.code = ErrorCode::ResourceExhausted;
    error.message = "reply of " + std::to_string(frame.size()) + " bytes exceeds the frame limit";
    error.related_message_id = related_message_id(reply);
    frame.clear();
    append_frame(error, frame);
  }
  asio::post(strand_, [self = shared_from_this(), frame = std::move(frame)]() {
    if (self->incoming_in_flight_ > 0) --self->incoming_in_flight_;
    self->note_activity();
    self->enqueue_frame(frame);
  });
}

void TlsConnection::send_message(Message message) {
  std::string frame;
  append_frame(message, frame);
  asio::post(strand_, [self = shared_from_this(), frame = std::move(frame)]() { self->enqueue_frame(frame); });
}

void TlsConnection::request(Message request, Completion done, std::chrono::milliseconds timeout) {
  const Uuid id = message_id(request);
  const bool liveness = std::holds_alternative<PingMessage>(request);
  std::string frame;
  append_frame(request, frame);
  if (frame.size() - kFrameHeaderBytes > limits_.max_frame_bytes) {
    asio::post(strand_, [size = frame.size(), done = std::move(done)]() {
      done(make_error(ErrorKind::ResourceExhausted,
                      "request of " + std::to_string(size) + " bytes exceeds the frame limit",
                      ErrorCode::ResourceExhausted));
    });
    return;
  }
  asio::post(strand_, [self = shared_from_this(), id, liveness, timeout, frame = std::move(frame),
                       done = std::move(done)]() mutable {
    if (self->state() == ConnectionState::Closed || self->closing_ || self->requests_stopped_) {
      done(make_error(ErrorKind::Connection, "connection to " + self->peer_id_.short_string() + " is closed"));
      return;
    }
    if (self->pending_.size() >= self->limits_.max_in_flight) {
      done(make_error(ErrorKind::ResourceExhausted,
                      std::to_string(self->limits_.max_in_flight) + " requests already in flight",
                      ErrorCode::ResourceExhausted));
      return;
    }
    if (self->outbox_.size() + frame.size() > self->limits_.max_write_queue_bytes) {
      done(make_error(ErrorKind::ResourceExhausted, "write queue full: the peer is not keeping up",
                      ErrorCode::ResourceExhausted));
      return;
    }
    const auto now = Clock::now();
    if (!self->pending_.add(id, now, now + timeout, done)) {
      done(make_error(ErrorKind::Message, "request id already in use", ErrorCode::InvalidMessage));
      return;
    }
    if (!liveness) self->note_activity();
    self->sync_pending_count();
    self->enqueue_frame(frame);
    self->arm_deadline_timer();
  });
}

// ------------------------------------------------------------------ deadlines, health, closing

void TlsConnection::arm_deadline_timer() {
  if (state() == ConnectionState::Closed) return;
  auto next = pending_.next_deadline();
  if (!next || (armed_deadline_ && *armed_deadline_ <= *next)) return;
  armed_deadline_ = *next;
  deadline_timer_.expires_at(*next);
  deadline_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // re-armed earlier, or closed
    self->armed_deadline_.reset();
    self->pending_.expire(Clock::now());
    self->sync_pending_count();
    self->arm_deadline_timer();
  });
}

void TlsConnection::schedule_health_tick() {
  if (state() == ConnectionState::Closed || closing_) return;
  health_timer_.expires_after(limits_.ping_interval);
  health_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) self->on_health_tick();
  });
}

void TlsConnection::on_health_tick() {
  if (state() == ConnectionState::Closed || closing_) return;
  const auto now = Clock::now();
  if (now - last_activity_ >= limits_.idle_timeout && pending_.empty() && incoming_in_flight_ == 0) {
    close_after_flush(make_error(ErrorKind::Connection, "closed after being idle"));
    return;
  }
  const auto silent_for = std::chrono::nanoseconds(now_ns() - last_received_ns_.load());
  if (silent_for >= limits_.ping_interval && !ping_outstanding_) {
    ping_outstanding_ = true;
    PingMessage ping;
    ping.message_id = Uuid::random();
    ping.sent_at_us = wall_us();
    const auto sent = now;
    request(ping, [self = shared_from_this(), sent](NetworkResult<Message> outcome) {
      self->ping_outstanding_ = false;
      if (outcome) {
        self->missed_pongs_ = 0;
        self->last_rtt_us_ = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count();
      } else if (outcome.error().kind == ErrorKind::Timeout && ++self->missed_pongs_ >= kMaxMissedPongs) {
        // A dead connection: its pending requests fail with Connection (DESIGN section 8),
        // not Timeout, which would suggest the peer got them and was slow.
        self->close_with(make_error(ErrorKind::Connection, "peer stopped answering pings (3 missed pongs)"), true);
      }
    }, limits_.ping_interval);
  }
  schedule_health_tick();
}

std::optional<std::chrono::microseconds> TlsConnection::last_rtt() const noexcept {
  const auto us = last_rtt_us_.load(std::memory_order_relaxed);
  if (us < 0) return std::nullopt;
  return std::chrono::microseconds(us);
}

bool TlsConnection::is_healthy() const noexcept {
  const auto st = state();
  if (st != ConnectionState::Open && st != ConnectionState::Superseded) return false;
  const auto silent_for = std::chrono::nanoseconds(now_ns() - last_received_ns_.load());
  return silent_for < kMaxMissedPongs * limits_.ping_interval + limits_.ping_interval;
}

void TlsConnection::supersede() {
  asio::post(strand_, [self = shared_from_this()]() {
    if (self->state() != ConnectionState::Open) return;
    self->state_ = ConnectionState::Superseded;
    if (!self->inbound_ && self->pending_.empty())
      self->close_after_flush(make_error(ErrorKind::Connection, "duplicate connection retired"));
  });
}

void TlsConnection::stop_requests(NetworkError reason, std::function<void()> done) {
  asio::post(strand_, [self = shared_from_this(), reason = std::move(reason), done = std::move(done)]() {
    self->requests_stopped_ = true;
    self->pending_.fail_all(reason);
    self->sync_pending_count();
    done();
  });
}

void TlsConnection::release_for_room() {
  asio::post(strand_, [self = shared_from_this()]() {
    if (self->state() == ConnectionState::Closed || self->closing_) return;
    self->send_error(ErrorCode::ResourceExhausted, "connection limit reached: closing the least recently used idle connection",
                     std::nullopt);
    self->close_after_flush(make_error(ErrorKind::Connection, "closed to make room (least recently used)"));
  });
}

void TlsConnection::close_gracefully(NetworkError reason, std::function<void()> closed) {
  asio::post(strand_, [self = shared_from_this(), reason = std::move(reason), closed = std::move(closed)]() mutable {
    if (self->state() == ConnectionState::Closed) return closed();
    self->close_waiters_.push_back(std::move(closed));
    self->close_after_flush(std::move(reason));
  });
}

void TlsConnection::close() {
  asio::post(strand_, [self = shared_from_this()]() {
    self->close_with(make_error(ErrorKind::Connection, "connection closed by this node"));
  });
}

void TlsConnection::close_after_flush(NetworkError reason) {
  if (state() == ConnectionState::Closed || closing_) return;
  closing_ = true;
  closing_reason_ = std::move(reason);
  writer_wakeup_.cancel();
  // A peer that does not read must not keep us waiting: close regardless after a while.
  health_timer_.expires_after(kFlushDeadline);
  health_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) self->close_with(self->closing_reason_);
  });
}

void TlsConnection::close_with(NetworkError reason, bool failure) {
  if (state() == ConnectionState::Closed) return;
  failed_ = failure && !released_by_peer_;
  state_ = ConnectionState::Closed;
  std::error_code ignored;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  writer_wakeup_.cancel();
  deadline_timer_.cancel();
  health_timer_.cancel();
  // The owner hears first, so whoever sees a request fail also sees the node's new state.
  if (auto events = events_.lock()) events->on_closed(shared_from_this(), reason);
  pending_.fail_all(reason);
  sync_pending_count();
  for (auto& closed : std::exchange(close_waiters_, {})) closed();
}

}  // namespace datafold::net::detail
