#include "transport/tls_connection.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/hot_codec.hpp"
#include "core/ip_address.hpp"
#include "transport/reply_batch.hpp"
#include "transport/run_executor.hpp"
#include "transport/tls_connection_parts.hpp"

namespace datafold::net::detail {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;

// Buffers bigger than this are released once drained (write buffers once the writer
// has been quiet a while, below), so a burst does not pin memory.
constexpr std::size_t kKeptBufferBytes = 64 * 1024;
// Write buffers grown past kKeptBufferBytes are kept while writes keep coming, and
// released once the writer has had nothing to send for this long. Allocated afresh
// for each write, such a buffer costs a page fault for every 4 KiB it is filled with:
// with 16 KiB replies those faults took more time than sealing the replies did.
constexpr std::chrono::milliseconds kBigWriteBufferLinger{200};
// Frames that fail to decode before the connection is closed.
constexpr unsigned kMaxProtocolViolations = 3;
// A connection asked to close after flushing gets this long to do so.
constexpr std::chrono::seconds kFlushDeadline{5};
// A paused reader looks again this often (besides being woken by a freed slot or
// a drained write): the node's budget is shared, and others free it without
// telling this connection.
constexpr std::chrono::milliseconds kPauseRecheck{50};

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

ConnectionHealth::Settings health_settings(const ConnectionLimits& limits) {
  return {.ping_interval = limits.ping_interval, .idle_timeout = limits.idle_timeout};
}

}  // namespace

// ------------------------------------------------------------------ connection

TlsConnection::TlsConnection(asio::ip::tcp::socket socket, asio::ssl::context& tls, bool inbound,
                             ConnectionLimits limits, ClockFn clock)
    : clock_(std::move(clock)),
      stream_(std::move(socket), tls),
      strand_(stream_.get_executor()),
      inbound_(inbound),
      limits_(limits),
      decoder_(limits.max_frame_bytes),
      writer_wakeup_(strand_),
      deadline_timer_(strand_),
      health_timer_(strand_),
      health_(health_settings(limits), now()),
      account_(limits_.budget.get()),
      resume_timer_(strand_) {
  std::error_code ec;
  remote_address_ = format_peer_endpoint(stream_.lowest_layer().remote_endpoint(ec));
  stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ec);
  last_received_ns_ = nanoseconds_of(health_.last_received().time_since_epoch());
  last_activity_ns_ = nanoseconds_of(health_.last_activity().time_since_epoch());
}

TlsConnection::~TlsConnection() = default;

void TlsConnection::start(std::weak_ptr<ConnectionEvents> events) {
  if (const auto owner = events.lock()) undecoded_queries_ = owner->wants_undecoded_queries();
  events_ = std::move(events);
  auto self = shared_from_this();
  asio::co_spawn(strand_, [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(strand_, [self]() { return self->write_loop(); }, asio::detached);
  asio::post(strand_, [self]() { self->schedule_health_tick(); });
}

// ------------------------------------------------------------------ reading

void TlsConnection::note_received() {
  health_.on_received(now());
  last_received_ns_.store(nanoseconds_of(health_.last_received().time_since_epoch()), std::memory_order_relaxed);
}

void TlsConnection::note_activity(Clock::time_point now) {
  health_.on_activity(now);
  last_activity_ns_.store(nanoseconds_of(health_.last_activity().time_since_epoch()), std::memory_order_relaxed);
}

asio::awaitable<void> TlsConnection::read_loop() {
  auto self = shared_from_this();
  std::span<const std::uint8_t> payload;
  for (;;) {
    // Decode every whole frame already buffered (the first pass takes frames that
    // arrived together with the peer's Hello), one at a time: a limit reached by
    // one frame (in flight, rate, memory share) holds the next until it clears,
    // instead of answering each excess request with an Error.
    std::size_t handled = 0;
    for (bool more = true; more;) {
      // Nearly every frame finds nothing to wait for, which is checked here first:
      // co_await on wait_while_paused() costs a coroutine frame each time.
      const bool go_on = state() != ConnectionState::Closed && !closing_ && !pause_reason();
      if (!go_on && !co_await wait_while_paused()) co_return;
      switch (decoder_.next(payload)) {
        case FrameDecoder::Status::Frame:
          handle_frame(payload);
          // A long run of frames is answered a slice at a time: the writer, woken by
          // the replies queued so far, runs before the next slice, so the peer works
          // on them while this end answers the rest, rather than the two ends taking
          // turns over the whole run. (One connection with 64 queries in flight went
          // from about 95k to 165k q/s; runs of a slice or less never yield.)
          if (++handled % kFramesPerSlice == 0 && decoder_.buffered_bytes() > 0 && !outbox_.empty() &&
              !write_in_progress_)
            co_await asio::post(strand_, use_awaitable);
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
    settle_read_charge();

    std::error_code ec;
    std::size_t n = 0;
    if (decoder_.buffered_bytes() == 0) {
      // No frame half-received: wait for the peer without a read buffer, so an idle
      // connection holds none (a read buffer per connection is 16 KiB).
      decoder_.release();
      ec = co_await stream_.wait_readable();
    }
    if (!ec) {
      // What a read may add is charged first: with the node's budget spent the
      // reader waits for room rather than take bytes the budget cannot hold.
      if (!account_.try_charge(kReadChunkBytes)) {
        resume_timer_.expires_after(kPauseRecheck);
        co_await resume_timer_.async_wait(as_tuple(use_awaitable));
        if (state() == ConnectionState::Closed || closing_) co_return;
        continue;
      }
      read_charged_ += kReadChunkBytes;
      publish_held();
      std::tie(ec, n) = co_await stream_.read_some(decoder_.prepare(kReadChunkBytes));
      if (ec == asio::error::would_block) {
        // Woken with nothing to read (a readiness report gone stale): with no frame
        // half-received, wait again from the top, without the buffer, or the
        // connection would sit idle holding it (when this read waited inside
        // read_some, up to 4 in 10 idle connections did, by how many handshakes ran at
        // once). An if, not a ?: around the co_await: built by GCC 12, the ?: form
        // still left hundreds of 3,000 holding their buffer.
        if (decoder_.buffered_bytes() == 0) continue;
        ec = co_await stream_.wait_readable();
        if (!ec) continue;
      }
    }
    if (ec) {
      close_with(ec == asio::error::eof || ec == asio::ssl::error::stream_truncated
                     ? make_error(ErrorKind::Connection, "peer " + peer_id_.short_string() + " closed the connection")
                     : connection_error("connection to " + peer_id_.short_string() + " lost", ec),
                 // The peer hanging up on a connection this node was closing anyway is no failure.
                 !closing_);
      co_return;
    }
    decoder_.commit(n);
    settle_read_charge();
    note_received();
  }
}

void TlsConnection::settle_read_charge() {
  if (state() == ConnectionState::Closed) return;
  const std::size_t buffered = decoder_.buffered_bytes();
  if (read_charged_ > buffered) {
    account_.release(read_charged_ - buffered);
    read_charged_ = buffered;
  } else if (read_charged_ < buffered) {
    account_.charge(buffered - read_charged_);  // not expected: every read was charged before
    read_charged_ = buffered;
  }
  publish_held();
}

std::optional<LimitHit> TlsConnection::pause_reason() {
  if (incoming_in_flight_.load(std::memory_order_relaxed) >= limits_.max_in_flight) return LimitHit::InFlight;
  // Checked before every frame: the clock is read only while a rate pause is set.
  if (rate_resume_at_ != Clock::time_point{}) {
    if (rate_resume_at_ > now()) return LimitHit::Rate;
    rate_resume_at_ = {};
  }
  // The share counts what the peer makes the node hold for it: replies queued,
  // requests being answered, and the replies those will become (at this
  // connection's mean reply size), so a peer asking for big replies is paused
  // before it commits the node to them. Not a frame it is still sending: that one
  // can only complete by reading on, so it is bounded by the node's budget instead.
  const std::size_t committed = account_.held() - read_charged_ +
                                incoming_in_flight_.load(std::memory_order_relaxed) * reply_bytes_mean_;
  if (limits_.budget && committed >= limits_.budget->peer_share()) return LimitHit::Backpressure;
  if (account_.budget_spent()) return LimitHit::Backpressure;
  return std::nullopt;
}

asio::awaitable<bool> TlsConnection::wait_while_paused() {
  std::optional<Clock::time_point> stalled_since;
  std::uint64_t writes_seen = writes_done_;
  bool counted = false;
  for (;;) {
    if (state() == ConnectionState::Closed || closing_) co_return false;
    const auto reason = pause_reason();
    if (!reason) co_return true;
    // Short of memory, write buffers kept for the next burst are let go first: they
    // must not be what pauses this peer, let alone what closes it.
    if (*reason == LimitHit::Backpressure && release_big_write_buffers()) continue;
    // The request rate's pause is reported by the node, which set it.
    if (!counted && *reason != LimitHit::Rate) {
      counted = true;
      limit_hit(*reason);
    }
    const auto at = now();
    // Stalled: paused at its share with replies waiting that the peer does not take
    // (held past the share, or a write that does not complete). Past the deadline
    // it goes, though what it holds is within its share: it is reading nothing.
    const bool replies_waiting = account_.over_share() || write_in_progress_;
    if (*reason == LimitHit::Backpressure && replies_waiting) {
      if (account_.over_share() && account_.budget_spent()) {
        // The node holds all it may and this peer holds more than its share: it goes.
        limit_hit(LimitHit::OverBudget);
        close_with(make_error(ErrorKind::ResourceExhausted,
                              "node's memory budget spent while peer held " + std::to_string(account_.held()) +
                                  " bytes, more than its share",
                              ErrorCode::ResourceExhausted));
        co_return false;
      }
      if (!stalled_since || writes_done_ != writes_seen) {
        // Paused now, or its replies drained some since: the stall deadline counts from here.
        stalled_since = at;
        writes_seen = writes_done_;
      } else if (at - *stalled_since >= limits_.stall_timeout) {
        limit_hit(LimitHit::Stalled);
        close_with(make_error(ErrorKind::ResourceExhausted,
                              "peer has not read its replies for " + std::to_string(limits_.stall_timeout.count()) +
                                  " ms",
                              ErrorCode::ResourceExhausted));
        co_return false;
      }
    } else {
      stalled_since.reset();
    }
    auto wait = std::chrono::duration_cast<Clock::duration>(kPauseRecheck);
    if (*reason == LimitHit::Rate) wait = std::min(wait, rate_resume_at_ - at);
    resume_timer_.expires_after(wait);
    co_await resume_timer_.async_wait(as_tuple(use_awaitable));
  }
}

void TlsConnection::pause_reading_for(Clock::duration wait) { rate_resume_at_ = std::max(rate_resume_at_, now() + wait); }

void TlsConnection::limit_hit(LimitHit hit) {
  if (auto events = events_.lock()) events->on_limit_hit(shared_from_this(), hit);
}

const char* to_string(LimitHit hit) noexcept {
  switch (hit) {
    case LimitHit::InFlight: return "in-flight limit";
    case LimitHit::Rate: return "request rate";
    case LimitHit::Backpressure: return "memory share";
    case LimitHit::Stalled: return "stalled";
    case LimitHit::OverBudget: return "over budget";
  }
  return "?";
}

void TlsConnection::handle_frame(std::span<const std::uint8_t> payload) {
  const std::size_t frame_bytes = payload.size() + kFrameHeaderBytes;
  // The owner hears of a query before it is decoded (expect_query), and the same
  // reference to it takes the query: events_ is locked once per query.
  std::shared_ptr<ConnectionEvents> events;
  if (const auto query_id = detail::hot_query_id(payload); query_id && (events = events_.lock())) {
    events->expect_query(*query_id);
    // A query is only peeked at here: the owner decodes it on the thread that answers it.
    if (const auto stream_window = undecoded_queries_ ? detail::peek_hot_query(payload) : std::nullopt) {
      note_activity(health_.last_received());
      request_taken(frame_bytes);
      events->on_incoming_query(shared_from_this(), UndecodedQuery{*stream_window, payload});
      return;
    }
  }
  auto decoded = decode_envelope(payload);
  if (decoded) {
    dispatch(std::move(*decoded), frame_bytes, std::move(events));
    return;
  }
  refuse_frame(decoded.error());
}

void TlsConnection::refuse_frame(const NetworkError& error) {
  ++protocol_violations_;
  spdlog::debug("invalid message from {} at {}: {}", peer_id_.short_string(), remote_address_, error.message);
  // No related id, whatever could be read of the frame (PROTOCOL.md section 10).
  send_error(ErrorCode::InvalidMessage, error.message, std::nullopt);
  if (protocol_violations_ >= kMaxProtocolViolations)
    close_after_flush(make_error(ErrorKind::Protocol, "peer sent too many invalid messages",
                                 ErrorCode::InvalidMessage));
}

void TlsConnection::refuse_undecodable(NetworkError error) {
  asio::post(strand_, [self = shared_from_this(), error = std::move(error)]() {
    self->request_done();
    self->wake_reader();
    self->refuse_frame(error);
  });
}

void TlsConnection::request_taken(std::size_t request_bytes) {
  // The reader decodes no frame while max_in_flight are unanswered, so this holds
  // without refusing anything.
  ++incoming_in_flight_;
  const std::size_t bytes = std::min(request_bytes, read_charged_);
  read_charged_ -= bytes;
  incoming_bytes_ += bytes;
}

void TlsConnection::request_done() {
  // Each answer releases its share of the bytes of the requests being answered, and
  // the last one all that is left: the sum is exact whenever none is in flight, and
  // no table keyed by the ids the peer chose is kept (a hash and a node per request).
  if (const std::size_t in_flight = incoming_in_flight_; in_flight > 0) {
    const std::size_t share = incoming_bytes_ / in_flight;
    account_.release(share);
    incoming_bytes_ -= share;
    incoming_in_flight_ = in_flight - 1;
  }
}

void TlsConnection::dispatch(Message&& message, std::size_t request_bytes, std::shared_ptr<ConnectionEvents> events) {
  auto self = shared_from_this();
  const bool liveness = std::holds_alternative<PingMessage>(message) ||
                        std::holds_alternative<PongMessage>(message);
  // Precise, as eviction needs (note_activity), and read once per read rather than per
  // frame: the frames of one read arrived at the time note_received() took.
  if (!liveness) note_activity(health_.last_received());

  auto deliver_request = [&](Message&& request, const Uuid& id) {
    if (!events) events = events_.lock();
    if (!events) {
      send_error(ErrorCode::InternalError, "node is shutting down", id);
      return;
    }
    request_taken(request_bytes);
    events->on_incoming(self, std::move(request));
  };
  auto complete = [&](const Uuid& id, NetworkResult<Message>&& outcome) {
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
          [&](DialBackRequestMessage& m) {
            const Uuid id = m.request_id;
            deliver_request(std::move(message), id);
          },
          [&](RelayRequestMessage& m) {
            const Uuid id = m.request_id;
            deliver_request(std::move(message), id);
          },
          [&](HolePunchMessage& m) {
            const Uuid id = m.request_id;
            deliver_request(std::move(message), id);
          },
          [&](HolePunchResponseMessage& m) {
            const Uuid id = m.request_id;
            complete(id, std::move(message));
          },
          [&](DialBackResponseMessage& m) {
            const Uuid id = m.request_id;
            complete(id, std::move(message));
          },
          [&](RelayResponseMessage& m) {
            const Uuid id = m.request_id;
            complete(id, std::move(message));
          },
          [&](NodeAnnouncementMessage&) {
            if (auto events = events_.lock()) events->on_incoming(self, std::move(message));
          },
          [&](QueryResponseMessage& m) {
            const Uuid id = m.query_id;
            if (!m.more) return complete(id, std::move(message));
            // A part of a streamed answer: the request stays pending for the rest.
            if (pending_.deliver_part(id, std::move(message), now())) return;
            complete(id, make_error(ErrorKind::Protocol, "peer sent in parts an answer asked for whole",
                                    ErrorCode::ProtocolError));
          },
          [&](QueryCreditMessage&) {
            // Paces one of our streamed answers: the node's, like a request, but
            // neither one nor answered.
            if (auto events = events_.lock()) events->on_incoming(self, std::move(message));
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
              // side at once (the peer reads nothing more, so there is nothing to flush),
              // which takes it out of the node's table before any new request can pick
              // it. Nothing is wrong with the peer.
              released_by_peer_ = true;
              // Requests still pending on it fail with code ResourceExhausted, which tells
              // the node they never reached the peer's handler and may be sent again.
              close_with(make_error(ErrorKind::Connection, "peer closed the connection to make room: " + m.message,
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
      const bool holding_big = writing_.capacity() > kKeptBufferBytes || outbox_.capacity() > kKeptBufferBytes;
      if (holding_big)
        writer_wakeup_.expires_after(kBigWriteBufferLinger);
      else
        writer_wakeup_.expires_at(Clock::time_point::max());
      auto [ec] = co_await writer_wakeup_.async_wait(as_tuple(use_awaitable));
      if (!ec && holding_big) release_big_write_buffers();  // slept the linger through: quiet now
      continue;
    }
    // Everything queued goes out in one TLS write: batching for free under load.
    std::swap(writing_, outbox_);
    std::swap(writing_charged_, outbox_charged_);
    write_in_progress_ = true;
    auto [ec, n] = co_await stream_.write_all(bytes_of(writing_));
    write_in_progress_ = false;
    ++writes_done_;
    writing_.clear();  // kept, and still charged, for the next write
    publish_held();
    wake_reader();
    if (ec) {
      close_with(connection_error("write to " + peer_id_.short_string() + " failed", ec), true);
      co_return;
    }
  }
}

void TlsConnection::release_write_buffer(std::string& buffer, std::size_t& charged) {
  std::string().swap(buffer);
  account_.release(charged);
  charged = 0;
  publish_held();
}

bool TlsConnection::release_idle_writing_buffer() {
  if (write_in_progress_ || writing_.capacity() <= kKeptBufferBytes) return false;
  release_write_buffer(writing_, writing_charged_);
  return true;
}

bool TlsConnection::release_big_write_buffers() {
  bool released = release_idle_writing_buffer();
  if (outbox_.empty() && outbox_.capacity() > kKeptBufferBytes) {
    release_write_buffer(outbox_, outbox_charged_);
    released = true;
  }
  return released;
}

void TlsConnection::enqueue_frame(std::string_view frame) {
  if (state() == ConnectionState::Closed) return;
  // The queue's growth is charged before it happens, as the capacity it will have.
  const std::size_t needed = outbox_.size() + frame.size();
  if (needed > outbox_.capacity() || needed > outbox_charged_) {
    const std::size_t capacity = needed > outbox_.capacity() ? std::max(needed, 2 * outbox_.capacity())
                                                             : outbox_.capacity();
    const std::size_t more = capacity > outbox_charged_ ? capacity - outbox_charged_ : 0;
    // The write buffer kept for the next burst is let go before the budget says no.
    if (!account_.try_charge(more) && !(release_idle_writing_buffer() && account_.try_charge(more))) {
      // The node's budget is spent. A peer with replies piling up (over its share,
      // or a backlog queued) is closed, loudly: its requests fail with the close.
      // One whose replies are flowing gets this one past the budget, so a
      // well-behaved peer is not cut for what others hold.
      if (account_.over_share() || !outbox_.empty() || write_in_progress_) {
        limit_hit(LimitHit::OverBudget);
        close_with(make_error(ErrorKind::ResourceExhausted,
                              "node's memory budget spent while peer had " + std::to_string(account_.held()) +
                                  " bytes queued",
                              ErrorCode::ResourceExhausted));
        return;
      }
      account_.charge(more);
    }
    outbox_charged_ += more;
    if (needed > outbox_.capacity()) outbox_.reserve(capacity);
    publish_held();
  }
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

void TlsConnection::encode_reply(const Message& reply, std::string& frame) const {
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
}

void TlsConnection::queue_reply(std::string_view frame) {
  request_done();
  reply_bytes_mean_ = (reply_bytes_mean_ * 7 + frame.size()) / 8;
  note_activity();
  enqueue_frame(frame);
  wake_reader();
}

void TlsConnection::respond(const Message& reply) {
  if (auto* batch = ReplyBatch::current()) {
    thread_local std::string frame;
    frame.clear();
    encode_reply(reply, frame);
    batch->add(shared_from_this(), frame);
    if (frame.capacity() > kKeptBufferBytes) std::string().swap(frame);
    return;
  }
  std::string frame;
  encode_reply(reply, frame);
  asio::post(strand_, [self = shared_from_this(), frame = std::move(frame)]() { self->queue_reply(frame); });
}

void TlsConnection::queue_replies(std::string frames, std::vector<std::uint32_t> sizes) {
  asio::post(strand_, [self = shared_from_this(), frames = std::move(frames), sizes = std::move(sizes)]() {
    std::string_view rest = frames;
    for (const auto size : sizes) {
      self->queue_reply(rest.substr(0, size));
      rest.remove_prefix(size);
    }
  });
}

void TlsConnection::respond_on_strand(const Message& reply) {
  // Copied to the outbox at once: the frame is encoded in this thread's buffer,
  // not in a string allocated per reply.
  thread_local std::string frame;
  frame.clear();
  encode_reply(reply, frame);
  queue_reply(frame);
  if (frame.capacity() > kKeptBufferBytes) std::string().swap(frame);
}

void TlsConnection::send_part(const Message& part) {
  std::string frame;
  append_frame(part, frame);  // encoded on the caller's thread, as respond() does
  asio::post(strand_, [self = shared_from_this(), frame = std::move(frame)]() {
    self->note_activity();
    self->enqueue_frame(frame);
  });
}

void TlsConnection::send_message(const Message& message) {
  std::string frame;
  append_frame(message, frame);
  std::optional<Uuid> credited;
  if (const auto* credit = std::get_if<QueryCreditMessage>(&message); credit && !credit->cancel)
    credited = credit->query_id;
  asio::post(strand_, [self = shared_from_this(), frame = std::move(frame), credited]() {
    // A part the asker has made room for is owed from now: its wait starts here, so
    // a reader that took its time is not timed out for it.
    if (credited) {
      if (const auto deadline = self->pending_.restart_deadline(*credited, self->now()))
        self->arm_deadline_timer_for(*deadline);
    }
    self->enqueue_frame(frame);
  });
}

void TlsConnection::request(const Message& request, Completion done, std::chrono::milliseconds timeout) {
  send_request(request, std::move(done), timeout, false);
}

void TlsConnection::request_parts(const Message& request, Completion on_part, std::chrono::milliseconds part_timeout) {
  send_request(request, std::move(on_part), part_timeout, true);
}

bool TlsConnection::on_own_thread() const noexcept {
  // The node's executor with one I/O thread: the io_context's, or on shared threads
  // the node's run of it (run_executor.hpp). A strand (several threads) is never "own".
  if (const auto* context = strand_.target<asio::io_context::executor_type>())
    return context->running_in_this_thread();
  const auto* run = strand_.target<RunExecutor<asio::io_context::executor_type>>();
  return run != nullptr && run->running_in_this_thread();
}

void TlsConnection::send_request(const Message& request, Completion done, std::chrono::milliseconds timeout,
                                 bool in_parts) {
  const OutgoingRequest about{message_id(request), timeout, std::holds_alternative<PingMessage>(request), in_parts};
  if (on_own_thread()) {
    // A request sent from a completion on the I/O thread (as RunOn::IoThread callers
    // do) is encoded in this thread's buffer and queued at once: no frame allocated
    // per request, no handler queued. A refusal still reaches `done` only after
    // this returns, as Connection promises.
    thread_local std::string frame;
    frame.clear();
    append_frame(request, frame);
    auto started = start_request(about, frame, done);
    if (frame.capacity() > kKeptBufferBytes) std::string().swap(frame);
    if (!started)
      asio::post(strand_, [done = std::move(done), error = std::move(started).error()]() { done(error); });
    return;
  }
  std::string frame;
  append_frame(request, frame);
  asio::post(strand_, [self = shared_from_this(), about, frame = std::move(frame), done = std::move(done)]() mutable {
    if (auto started = self->start_request(about, frame, done); !started) done(std::move(started).error());
  });
}

NetworkResult<void> TlsConnection::start_request(const OutgoingRequest& about, std::string_view frame,
                                                 Completion& done) {
  if (frame.size() - kFrameHeaderBytes > limits_.max_frame_bytes)
    return make_error(ErrorKind::ResourceExhausted,
                      "request of " + std::to_string(frame.size()) + " bytes exceeds the frame limit",
                      ErrorCode::ResourceExhausted);
  if (released_by_peer_) {
    // The node chose this connection just before the peer's notice that it is closing
    // it to make room. The request never left: say so (ResourceExhausted), so the
    // node sends it again on a new connection.
    return make_error(ErrorKind::Connection, "peer closed the connection to make room before the request was sent",
                      ErrorCode::ResourceExhausted);
  }
  if (state() == ConnectionState::Closed || closing_ || requests_stopped_)
    return make_error(ErrorKind::Connection, "connection to " + peer_id_.short_string() + " is closed");
  if (pending_.size() >= limits_.max_in_flight)
    return make_error(ErrorKind::ResourceExhausted,
                      std::to_string(limits_.max_in_flight) + " requests already in flight",
                      ErrorCode::ResourceExhausted);
  if (outbox_.size() + frame.size() > limits_.max_write_queue_bytes)
    return make_error(ErrorKind::ResourceExhausted, "write queue full: the peer is not keeping up",
                      ErrorCode::ResourceExhausted);
  const auto now = this->now();
  const bool added = about.in_parts ? pending_.add_streamed(about.id, now, about.timeout, done)
                                    : pending_.add(about.id, now, now + about.timeout, done);
  if (!added) return make_error(ErrorKind::Message, "request id already in use", ErrorCode::InvalidMessage);
  if (!about.liveness) note_activity(now);
  sync_pending_count();
  enqueue_frame(frame);
  arm_deadline_timer_for(now + about.timeout);
  return {};
}

// ------------------------------------------------------------------ closing

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
  resume_timer_.cancel();
  // Nothing held for this peer counts any more (a late reply is dropped unsent).
  account_.release_all();
  read_charged_ = 0;
  outbox_charged_ = 0;
  writing_charged_ = 0;
  incoming_bytes_ = 0;
  publish_held();
  // The owner hears first, so whoever sees a request fail also sees the node's new state.
  if (auto events = events_.lock()) events->on_closed(shared_from_this(), reason);
  pending_.fail_all(reason);
  sync_pending_count();
  for (auto& closed : std::exchange(close_waiters_, {})) closed();
}

}  // namespace datafold::net::detail
