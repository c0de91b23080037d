// ConnectionHealth: when a connection pings, when it counts as dead and when it
// is closed for idleness (DESIGN.md section 11: ping after 30 s of silence,
// 3 missed pongs close, 300 s unused close). No socket and no timer: it is fed
// what happened and the time, and says what to do, so a unit test drives it with
// a fake clock. TlsConnection carries the decisions out (transport/tls_health.cpp).
//
// Two kinds of "heard from": anything received (pings and pongs included) keeps
// the connection alive and defers pings; only requests and replies (activity)
// keep it from being closed as unused, so pings alone never hold an idle
// connection open.
//
// Not thread-safe: the connection's strand calls it.
#pragma once

#include <chrono>
#include <optional>

namespace datafold::net::detail {

class ConnectionHealth {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  // Pongs missed in a row that make a connection dead.
  static constexpr unsigned kMaxMissedPongs = 3;

  struct Settings {
    std::chrono::milliseconds ping_interval{30'000};  // silence before a ping; also a ping's deadline
    std::chrono::milliseconds idle_timeout{300'000};  // unused for this long: closed
  };

  enum class Action {
    None,
    SendPing,   // send one Ping now, with ping_interval() as its deadline, and report its fate
    CloseIdle,  // unused for idle_timeout with nothing in flight: close, no failure of the peer
  };

  ConnectionHealth(Settings settings, TimePoint now);

  // Bytes arrived from the peer (any message, pings included).
  void on_received(TimePoint now);
  // A request or reply went either way (not a ping or pong).
  void on_activity(TimePoint now);

  // The periodic check, due at next_tick(). `busy`: requests are in flight either
  // way, so an idle close would lose them.
  Action on_tick(TimePoint now, bool busy);
  TimePoint next_tick(TimePoint now) const { return now + settings_.ping_interval; }

  // The fate of the ping a SendPing asked for, sent at `sent`.
  void on_pong(TimePoint sent, TimePoint now);
  // Its deadline passed. True when that makes kMaxMissedPongs in a row: the
  // connection is dead and must be closed as a failure.
  bool on_pong_missed();
  // It ended without an answer or a timeout (the connection is closing).
  void on_ping_abandoned();

  // Whether the peer counts as alive at `now`: heard from within the time it
  // takes to miss kMaxMissedPongs pings after a silent interval.
  bool healthy(TimePoint last_received, TimePoint now) const;
  // The longest silence healthy() accepts.
  std::chrono::milliseconds silence_limit() const {
    return (kMaxMissedPongs + 1) * settings_.ping_interval;
  }

  std::chrono::milliseconds ping_interval() const { return settings_.ping_interval; }
  std::optional<std::chrono::microseconds> last_rtt() const { return last_rtt_; }
  TimePoint last_received() const { return last_received_; }
  TimePoint last_activity() const { return last_activity_; }
  unsigned missed_pongs() const { return missed_pongs_; }
  bool ping_outstanding() const { return ping_outstanding_; }

 private:
  Settings settings_;
  TimePoint last_received_;
  TimePoint last_activity_;
  std::optional<std::chrono::microseconds> last_rtt_;
  unsigned missed_pongs_ = 0;
  bool ping_outstanding_ = false;
};

}  // namespace datafold::net::detail
