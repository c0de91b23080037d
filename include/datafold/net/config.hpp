// NetworkConfig: everything a node's network layer can be told. Defaults are
// DESIGN.md section 11's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datafold/net/error.hpp"
#include "datafold/net/identity.hpp"
#include "datafold/net/io_threads.hpp"
#include "datafold/net/node_info.hpp"
#include "datafold/net/reputation.hpp"

namespace datafold::net {

// What a relay gives the nodes it serves (DESIGN.md section 10.3). Past a limit a
// reservation or circuit is refused (RelayResponse REFUSED, saying which limit), and
// a running circuit is cut.
struct RelayLimits {
  std::size_t max_reservations = 128;
  std::size_t max_reservations_per_ip = 4;
  std::size_t max_circuits = 256;          // being joined or running, at once
  std::size_t max_circuits_per_peer = 16;  // per node id, as caller or target
  std::uint64_t max_circuit_bytes = 256ull << 20;  // both directions together
  std::chrono::seconds max_circuit_duration{30 * 60};
  // Both ends must join a circuit within this of its opening.
  std::chrono::milliseconds join_timeout{10'000};
};

struct NetworkConfig {
  // Where to accept connections. Port 0 picks a free port (see NetworkCore::listen_port()).
  // "::" (the default) takes IPv6 and IPv4 alike; "0.0.0.0" IPv4 alone.
  std::string listen_address = "::";
  std::uint16_t listen_port = 9000;
  // False: dial out only, never accept.
  bool accept_connections = true;

  // The node's identity. If unset, `key_file` is loaded (or created); if that is
  // empty too, an in-memory identity is generated for this run.
  std::optional<Identity> identity;
  std::filesystem::path key_file;

  // Nodes with another network name are refused at the handshake.
  std::string network_name = "datafold";
  std::string agent = "datafold-net/0.1";
  NodeCapabilities capabilities;

  // "host:port" of peers to dial at start (for networks that filter UDP).
  std::vector<std::string> bootstrap_peers;

  // Discovery (LAN): signed UDP announcements to a multicast group and by broadcast.
  // Off unless asked for: a library embedded in a program should not announce it on
  // the network by surprise. The `datafold node` daemon turns it on.
  bool enable_discovery = false;
  std::uint16_t discovery_port = 9001;
  // Interfaces to announce on, by name ("eth0") or address (IPv4 or IPv6). Empty:
  // every interface that is up and can multicast or broadcast, loopback excepted;
  // an interface with only IPv6 addresses counts. Loopback is used only when named
  // ("lo", "127.0.0.1" or "::1"), and for IPv4 only (Linux cannot multicast IPv6 on it).
  std::vector<std::string> discovery_interfaces;
  std::string discovery_group = "239.255.77.77";
  // IPv6 group, joined on each chosen interface by index: link-local scope, so it
  // never leaves the link; transient (ff1x), so it collides with nothing assigned.
  std::string discovery_group_v6 = "ff12::77:77";
  // Announcement interval (±10 % jitter); entries expire after 3 intervals unheard.
  std::chrono::milliseconds announcement_interval{30'000};
  // How long discover_nodes() collects answers to its probe.
  std::chrono::milliseconds discovery_wait{300};

  // Wide-area discovery on the DHT (OpenDHT; DESIGN.md section 10.2). Off unless asked
  // for: the node then puts its signed announcement in the DHT, keeps it fresh, and
  // looks up ids it has no address for. `dht_bootstrap` ("host:port" of DHT nodes) is
  // how it joins; with none, it is the first node of its DHT.
  bool enable_dht = false;
  std::uint16_t dht_port = 4222;  // UDP; 0 picks a free port
  std::vector<std::string> dht_bootstrap;
  // How long a lookup of a node id in the DHT may take before the caller gets a
  // Discovery error; discover_nodes() waits at most this for the network's nodes.
  std::chrono::milliseconds dht_lookup_timeout{10'000};
  // The announcement in the DHT is signed afresh and put again this often (±10 %);
  // readers believe it for three intervals.
  std::chrono::milliseconds dht_republish_interval{5 * 60'000};

  // Port mapping (NAT-PMP, then UPnP IGD; see reachability.hpp): map the listen port
  // on the gateway in the background, renew it before its lease ends, announce the
  // mapped address (source `mapped`), remove the mapping at stop. Off by default: it
  // opens a port on the user's router, which the application embedding the library
  // must decide to do. The `datafold node` daemon turns it on (--no-port-mapping).
  bool port_mapping = false;

  // Connection limits.
  std::size_t max_connections = 128;
  std::size_t max_connections_per_ip = 8;  // loopback exempt

  // Deadlines.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds ping_interval{30'000};
  std::chrono::milliseconds idle_timeout{300'000};
  // Happy Eyeballs (RFC 8305): dialling a node with several addresses, the next is
  // tried this long after the previous attempt started, or at once if that failed
  // sooner; the first that authenticates as the node wins, the rest are cancelled.
  // The whole dial ends within connect_timeout + handshake_timeout.
  std::chrono::milliseconds happy_eyeballs_delay{250};

  // Protocol limits.
  std::size_t max_frame_bytes = 16u << 20;
  std::size_t max_in_flight_per_connection = 1024;
  // Bytes queued for one connection's writer before new requests fail with ResourceExhausted.
  std::size_t max_write_queue_bytes = 32u << 20;

  // The node's memory budget: all that peers can make it hold (write queues, read
  // buffers, requests being answered) counts against it. Each connection's share
  // is max(budget / max_connections, 1 MiB): past it the node stops reading from
  // that peer (TCP pushes back) until its replies drain; one that stays so for
  // backpressure_stall_timeout, or holds more than its share when the budget is
  // spent, is closed (ResourceExhausted). 1 MiB .. 1 TiB.
  std::size_t memory_budget_bytes = 256u << 20;
  std::chrono::milliseconds backpressure_stall_timeout{20'000};

  // Requests (queries, schema listings) one peer may send: a token bucket per peer
  // node id, refilled at this rate and holding up to `request_burst_per_peer`, so
  // a burst passes but a flood does not. An excess request is still served, and
  // the node reads nothing more from that connection until the bucket would have
  // admitted it (its token debt): the sender is slowed to the rate, not sent an
  // Error per request. 0 turns the limit off.
  double max_requests_per_second_per_peer = 2'000;
  std::size_t request_burst_per_peer = 4'000;

  // Redial. After a dial to a peer fails, the next waits redial_initial_delay,
  // doubling with each failure up to redial_max_delay (each ±50 % jitter); a request
  // to the peer in that wait fails at once with a Connection error rather than
  // waiting out another connect timeout. A peer this node dialled whose connection
  // failed, and every bootstrap peer, is redialled in the background: a lost peer up to
  // `redial_max_attempts` times in a row, a bootstrap peer for as long as the node
  // runs. Hearing a peer's announcement again ends its wait.
  std::chrono::milliseconds redial_initial_delay{1'000};
  std::chrono::milliseconds redial_max_delay{300'000};
  std::uint32_t redial_max_attempts = 10;

  // Trust distance given to keys the trust store does not know ("untrusted").
  std::uint32_t unknown_trust_distance = 0xFFFFFFFFu;
  // The trust store's JSON file (see trust_store.hpp), normally in the data dir.
  // Empty: the store lives in memory, filled through NetworkCore::trust_store().
  // Changes to the file by other processes apply without a restart.
  std::filesystem::path trust_store_file;

  // Reputation (DESIGN.md section 10.4): scores kept per node id and per IP from what
  // peers do; avoided peers are not dialled, relayed through or offered; banned ones
  // are refused at accept, after the handshake, and in discovery.
  ReputationSettings reputation;

  // Relaying (DESIGN.md section 10.3). `relay`: this node accepts reservations from
  // nodes that cannot be dialled and joins circuits to them, within `relay_limits`.
  // Off by default: a relay spends its owner's bandwidth. It should be on only on a
  // node others can dial.
  bool relay = false;
  RelayLimits relay_limits;
  // When to keep reservations at relays (up to `max_relay_reservations`, chosen among
  // the nodes it knows that relay; those in `relays`, "host:port", first) and announce
  // the relayed addresses: when DialBack checks say the node cannot be dialled (the
  // default), always (an operator who knows the node is behind a NAT), or never.
  enum class RelayUse { Never, WhenUnreachable, Always };
  RelayUse use_relays = RelayUse::WhenUnreachable;
  std::size_t max_relay_reservations = 3;
  std::vector<std::string> relays;

  // Hole punching: over a relayed connection, the two ends try to open a direct one
  // (DESIGN.md section 10.3); it replaces the relayed one when it works.
  bool hole_punching = true;

  // Reachability (DialBack): this node answers peers asking to be dialled back (always
  // only at the address they connect from), at most `dial_back_rate_per_ip` per second
  // per IP, and, unless `use_relays` is Never, asks each peer to dial it back once
  // every `reachability_interval`.
  bool answer_dial_back = true;
  double dial_back_rate_per_ip = 0.2;
  std::chrono::milliseconds reachability_interval{10 * 60 * 1000};

  // Threads: I/O (sockets, TLS) and handlers (application callbacks).
  std::size_t io_threads = 1;
  std::size_t handler_threads = 2;
  // Set: the node's I/O runs on these threads, shared with other nodes of the
  // process, and io_threads is not used (io_threads.hpp). The node keeps them only
  // while it runs.
  std::shared_ptr<IoThreads> shared_io;

  // Checks every value; a Config error names the bad setting.
  NetworkResult<void> validate() const;
};

}  // namespace datafold::net
