// PeerTable: a node's bookkeeping of its peers, without sockets, threads or timers
// (DESIGN.md section 3). It is fed events (a node announced itself, the user added
// one, a connection authenticated or closed, a dial failed) and the time, and
// returns decisions: admit or refuse an inbound socket, adopt / retire a duplicate /
// evict an idle connection, use the open connection or join the dial under way or
// dial these addresses in this order or fail now, redial this node at time T, forget
// a node. NetworkNode holds the sockets and timers and carries the decisions out.
//
// Parts: the known nodes with their addresses (AddressBook each) and redial state
// live here; the connections are LinkTable's (connections are LinkIds the node
// assigns; the table asks what it needs about them through LinkFactsFn).
//
// Time: `PeerTime now` (steady_clock) is passed to every call that schedules;
// PeerTableConfig::wall_clock stamps what users see (last seen, last success).
//
// Not thread-safe: the node calls it under its own mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "datafold/net/error.hpp"
#include "datafold/net/node_info.hpp"
#include "peers/address_book.hpp"
#include "peers/link_table.hpp"
#include "peers/redial_backoff.hpp"

namespace datafold::net::detail {

using WallTime = std::chrono::system_clock::time_point;
using DialTicket = std::uint64_t;

struct PeerTableConfig {
  NodeId self;
  LinkLimits links;
  RedialPolicy redial;
  // A peer whose connection failed is redialled this many times in a row, then
  // left until it is heard from; a bootstrap peer, for as long as the node runs.
  std::uint32_t redial_max_attempts = 10;
  // Disconnected peers without an address (one-shot clients) remembered at most.
  std::size_t max_addressless_known = 1024;
  std::size_t max_addresses_per_node = AddressBook::kDefaultCapacity;
  std::function<WallTime()> wall_clock;  // empty: std::chrono::system_clock
  std::uint64_t random_seed = 0;          // redial jitter; 0: from std::random_device
  LinkFactsFn link_facts;                 // required
};

// "Dial `id` again at `at`." Only the newest order per id counts: pass
// `generation` back to redial_due() when the timer fires.
struct RedialOrder {
  NodeId id;
  PeerTime at{};
  std::uint64_t generation = 0;
};

// What a request for a connection to a node should do.
struct ConnectionPlan {
  enum class Kind {
    Use,   // the open connection `link`
    Join,  // wait for the dial under way, `ticket`
    Dial,  // dial `addresses` (in this order) as `ticket`
    Fail,  // answer `error` now
  };
  Kind kind = Kind::Fail;
  LinkId link = 0;
  DialTicket ticket = 0;
  std::vector<std::string> addresses;
  NetworkError error;
};

// A connection that completed its handshake, with what the handshake proved.
struct AuthenticatedLink {
  LinkId link = 0;
  NodeId peer;
  PublicKey public_key;
  bool inbound = false;
  std::string remote_ip;          // the IP its socket is connected to
  std::uint16_t listen_port = 0;  // from its Hello: where it accepts connections (0: nowhere)
  std::uint32_t protocol_version = 0;
  NodeCapabilities capabilities;
  std::uint32_t trust_distance = 0;
  // Outbound: the address that answered, and where it came from when it was dialled
  // by address (connect_to_address: Manual; a bootstrap peer: Bootstrap).
  std::string dialled_address;
  AddressSource dialled_source = AddressSource::Manual;
};

struct DialFailure {
  std::optional<RedialOrder> redial;
  bool gave_up = false;  // past redial_max_attempts: no more background redials
  std::uint32_t failures = 0;
};

struct LinkClosure {
  bool peer_gone = false;  // it was the connection in use for its peer
  NodeId peer;
  std::optional<RedialOrder> redial;
};

class PeerTable {
 public:
  explicit PeerTable(PeerTableConfig config);

  // Decisions are made for a running node only: stopped, the table refuses
  // connections and dials and orders no redial. stop() also forgets dials under way.
  void start();
  void stop();
  bool running() const noexcept { return running_; }
  // Once a stopped node's connections are gone: forgets them, the per-IP counts, the
  // redial state. Known nodes stay (a restarted node still knows them).
  void clear_connections();

  // ---------------------------------------------------------------- known nodes
  // The user says where a node is (add_known_node): its fields replace what was
  // known (health and protocol version kept while unknown there), its `address` and
  // `addresses` join the address book (as Manual unless they say otherwise). A new
  // address ends the wait of a failed dial. Ignored if the key is not the id's.
  void add_known(NodeInfo info);
  // A signed announcement (LAN, DHT) of `node`, with `node.addresses` (or
  // `node.address`) every address `source` knows for it; `node.trust_distance` as
  // the node's trust store has it. A sign of life: health Healthy, backoff reset,
  // and a redial at once if one was wanted.
  std::optional<RedialOrder> on_announced(const NodeInfo& node, AddressSource source, PeerTime now);
  // The LAN stopped hearing from `id` (goodbye or expiry): forgotten, or, while a
  // connection to it is up, when that connection goes.
  void on_lan_lost(const NodeId& id);
  // Every known node, addresses in dial order (`address` the first).
  std::vector<NodeInfo> known() const;
  std::optional<NodeInfo> find(const NodeId& id) const;
  std::size_t known_count() const noexcept { return known_.size(); }

  // ---------------------------------------------------------------- connections
  bool admit_inbound(const std::string& ip) { return links_.admit_inbound(ip); }
  void inbound_handshake_failed(const std::string& ip) { links_.inbound_handshake_failed(ip); }
  // Adopts (or refuses) a connection; on adoption the peer becomes known (or is
  // updated) with what the handshake proved, healthy, its redial over, and the
  // address it was reached at marked successful (or, inbound, its IP with its
  // listen port added as Inbound).
  Adoption on_authenticated(const AuthenticatedLink& link);
  // An adopted connection closed; `failed`: by the peer or the network, not our
  // choice. Decides what becomes of the peer: forgotten (the LAN lost it; too many
  // address-less peers), unreachable and redialled (one we dialled), or nothing.
  LinkClosure on_link_closed(LinkId link, bool failed, const std::string& reason, PeerTime now);
  std::optional<LinkId> link_for(const NodeId& id) const { return links_.link_for(id); }
  std::vector<NodeId> connected() const { return links_.connected(); }
  std::vector<LinkId> links() const { return links_.links(); }
  std::size_t link_count() const noexcept { return links_.size(); }

  // ---------------------------------------------------------------- dialling
  // What a request for a connection to `id` should do. Kind::Dial registers the
  // dial: later requests join it until end_dial().
  ConnectionPlan plan_connection(const NodeId& id, PeerTime now);
  // The link a request would use now (plan_connection's Kind::Use), changing nothing.
  std::optional<LinkId> open_link(const NodeId& id) const;
  // A dial of an address, whoever is there (connect_to_address, bootstrap). nullopt
  // when stopped.
  std::optional<DialTicket> begin_address_dial();
  // The dial is over; returns the node it was for, if it was for one.
  std::optional<NodeId> end_dial(DialTicket ticket);
  // A dial to `id` failed: unreachable, backoff grows; redialled if a redial is wanted
  // (its connection failed; a bootstrap peer) and not given up.
  DialFailure on_dial_failed(const NodeId& id, const NetworkError& error, PeerTime now);
  // A redial timer fired: true if it should dial now (the newest order, still wanted,
  // not connected or dialling meanwhile).
  bool redial_due(const NodeId& id, std::uint64_t generation) const;

  // ---------------------------------------------------------------- bootstrap peers
  // A bootstrap peer's dial of `address` answered as `id`: from now on it is
  // redialled by id whenever its connection fails, and never given up on.
  void on_bootstrap_connected(const std::string& address, const NodeId& id);
  // A bootstrap address did not answer: how long until it is tried again.
  std::chrono::milliseconds on_bootstrap_failed(const std::string& address, PeerTime now);

 private:
  struct Redial {
    RedialBackoff backoff;
    std::string last_error;
    bool wanted = false;      // redial in the background: a live connection to it failed
    bool persistent = false;  // a bootstrap peer: redial for as long as the node runs
    std::uint64_t generation = 0;
  };
  struct Peer {
    NodeInfo info;  // everything but the addresses, which are the book's
    AddressBook addresses;
    bool lost_from_lan = false;  // forget it when its connection goes
    std::optional<Redial> redial;
  };

  WallTime wall_now() const;
  NodeInfo view(const Peer& peer) const;
  Peer& peer_entry(const NodeId& id);
  std::optional<RedialOrder> schedule_redial(const NodeId& id, Redial& redial, PeerTime at);
  void forget(const NodeId& id);
  // Past max_addressless_known, forgets the disconnected address-less peers seen
  // longest ago, down to an eighth below it.
  void forget_oldest_addressless();

  PeerTableConfig config_;
  LinkTable links_;
  bool running_ = false;
  std::unordered_map<NodeId, Peer> known_;
  std::unordered_map<DialTicket, std::optional<NodeId>> dials_;
  std::unordered_map<NodeId, DialTicket> dial_for_node_;
  DialTicket next_ticket_ = 1;
  std::unordered_map<std::string, RedialBackoff> bootstrap_backoff_;
  std::mt19937_64 jitter_;
};

}  // namespace datafold::net::detail
