// TlsConnection's deadlines and health: request deadlines, pings when the peer
// is silent, the close after missed pongs or idleness. ConnectionHealth decides;
// this file arms the timers and carries the decisions out.
#include "transport/tls_connection.hpp"

#include <chrono>
#include <cstdint>

#include "transport/tls_connection_parts.hpp"

namespace datafold::net::detail {

namespace {

std::uint64_t wall_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

void TlsConnection::arm_deadline_timer() {
  if (state() == ConnectionState::Closed) return;
  auto next = pending_.next_deadline();
  if (!next || (armed_deadline_ && *armed_deadline_ <= *next)) return;
  armed_deadline_ = *next;
  // Deadlines are on the connection's clock; the timer waits the real time until then.
  deadline_timer_.expires_after(*next - now());
  deadline_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // re-armed earlier, or closed
    self->armed_deadline_.reset();
    self->pending_.expire(self->now());
    self->sync_pending_count();
    self->arm_deadline_timer();
  });
}

void TlsConnection::arm_deadline_timer_for(Clock::time_point deadline) {
  // A timer armed for an earlier deadline fires first, and re-arms from there: nothing
  // to do, as for nearly every request (they share a timeout). Not asking the table
  // for its next deadline saves it dropping the deadlines of requests answered since;
  // they go when the timer fires, or when they outnumber the live ones.
  if (armed_deadline_ && *armed_deadline_ <= deadline) return;
  arm_deadline_timer();
}

void TlsConnection::schedule_health_tick() {
  if (state() == ConnectionState::Closed || closing_) return;
  const auto now = this->now();
  health_timer_.expires_after(health_.next_tick(now) - now);
  health_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) self->on_health_tick();
  });
}

void TlsConnection::on_health_tick() {
  if (state() == ConnectionState::Closed || closing_) return;
  const bool busy = !pending_.empty() || incoming_in_flight_ != 0;
  switch (health_.on_tick(now(), busy)) {
    case ConnectionHealth::Action::CloseIdle:
      close_after_flush(make_error(ErrorKind::Connection, "closed after being idle"));
      return;
    case ConnectionHealth::Action::SendPing:
      send_ping();
      break;
    case ConnectionHealth::Action::None:
      break;
  }
  schedule_health_tick();
}

void TlsConnection::send_ping() {
  PingMessage ping;
  ping.message_id = Uuid::random();
  ping.sent_at_us = wall_us();
  const auto sent = now();
  request(ping, [self = shared_from_this(), sent](NetworkResult<Message> outcome) {
    if (outcome) {
      self->health_.on_pong(sent, self->now());
      if (auto rtt = self->health_.last_rtt()) self->last_rtt_us_ = rtt->count();
    } else if (outcome.error().kind != ErrorKind::Timeout) {
      self->health_.on_ping_abandoned();
    } else if (self->health_.on_pong_missed()) {
      // A dead connection: its pending requests fail with Connection (DESIGN section 8),
      // not Timeout, which would suggest the peer got them and was slow.
      self->close_with(make_error(ErrorKind::Connection, "peer stopped answering pings (3 missed pongs)"), true);
    }
  }, health_.ping_interval());
}

std::optional<std::chrono::microseconds> TlsConnection::last_rtt() const noexcept {
  const auto us = last_rtt_us_.load(std::memory_order_relaxed);
  if (us < 0) return std::nullopt;
  return std::chrono::microseconds(us);
}

bool TlsConnection::is_healthy() const noexcept {
  const auto st = state();
  if (st != ConnectionState::Open && st != ConnectionState::Superseded) return false;
  // Any thread: the published time, not ConnectionHealth's own (the strand's).
  const Clock::time_point last_received{
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(last_received_ns_.load()))};
  return health_.healthy(last_received, now());
}

}  // namespace datafold::net::detail
