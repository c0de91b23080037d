// MappingSchedule: when a node asks its gateway for a port mapping, renews it and
// retries, decided from outcomes and a clock, with no socket (the PortMapper carries
// the decisions out). Not thread-safe: the owner locks.
//
// - At start, and whenever there is no mapping, an attempt asks every protocol.
// - A granted mapping is renewed at half its lease (a lease without end is checked
//   as often as one of `requested_lease`), with the protocol that granted it.
// - A failed attempt is retried after a backoff that doubles up to `retry_max`; a
//   failed renewal is retried sooner than that if the lease would end first. The
//   mapping is believed until its lease ends; then it is lost and the next attempt
//   asks every protocol again.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "datafold/net/reachability.hpp"

namespace datafold::net::reachability {

using Clock = std::chrono::steady_clock;

struct ScheduleConfig {
  std::chrono::seconds requested_lease{3600};
  std::chrono::seconds retry_initial{10};
  std::chrono::seconds retry_max{900};
  // A renewal never comes sooner than this after a grant, whatever lease the gateway gave.
  std::chrono::seconds min_renew_gap{2};
};

// What a gateway granted.
struct GrantedMapping {
  MappingProtocol protocol = MappingProtocol::Upnp;
  std::string external_ip;
  std::uint16_t external_port = 0;
  std::chrono::seconds lease{0};  // 0: without end

  // "ip:port" ("[v6]:port").
  std::string external_address() const;
  friend bool operator==(const GrantedMapping&, const GrantedMapping&) = default;
};

struct ActiveMapping {
  GrantedMapping granted;
  std::optional<Clock::time_point> expires;  // nullopt: without end
};

// What an outcome changed in the address the node announces.
enum class MappingChange {
  None,     // same mapping (or still none)
  Gained,   // a mapping where there was none
  Changed,  // another external address or protocol
  Lost,     // the mapping is gone
};

class MappingSchedule {
 public:
  enum class AttemptKind {
    Map,    // no mapping: ask every protocol
    Renew,  // ask the protocol that granted the current mapping
  };
  struct Attempt {
    AttemptKind kind = AttemptKind::Map;
    std::optional<MappingProtocol> protocol;  // for Renew
    std::uint16_t external_port = 0;          // for Renew: the port held now
  };

  // The first attempt is due at `now`.
  MappingSchedule(ScheduleConfig config, Clock::time_point now);

  // When the next attempt is due; the owner sleeps until then (or until stopped).
  Clock::time_point next_due() const noexcept { return next_due_; }
  // The attempt to make at `now`, or nullopt if none is due yet.
  std::optional<Attempt> due(Clock::time_point now) const;

  MappingChange on_granted(const GrantedMapping& granted, Clock::time_point now);
  MappingChange on_failed(std::string why, Clock::time_point now);
  // A lease that ended unrenewed: Lost. Call before due() and on waking.
  MappingChange on_tick(Clock::time_point now);

  const std::optional<ActiveMapping>& current() const noexcept { return current_; }
  std::uint64_t failures() const noexcept { return failures_; }
  const std::string& last_error() const noexcept { return last_error_; }
  // Failed attempts in a row (what the backoff grows with).
  std::uint32_t consecutive_failures() const noexcept { return consecutive_failures_; }

 private:
  std::chrono::seconds backoff() const;

  ScheduleConfig config_;
  Clock::time_point next_due_;
  std::optional<ActiveMapping> current_;
  std::uint64_t failures_ = 0;
  std::uint32_t consecutive_failures_ = 0;
  std::string last_error_;
};

}  // namespace datafold::net::reachability
