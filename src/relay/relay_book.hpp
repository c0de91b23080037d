// RelayBook: what a relay has promised (DESIGN.md section 10.3). Reservations held
// by nodes that cannot be dialled, circuits being joined and circuits running,
// each under the relay's limits. Socket-free: RelayServer feeds it and carries out
// its answers; tests drive it with a fake clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "datafold/net/config.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/node_id.hpp"

namespace datafold::net::detail {

struct RelayCounters {
  std::uint64_t reservations_refused = 0;
  std::uint64_t circuits_opened = 0;      // both ends joined
  std::uint64_t circuits_refused = 0;     // no reservation, or a limit
  std::uint64_t circuits_expired = 0;     // an end never joined
  std::uint64_t joins_refused = 0;        // a token the relay does not know
};

class RelayBook {
 public:
  using Clock = std::chrono::steady_clock;
  // Which connection holds a reservation (the node's key for it).
  using Holder = std::uint64_t;

  explicit RelayBook(RelayLimits limits) : limits_(limits) {}

  struct Verdict {
    bool ok = false;
    std::string why;  // when refused
    bool abuse = false;  // refused for a limit of the asker's own (reputation counts it)
  };

  // `node` (connected from `ip` on `holder`) asks to be reachable here. Asking
  // again on the same connection is fine; a second connection takes it over.
  Verdict reserve(const NodeId& node, const std::string& ip, Holder holder);
  // The connection `holder` closed: its reservations go.
  void release(Holder holder);
  std::optional<Holder> holder_of(const NodeId& node) const;

  // `caller` wants a circuit to `target`, to be joined with `token` (random, made
  // by the caller of this). Ok, NoReservation or Refused (status + why).
  struct Offer {
    RelayResponseMessage::Status status = RelayResponseMessage::Status::Refused;
    std::string why;
    bool abuse = false;  // refused for a limit of the caller's own
    Holder target_holder = 0;  // Ok: where to send the invitation
  };
  Offer open_circuit(const NodeId& caller, const NodeId& target, const RelayToken& token, Clock::time_point now);
  // The target did not accept the invitation: the circuit is forgotten.
  void cancel(const RelayToken& token);

  // A connection presented `token`. Unknown: close it. First: keep it waiting for
  // the other end. Second: splice the two.
  enum class Join { Unknown, First, Second };
  Join join(const RelayToken& token);
  // A running or waiting circuit ended (its sockets are closed): its slots free up.
  void end(const RelayToken& token);
  // Circuits whose ends did not both join within the limit: ended here; the caller
  // closes a waiting end's socket.
  std::vector<RelayToken> expire(Clock::time_point now);

  std::size_t reservations() const { return reservations_.size(); }
  std::size_t circuits() const { return circuits_.size(); }
  std::size_t circuits_running() const;
  const RelayCounters& counters() const { return counters_; }
  const RelayLimits& limits() const { return limits_; }

 private:
  struct Reservation {
    std::string ip;
    Holder holder = 0;
  };
  struct Circuit {
    NodeId caller;
    NodeId target;
    Clock::time_point opened;
    int joined = 0;
  };
  std::size_t circuits_of(const NodeId& node) const;

  RelayLimits limits_;
  std::unordered_map<NodeId, Reservation> reservations_;
  std::map<RelayToken, Circuit> circuits_;
  RelayCounters counters_;
};

}  // namespace datafold::net::detail
