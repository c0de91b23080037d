// DhtDiscovery: wide-area discovery on OpenDHT (DESIGN.md section 10.2,
// docs/PROTOCOL.md section 13). Runs an OpenDHT node (dht::DhtRunner) on its own
// UDP port, puts this node's signed announcement under its node key and its
// network key and keeps it fresh, and looks nodes up there. Every value read is
// checked by a DhtValueChecker; what fails is counted in stats() and ignored.
//
// What it never does: contact anything but the configured bootstrap nodes and
// the nodes they lead to (no built-in public bootstrap, OpenDHT's LAN peer
// discovery off, no proxy, no push notifications); sign with OpenDHT's crypto
// (our values carry our own Ed25519 signature); persist anything.
//
// Threads. create() binds the socket; start() starts OpenDHT's threads (its
// node and its socket's receiver) and one thread of our own. Every handler runs
// on that thread of ours, never on OpenDHT's and never inside the call that
// started it; the values it checks are copied off OpenDHT's thread first.
// Handlers should not block: lookups wait while one runs. Every member may be
// called from any thread, handlers included; stop() (or destruction) from a
// handler returns without waiting for our thread, which then ends by itself.
//
// Lookups. Each completes exactly once: when a DHT search finishes with
// something to report, or at its deadline, or at stop(). A search that finishes
// with nothing (not joined yet, value not stored yet) is repeated, with backoff,
// until the deadline.
//
// OpenDHT 2.4.12 (Debian's), as measured with nodes in one process:
//  - Many nodes on one IP address work: 24 nodes on 127.0.0.1 all fill their
//    routing tables and find all 552 of each other's values at once; its
//    per-IP request rate limit did not drop anything there.
//  - Nodes on *different* loopback addresses (127.0.0.2, 127.0.0.3, ...) do not:
//    OpenDHT replaces a loopback address in a node list it receives with the
//    sender's address, so each node only ever reaches the one it bootstrapped
//    from. Tests on loopback put every node on 127.0.0.1. Distinct private
//    addresses (10.77.0.1-24 in a namespace) behave like distinct hosts.
//  - A value id's data is never replaced on a storage node (see dht_value.hpp).
//  - IPv6 on ::1 works as IPv4 on 127.0.0.1 does.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datafold/net/error.hpp"
#include "datafold/net/identity.hpp"
#include "datafold/net/node_id.hpp"
#include "discovery/announcement.hpp"
#include "discovery/dht/dht_found_node.hpp"
#include "discovery/dht/dht_value_checker.hpp"

namespace datafold::net::discovery {

struct DhtConfig {
  Identity identity;                    // signs our announcements
  std::string network_name = "datafold";
  // "::": every interface, IPv4 and IPv6 (two sockets, one port where possible);
  // "0.0.0.0": every IPv4 interface; an IPv4 or IPv6 literal: that address alone.
  std::string bind_address = "::";
  std::uint16_t port = 4222;            // OpenDHT's default; 0: any free port (see port())
  // "host:port" or "[v6]:port" of nodes already in the DHT; tried again every few
  // seconds while none answers. Empty: this is the first node of its DHT.
  std::vector<std::string> bootstrap{};
  // How often our announcement is signed afresh (new sequence and timestamp) and
  // put again, ±10 %. Its ttl is three intervals (capped at kMaxDhtValueLifetime),
  // so readers believe it through two missed republishes.
  std::chrono::milliseconds republish_interval{5 * 60'000};
  // How far a value's timestamp may be ahead of our clock, and the slack on its
  // lifetime.
  std::chrono::milliseconds skew_window{60'000};
  // OpenDHT's network id: nodes talk only to nodes with the same one. 0 is the id
  // of OpenDHT's public network (joining it also takes one of its bootstrap nodes).
  std::uint32_t dht_network = 0;
  // Unix milliseconds; stamps and checks announcements. Empty: the system clock.
  std::function<std::int64_t()> wall_clock{};
  // Nodes whose values are dropped before their signature is checked (bans).
  RefuseNode refuse_node{};
};

// One value found under a node's key, for `datafold lookup`.
struct DhtValueReport {
  DhtVerdict verdict = DhtVerdict::Malformed;
  bool verified = false;                     // is_verified(verdict)
  std::string why_not;                       // "" when verified, else to_string(verdict)
  std::optional<AnnouncementFields> fields;  // when its signature verified
  std::chrono::milliseconds age{0};          // now - timestamp (negative: from the future); 0 without fields
  std::size_t bytes = 0;
};

struct DhtStats {
  DhtValueCounters values;          // every value read, by verdict (inspect() not counted)
  std::uint64_t lookups = 0;        // lookup() calls
  std::uint64_t lookups_found = 0;
  std::uint64_t lookups_failed = 0;  // completed with a Discovery error
  std::uint64_t network_queries = 0;  // find_network_nodes() calls
  std::uint64_t inspections = 0;     // inspect() calls
  std::uint64_t searches = 0;        // DHT get operations (a lookup may repeat its search)
  std::uint64_t values_dropped = 0;  // beyond the per-lookup cap, never checked
  std::uint64_t publications = 0;    // announcements signed and put (both keys)
  std::uint64_t puts_succeeded = 0;  // per key
  std::uint64_t puts_failed = 0;
  // The UDP socket OpenDHT runs on.
  std::uint64_t datagrams_in = 0;
  std::uint64_t datagrams_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  // OpenDHT's routing table, IPv4 and IPv6 together; 0 when not running.
  std::uint32_t good_nodes = 0;
  std::uint32_t dubious_nodes = 0;
};

class DhtDiscovery {
 public:
  using LookupHandler = std::function<void(NetworkResult<DhtFoundNode>)>;
  using NodesHandler = std::function<void(std::vector<DhtFoundNode>)>;
  using InspectHandler = std::function<void(std::vector<DhtValueReport>)>;

  // Checks the config and binds the UDP socket. Config error for a bad bind
  // address or bootstrap entry; Connection error if the port cannot be bound.
  static NetworkResult<std::unique_ptr<DhtDiscovery>> create(DhtConfig config);
  ~DhtDiscovery();  // stop()
  DhtDiscovery(const DhtDiscovery&) = delete;
  DhtDiscovery& operator=(const DhtDiscovery&) = delete;

  // Runs the OpenDHT node, contacts the bootstrap nodes, and publishes what
  // publish() was given. Does nothing if already started; Discovery error if
  // stopped, or if OpenDHT cannot start (its message says why).
  NetworkResult<void> start();
  // Completes outstanding lookups (lookup(): Discovery error; the others: what
  // was read so far), stops OpenDHT and our thread and closes the socket. When it
  // returns no thread of this object is left and no handler runs again. A stopped
  // object cannot be restarted. Idempotent.
  void stop();

  // The bound UDP port (IPv4's when both families are bound).
  std::uint16_t port() const;
  const NodeId& node_id() const;

  // What to announce from now on: tcp_port, addresses, capabilities and version
  // range are taken from `fields`; node id, key, network name, instance id,
  // sequence, timestamp and ttl are ours. Signed and put at once (once started),
  // then every republish_interval. Addresses must be ones others can dial: an
  // unspecified one (0.0.0.0, ::) means nothing to a DHT reader and is dropped
  // by it.
  void publish(AnnouncementFields fields);

  // The node's newest verified announcement under its node key. Discovery error
  // if none is found by the deadline, or if stopped first, or if not started.
  // (Called after stop(), each of these three calls `done` before returning:
  // there is no thread left to call it from.)
  void lookup(const NodeId& id, std::chrono::milliseconds deadline, LookupHandler done);
  // Every node whose verified announcement is under our network key, newest
  // each, ourselves excluded. Empty if none is found by the deadline.
  void find_network_nodes(std::chrono::milliseconds deadline, NodesHandler done);
  // Every value under `id`'s node key, each with its verdict. Counts nothing and
  // remembers nothing. Empty if none is found by the deadline.
  void inspect(const NodeId& id, std::chrono::milliseconds deadline, InspectHandler done);

  DhtStats stats() const;

  struct Impl;  // dht_discovery.cpp
  explicit DhtDiscovery(std::shared_ptr<Impl> impl);

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace datafold::net::discovery
