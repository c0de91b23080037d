#include "transport/connection_health.hpp"

#include <algorithm>

namespace datafold::net::detail {

ConnectionHealth::ConnectionHealth(Settings settings, TimePoint now)
    : settings_(settings), last_received_(now), last_activity_(now) {
  // A zero interval would ping in a busy loop; a millisecond is the least that makes sense.
  settings_.ping_interval = std::max(settings_.ping_interval, std::chrono::milliseconds{1});
}

void ConnectionHealth::on_received(TimePoint now) { last_received_ = std::max(last_received_, now); }

void ConnectionHealth::on_activity(TimePoint now) { last_activity_ = std::max(last_activity_, now); }

ConnectionHealth::Action ConnectionHealth::on_tick(TimePoint now, bool busy) {
  if (!busy && now - last_activity_ >= settings_.idle_timeout) return Action::CloseIdle;
  // One ping at a time: a ping that has not come back yet is still the question.
  if (ping_outstanding_ || now - last_received_ < settings_.ping_interval) return Action::None;
  ping_outstanding_ = true;
  return Action::SendPing;
}

void ConnectionHealth::on_pong(TimePoint sent, TimePoint now) {
  ping_outstanding_ = false;
  missed_pongs_ = 0;
  last_rtt_ = std::chrono::duration_cast<std::chrono::microseconds>(std::max(now - sent, Clock::duration::zero()));
}

bool ConnectionHealth::on_pong_missed() {
  ping_outstanding_ = false;
  return ++missed_pongs_ >= kMaxMissedPongs;
}

void ConnectionHealth::on_ping_abandoned() { ping_outstanding_ = false; }

bool ConnectionHealth::healthy(TimePoint last_received, TimePoint now) const {
  return now - last_received < silence_limit();
}

}  // namespace datafold::net::detail
