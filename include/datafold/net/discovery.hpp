// NodeDiscovery: finds nodes on the local network. Signed UDP announcements go to
// an IPv4 multicast group, by broadcast, and to an IPv6 link-local multicast group
// on each interface, all on the discovery port; probes ask every node to answer at once. A NetworkCore owns one and merges what it finds into
// known_nodes(); it is public for tools that want discovery alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "datafold/net/error.hpp"
#include "datafold/net/identity.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/node_info.hpp"

namespace datafold::net {

struct DiscoveryConfig {
  Identity identity;
  std::string network_name = "datafold";
  std::uint16_t tcp_port = 0;  // where this node accepts connections (0: it does not)
  NodeCapabilities capabilities;
  std::uint16_t discovery_port = 9001;
  std::vector<std::string> interfaces;  // see NetworkConfig::discovery_interfaces
  std::string group = "239.255.77.77";
  std::string group_v6 = "ff12::77:77";  // see NetworkConfig::discovery_group_v6
  std::chrono::milliseconds announcement_interval{30'000};
  // Where the node accepts connections (NetworkConfig::listen_address): announcements
  // carry the addresses of the chosen interfaces it covers ("::" all, "0.0.0.0"
  // the IPv4 ones, another address just that). "": none, and receivers take each
  // datagram's source address instead.
  std::string listen_address;
  // Reputation's say (optional; NetworkNode fills them): a datagram from an IP
  // `refuse_sender` names is dropped before it is parsed; announcements of a node
  // `refuse_node` names are dropped before their signature is checked; `on_forged`
  // hears the source IP of each datagram whose signature or node id does not
  // check. Run on discovery's thread.
  std::function<bool(std::string_view ip)> refuse_sender{};
  std::function<bool(const NodeId&)> refuse_node{};
  std::function<void(std::string_view ip)> on_forged{};
};

enum class DiscoveryEvent { Discovered, Updated, Departed, Expired };

struct DiscoveryStats {
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagrams_accepted = 0;
  std::uint64_t datagrams_ignored = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t nodes_known = 0;
};

class NodeDiscovery {
 public:
  using EventHandler = std::function<void(DiscoveryEvent, const NodeInfo&)>;

  // Opens the sockets, with an I/O thread of its own. Connection error if the port
  // cannot be bound; Config error if no interface matches. `on_event` runs on that thread.
  static NetworkResult<std::unique_ptr<NodeDiscovery>> create(DiscoveryConfig config, EventHandler on_event);
  ~NodeDiscovery();

  // Announces (as a probe, so others answer now) and keeps announcing.
  void start();
  // Says goodbye (ttl 0) and stops; waits until the goodbye is sent.
  void stop();

  // Probes the network and returns every node known after `wait`.
  std::vector<NodeInfo> find_nodes(std::chrono::milliseconds wait);
  // One announcement now, outside the schedule.
  void announce_presence();
  // Addresses to announce besides those of the interfaces ("ip" or "ip:port"): what
  // the node learnt it is reachable at, such as an observed public address
  // (ObservedAddresses) with its listen port. Replaces the previous extra set;
  // goes out with the next announcement (announce_presence() sends one now).
  // Thread-safe.
  void set_extra_addresses(std::vector<std::string> addresses);
  // A signed announcement that arrived some other way (e.g. over a connection).
  void handle_node_announcement(const NodeAnnouncementMessage& announcement, const std::string& from_ip);
  // A live connection heard from `id`: keeps its entry from expiring.
  void refresh(const NodeId& id);

  std::unordered_map<NodeId, NodeInfo> known_nodes() const;
  DiscoveryStats stats() const;
  // The interfaces announcements go out on, "name (address, address...)".
  std::vector<std::string> interfaces() const;

  struct Impl;  // src/discovery/node_discovery_impl.hpp
  explicit NodeDiscovery(std::shared_ptr<Impl> impl);

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace datafold::net
