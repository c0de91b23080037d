// The UDP adapter around DiscoveryCore: sockets and a timer on one strand. Per
// address family (IPv4 when a chosen interface has an IPv4 address, IPv6 when one
// can multicast IPv6):
//  - the group socket is bound to the discovery port and joined to the multicast
//    group on every chosen interface (IPv6: by interface index): it hears
//    announcements and probes;
//  - the unicast socket (an ephemeral port) sends everything, so a probe's
//    unicast answers come back to this node alone even when several nodes share
//    a host and its discovery port.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include "datafold/net/discovery.hpp"
#include "discovery/lan/discovery_table.hpp"
#include "discovery/lan/lan_interfaces.hpp"

namespace datafold::net {

struct NodeDiscovery::Impl : std::enable_shared_from_this<NodeDiscovery::Impl> {
  using Strand = asio::strand<asio::any_io_executor>;

  // Set only when NodeDiscovery::create made its own I/O thread. Declared first so
  // it is destroyed last: the sockets and the timer below unregister from its
  // services when they are destroyed (AddressSanitizer: heap-use-after-free when
  // the context went first).
  std::unique_ptr<asio::io_context> own_io;
  std::thread own_thread;

  // One socket with what its receive loop needs.
  struct Receiver {
    explicit Receiver(Strand& strand) : socket(strand) {}
    asio::ip::udp::socket socket;
    std::array<std::uint8_t, 9 * 1024> buffer{};
    asio::ip::udp::endpoint sender;
  };

  Impl(const asio::any_io_executor& executor, net::DiscoveryConfig config, std::vector<discovery::LanInterface> interfaces,
       EventHandler on_event);

  NetworkResult<void> open_sockets();
  NetworkResult<void> open_ipv4();
  NetworkResult<void> open_ipv6();
  void start();
  void stop();  // on the strand
  void send(const discovery::Destination& destination, const std::string& datagram);
  void send_to_group(const std::string& datagram);
  void receive(Receiver& receiver);
  void rearm();
  void snapshot();  // copies what other threads may read

  // Runs `work` on the strand and waits for it (never call from the strand).
  template <class Work>
  void run_on_strand(Work&& work);

  Strand strand;
  const net::DiscoveryConfig config;
  const std::vector<discovery::LanInterface> lans;
  EventHandler on_event;
  std::vector<std::string> interface_addresses;  // what the chosen interfaces give us to announce
  asio::ip::address_v4 group_v4;
  asio::ip::address_v6 group_v6;
  Receiver group4;
  Receiver unicast4;
  Receiver group6;
  Receiver unicast6;
  asio::steady_timer timer;
  std::optional<discovery::DiscoveryCore> core;
  bool stopped = false;                   // on the strand
  std::atomic<bool> stop_requested{false};  // any thread: stop() runs once

  mutable std::mutex snapshot_mutex;
  std::unordered_map<NodeId, NodeInfo> known;
  DiscoveryStats stats;

};

// Discovery on an executor the caller runs (NetworkCore's I/O threads).
NetworkResult<std::unique_ptr<NodeDiscovery>> make_node_discovery(const asio::any_io_executor& executor,
                                                                  DiscoveryConfig config,
                                                                  NodeDiscovery::EventHandler on_event);

}  // namespace datafold::net
