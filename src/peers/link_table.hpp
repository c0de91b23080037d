// LinkTable: the connections a node holds, without the connections. Each is a
// LinkId the node assigned; the table counts them (in all, per remote IP, in
// handshake), keeps the one in use per peer, and decides: admit or refuse an
// inbound socket, adopt an authenticated connection or refuse it, which of two
// connections to one peer to retire, which idle connection to evict for room.
// What changes under it (open? idle? last activity?) it asks through LinkFactsFn.
//
// Not thread-safe: PeerTable, its owner, is locked by the node. LinkFactsFn is
// called inside the table's calls, so it must not take that lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "datafold/net/connection.hpp"
#include "datafold/net/node_id.hpp"

namespace datafold::net::detail {

// A connection, as the node numbers them. Never reused; 0 is none.
using LinkId = std::uint64_t;
using PeerClock = std::chrono::steady_clock;
using PeerTime = PeerClock::time_point;

// What the table needs to know about a connection now.
struct LinkFacts {
  ConnectionState state = ConnectionState::Closed;
  bool idle = false;      // nothing in flight either way: closing it loses nothing
  PeerTime last_activity{};  // last request or reply either way
  bool relayed = false;      // runs through a relay's circuit
};
using LinkFactsFn = std::function<LinkFacts(LinkId)>;

struct LinkLimits {
  std::size_t max_connections = 128;
  std::size_t max_connections_per_ip = 8;  // inbound, loopback exempt
  // Idle connections being closed to make room at once; more waits for those to go.
  std::size_t max_evictions_in_progress = 8;
  // Handshakes allowed past the cap, each hoping to take an idle connection's place.
  std::size_t max_handshakes_over_cap = 8;
};

// What to do with a connection that has authenticated.
struct Adoption {
  enum class Verdict {
    Adopted,  // keep it; see `use`, `retire`, `evict`
    Self,     // it is this node: close it
    Full,     // at the cap with nothing idle to evict: tell it so (release for room)
    Stopped,  // the node is stopping: close it
  };
  Verdict verdict = Verdict::Stopped;
  LinkId use = 0;                // Adopted: the connection requests to the peer go on
  std::optional<LinkId> retire;  // Adopted: a duplicate to the same peer, to supersede
  std::optional<LinkId> evict;   // Adopted: an idle connection to release for room
};

class LinkTable {
 public:
  LinkTable(NodeId self, LinkLimits limits, LinkFactsFn facts);

  // A socket accepted from `ip`: true if it may handshake (it then counts as a
  // handshake under way and against its IP). At the cap, a few handshakes may still
  // go ahead when an idle connection could make room; the room is made only once the
  // newcomer has authenticated (adopt()), so sockets that never finish a handshake
  // push nobody out.
  bool admit_inbound(const std::string& ip);
  // An admitted inbound socket failed its handshake: it stops counting.
  void inbound_handshake_failed(const std::string& ip);

  // A connection authenticated as `peer`. `inbound`: it was admitted by
  // admit_inbound() from `ip`, and stops counting as a handshake now, in the same
  // step as it starts counting as established (so no accept in between sees room
  // that is not there). A refused inbound connection stops counting against its IP.
  Adoption adopt(LinkId link, const NodeId& peer, bool inbound, const std::string& ip, bool accepting);

  struct Closed {
    bool known = false;      // the table held it (it had been adopted)
    bool held_slot = false;  // it was the one in use for its peer
    NodeId peer;
    bool inbound = false;
  };
  // The connection is gone.
  Closed on_closed(LinkId link);

  // The connection in use for `peer`, open or not yet reported closed.
  std::optional<LinkId> link_for(const NodeId& peer) const;
  // Peers whose connection in use is open.
  std::vector<NodeId> connected() const;
  // Every adopted connection not yet closed, duplicates included.
  std::vector<LinkId> links() const;
  std::size_t size() const noexcept { return links_.size(); }
  // Peers with a connection in use (open or not yet reported closed).
  std::size_t peers_linked() const noexcept { return in_use_.size(); }
  // Forgets everything (the node stopped and its connections are gone).
  void clear();

  // The open connection with nothing in flight used longest ago, not already being
  // evicted, if any.
  std::optional<LinkId> least_recently_used_idle() const;

  // True for 127.0.0.0/8, ::1, and IPv4-mapped loopback.
  static bool is_loopback(const std::string& ip);

 private:
  struct Link {
    NodeId peer;
    bool inbound = false;
    std::string ip;  // inbound: what it counts against
    bool evicting = false;
  };
  void release_ip(const std::string& ip);
  std::size_t evicting_count() const;

  NodeId self_;
  LinkLimits limits_;
  LinkFactsFn facts_;
  std::unordered_map<LinkId, Link> links_;
  std::unordered_map<NodeId, LinkId> in_use_;  // per peer
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::size_t handshaking_ = 0;
};

}  // namespace datafold::net::detail
