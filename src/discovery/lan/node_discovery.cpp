#include "discovery/lan/node_discovery_impl.hpp"

#include <future>
#include <thread>

#include <asio/ip/multicast.hpp>
#include <asio/post.hpp>
#include <spdlog/spdlog.h>

namespace datafold::net {

namespace {

DiscoveryEvent from_core(discovery::NodeEvent event) {
  switch (event) {
    case discovery::NodeEvent::Discovered: return DiscoveryEvent::Discovered;
    case discovery::NodeEvent::Updated: return DiscoveryEvent::Updated;
    case discovery::NodeEvent::Departed: return DiscoveryEvent::Departed;
    case discovery::NodeEvent::Expired: return DiscoveryEvent::Expired;
  }
  return DiscoveryEvent::Updated;
}

}  // namespace

NodeDiscovery::Impl::Impl(asio::io_context& io, net::DiscoveryConfig config_in,
                          std::vector<discovery::LanInterface> interfaces, EventHandler handler)
    : strand(asio::make_strand(io)),
      config(std::move(config_in)),
      lans(std::move(interfaces)),
      on_event(std::move(handler)),
      group_socket(strand),
      unicast_socket(strand),
      timer(strand) {}

NetworkResult<void> NodeDiscovery::Impl::open_sockets() {
  using asio::ip::udp;
  std::error_code ec;
  const auto group = asio::ip::make_address_v4(config.group, ec);
  if (ec || !group.is_multicast()) return make_error(ErrorKind::Config, "'" + config.group + "' is not an IPv4 multicast group");

  group_socket.open(udp::v4(), ec);
  // Several nodes on one host share the discovery port: each hears the group.
  if (!ec) group_socket.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) group_socket.bind(udp::endpoint(asio::ip::address_v4::any(), config.discovery_port), ec);
  if (ec)
    return make_error(ErrorKind::Connection,
                      "cannot bind discovery port " + std::to_string(config.discovery_port) + ": " + ec.message());
  for (const auto& lan : lans) {
    if (!lan.multicast) continue;
    std::error_code join_ec;
    group_socket.set_option(asio::ip::multicast::join_group(group, asio::ip::make_address_v4(lan.address)), join_ec);
    if (join_ec) spdlog::warn("discovery: cannot join {} on {}: {}", config.group, lan.name, join_ec.message());
  }

  unicast_socket.open(udp::v4(), ec);
  if (!ec) unicast_socket.set_option(asio::socket_base::broadcast(true), ec);
  if (!ec) unicast_socket.set_option(asio::ip::multicast::enable_loopback(true), ec);
  if (!ec) unicast_socket.set_option(asio::ip::multicast::hops(1), ec);  // never beyond the LAN
  if (!ec) unicast_socket.bind(udp::endpoint(asio::ip::address_v4::any(), 0), ec);
  if (ec) return make_error(ErrorKind::Connection, "cannot open the discovery socket: " + ec.message());

  discovery::DiscoveryConfig core_config{.identity = config.identity};
  core_config.network_name = config.network_name;
  core_config.tcp_port = config.tcp_port;
  core_config.capabilities = config.capabilities;
  core_config.announcement_interval = config.announcement_interval;
  core_config.on_event = [this](discovery::NodeEvent event, const NodeInfo& info) {
    if (on_event) on_event(from_core(event), info);
  };
  core.emplace(std::move(core_config),
               [this](const discovery::Destination& destination, const std::string& datagram) {
                 send(destination, datagram);
               });
  return {};
}

void NodeDiscovery::Impl::send(const discovery::Destination& destination, const std::string& datagram) {
  using asio::ip::udp;
  std::error_code ec;
  if (destination.kind == discovery::Destination::Kind::Unicast) {
    auto address = asio::ip::make_address(destination.ip, ec);
    if (!ec) unicast_socket.send_to(asio::buffer(datagram), udp::endpoint(address, destination.port), 0, ec);
    if (ec) spdlog::debug("discovery: unicast to {} failed: {}", destination.to_string(), ec.message());
    return;
  }
  // The group: multicast and broadcast on every chosen interface, because many
  // networks filter one or the other. Receivers drop the duplicate.
  const auto group = asio::ip::make_address_v4(config.group);
  for (const auto& lan : lans) {
    const auto address = asio::ip::make_address_v4(lan.address);
    if (lan.multicast) {
      unicast_socket.set_option(asio::ip::multicast::outbound_interface(address), ec);
      if (!ec) unicast_socket.send_to(asio::buffer(datagram), udp::endpoint(group, config.discovery_port), 0, ec);
      if (ec) spdlog::debug("discovery: multicast on {} failed: {}", lan.name, ec.message());
    }
    if (!lan.broadcast.empty()) {
      auto broadcast = asio::ip::make_address_v4(lan.broadcast, ec);
      if (!ec) unicast_socket.send_to(asio::buffer(datagram), udp::endpoint(broadcast, config.discovery_port), 0, ec);
      if (ec) spdlog::debug("discovery: broadcast on {} failed: {}", lan.name, ec.message());
    }
  }
}

void NodeDiscovery::Impl::receive(asio::ip::udp::socket& socket, std::array<std::uint8_t, 9 * 1024>& buffer,
                                  asio::ip::udp::endpoint& sender) {
  socket.async_receive_from(asio::buffer(buffer), sender,
                            [self = shared_from_this(), &socket, &buffer, &sender](std::error_code ec, std::size_t n) {
                              if (self->stopped || ec == asio::error::operation_aborted) return;
                              if (!ec) {
                                self->core->on_datagram(sender.address().to_string(), sender.port(),
                                                        std::span<const std::uint8_t>(buffer.data(), n),
                                                        discovery::Clock::now());
                                self->snapshot();
                                self->rearm();
                              }
                              self->receive(socket, buffer, sender);
                            });
}

void NodeDiscovery::Impl::rearm() {
  if (stopped) return;
  auto wakeup = core->next_wakeup();
  if (!wakeup) return;
  timer.expires_at(*wakeup);
  timer.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec || self->stopped) return;
    self->core->on_timer(discovery::Clock::now());
    self->snapshot();
    self->rearm();
  });
}

void NodeDiscovery::Impl::snapshot() {
  auto nodes = core->known_nodes();
  const auto& c = core->counters();
  std::lock_guard lock(snapshot_mutex);
  known = std::move(nodes);
  stats.datagrams_received = c.received;
  stats.datagrams_accepted = c.accepted;
  stats.datagrams_ignored = c.ignored();
  stats.datagrams_sent = c.sent;
  stats.nodes_known = known.size();
}

void NodeDiscovery::Impl::start() {
  asio::post(strand, [self = shared_from_this()] {
    self->core->start(discovery::Clock::now());
    self->receive(self->group_socket, self->group_buffer, self->group_sender);
    self->receive(self->unicast_socket, self->unicast_buffer, self->unicast_sender);
    self->snapshot();
    self->rearm();
  });
}

void NodeDiscovery::Impl::stop() {
  if (stopped) return;
  core->stop(discovery::Clock::now());  // the goodbye goes out synchronously
  stopped = true;
  std::error_code ignored;
  timer.cancel();
  group_socket.close(ignored);
  unicast_socket.close(ignored);
}

template <class Work>
void NodeDiscovery::Impl::run_on_strand(Work&& work) {
  std::promise<void> done;
  auto finished = done.get_future();
  asio::post(strand, [&] {
    work();
    done.set_value();
  });
  // The context may be stopping; don't wait for ever on a strand that will not run.
  finished.wait_for(std::chrono::seconds(5));
}

// ------------------------------------------------------------------ NodeDiscovery

NetworkResult<std::unique_ptr<NodeDiscovery>> make_node_discovery(asio::io_context& io, DiscoveryConfig config,
                                                                  NodeDiscovery::EventHandler on_event) {
  auto interfaces = discovery::select_interfaces(config.interfaces);
  if (!interfaces) return std::move(interfaces).error();
  auto impl = std::make_shared<NodeDiscovery::Impl>(io, std::move(config), std::move(*interfaces), std::move(on_event));
  if (auto opened = impl->open_sockets(); !opened) return std::move(opened).error();
  return std::make_unique<NodeDiscovery>(std::move(impl));
}

NetworkResult<std::unique_ptr<NodeDiscovery>> NodeDiscovery::create(DiscoveryConfig config, EventHandler on_event) {
  auto io = std::make_unique<asio::io_context>(1);
  auto made = make_node_discovery(*io, std::move(config), std::move(on_event));
  if (!made) return made;
  auto& impl = *(*made)->impl_;
  impl.own_io = std::move(io);
  impl.own_thread = std::thread([io = impl.own_io.get()] {
    auto work = asio::make_work_guard(*io);
    io->run();
  });
  return made;
}

NodeDiscovery::NodeDiscovery(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

NodeDiscovery::~NodeDiscovery() {
  stop();
  if (impl_->own_io) {
    impl_->own_io->stop();
    if (impl_->own_thread.joinable()) impl_->own_thread.join();
  }
}

void NodeDiscovery::start() { impl_->start(); }

void NodeDiscovery::stop() {
  if (impl_->stop_requested.exchange(true)) return;
  auto impl = impl_;
  impl->run_on_strand([impl] { impl->stop(); });
}

std::vector<NodeInfo> NodeDiscovery::find_nodes(std::chrono::milliseconds wait) {
  auto impl = impl_;
  asio::post(impl->strand, [impl] {
    if (impl->stopped) return;
    impl->core->probe(discovery::Clock::now());
    impl->rearm();
  });
  // Answers arrive within the probe-reply delay (≤ 100 ms) plus the network's.
  std::this_thread::sleep_for(wait);
  std::vector<NodeInfo> out;
  for (auto& [id, info] : known_nodes()) out.push_back(std::move(info));
  return out;
}

void NodeDiscovery::announce_presence() {
  asio::post(impl_->strand, [impl = impl_] {
    if (impl->stopped) return;
    impl->core->announce_presence(discovery::Clock::now());
    impl->rearm();
  });
}

void NodeDiscovery::handle_node_announcement(const NodeAnnouncementMessage& announcement, const std::string& from_ip) {
  asio::post(impl_->strand, [impl = impl_, bytes = announcement.signed_announcement, from_ip] {
    if (impl->stopped) return;
    impl->core->on_signed_announcement(
        from_ip, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
        discovery::Clock::now());
    impl->snapshot();
    impl->rearm();
  });
}

void NodeDiscovery::refresh(const NodeId& id) {
  asio::post(impl_->strand, [impl = impl_, id] {
    if (!impl->stopped) impl->core->refresh(id, discovery::Clock::now());
  });
}

std::unordered_map<NodeId, NodeInfo> NodeDiscovery::known_nodes() const {
  std::lock_guard lock(impl_->snapshot_mutex);
  return impl_->known;
}

DiscoveryStats NodeDiscovery::stats() const {
  std::lock_guard lock(impl_->snapshot_mutex);
  return impl_->stats;
}

std::vector<std::string> NodeDiscovery::interfaces() const {
  std::vector<std::string> out;
  for (const auto& lan : impl_->lans) out.push_back(lan.name + " (" + lan.address + ")");
  return out;
}

}  // namespace datafold::net
