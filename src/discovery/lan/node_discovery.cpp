#include "discovery/lan/node_discovery_impl.hpp"

#include <algorithm>
#include <future>
#include <thread>

#include <asio/ip/multicast.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <spdlog/spdlog.h>

#include "core/ip_address.hpp"

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

NodeDiscovery::Impl::Impl(const asio::any_io_executor& executor, net::DiscoveryConfig config_in,
                          std::vector<discovery::LanInterface> interfaces, EventHandler handler)
    : strand(asio::make_strand(executor)),
      config(std::move(config_in)),
      lans(std::move(interfaces)),
      on_event(std::move(handler)),
      group4(strand),
      unicast4(strand),
      group6(strand),
      unicast6(strand),
      timer(strand) {}

NetworkResult<void> NodeDiscovery::Impl::open_ipv4() {
  using asio::ip::udp;
  std::error_code ec;
  group4.socket.open(udp::v4(), ec);
  // Several nodes on one host share the discovery port: each hears the group.
  if (!ec) group4.socket.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) group4.socket.bind(udp::endpoint(asio::ip::address_v4::any(), config.discovery_port), ec);
  if (ec)
    return make_error(ErrorKind::Connection,
                      "cannot bind discovery port " + std::to_string(config.discovery_port) + ": " + ec.message());
  for (const auto& lan : lans) {
    if (!lan.multicast_v4 || lan.ipv4.empty()) continue;
    std::error_code join_ec;
    group4.socket.set_option(asio::ip::multicast::join_group(group_v4, asio::ip::make_address_v4(lan.address())),
                             join_ec);
    if (join_ec) spdlog::warn("discovery: cannot join {} on {}: {}", config.group, lan.name, join_ec.message());
  }

  unicast4.socket.open(udp::v4(), ec);
  if (!ec) unicast4.socket.set_option(asio::socket_base::broadcast(true), ec);
  if (!ec) unicast4.socket.set_option(asio::ip::multicast::enable_loopback(true), ec);
  if (!ec) unicast4.socket.set_option(asio::ip::multicast::hops(1), ec);  // never beyond the LAN
  if (!ec) unicast4.socket.bind(udp::endpoint(asio::ip::address_v4::any(), 0), ec);
  if (ec) return make_error(ErrorKind::Connection, "cannot open the discovery socket: " + ec.message());
  return {};
}

NetworkResult<void> NodeDiscovery::Impl::open_ipv6() {
  using asio::ip::udp;
  std::error_code ec;
  group6.socket.open(udp::v6(), ec);
  // IPv6 only: IPv4 datagrams have their own socket, and must not arrive twice.
  if (!ec) group6.socket.set_option(asio::ip::v6_only(true), ec);
  if (!ec) group6.socket.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) group6.socket.bind(udp::endpoint(asio::ip::address_v6::any(), config.discovery_port), ec);
  if (ec)
    return make_error(ErrorKind::Connection,
                      "cannot bind IPv6 discovery port " + std::to_string(config.discovery_port) + ": " + ec.message());
  unsigned joined = 0;
  for (const auto& lan : lans) {
    if (!lan.multicast_v6 || lan.ipv6.empty()) continue;
    // A link-local group means nothing without an interface: join it on each by index.
    std::error_code join_ec;
    group6.socket.set_option(asio::ip::multicast::join_group(group_v6, lan.index), join_ec);
    if (join_ec) {
      spdlog::warn("discovery: cannot join {} on {}: {}", config.group_v6, lan.name, join_ec.message());
    } else {
      ++joined;
    }
  }
  if (joined == 0) return make_error(ErrorKind::Connection, "joined " + config.group_v6 + " on no interface");

  unicast6.socket.open(udp::v6(), ec);
  if (!ec) unicast6.socket.set_option(asio::ip::v6_only(true), ec);
  if (!ec) unicast6.socket.set_option(asio::ip::multicast::enable_loopback(true), ec);
  if (!ec) unicast6.socket.set_option(asio::ip::multicast::hops(1), ec);  // never beyond the link
  if (!ec) unicast6.socket.bind(udp::endpoint(asio::ip::address_v6::any(), 0), ec);
  if (ec) return make_error(ErrorKind::Connection, "cannot open the IPv6 discovery socket: " + ec.message());
  return {};
}

NetworkResult<void> NodeDiscovery::Impl::open_sockets() {
  std::error_code ec;
  group_v4 = asio::ip::make_address_v4(config.group, ec);
  if (ec || !group_v4.is_multicast())
    return make_error(ErrorKind::Config, "'" + config.group + "' is not an IPv4 multicast group");
  group_v6 = asio::ip::make_address_v6(config.group_v6, ec);
  if (ec || !group_v6.is_multicast_link_local())
    return make_error(ErrorKind::Config, "'" + config.group_v6 + "' is not an IPv6 link-local multicast group (ff02::/16, ff12::/16)");

  const bool want_v4 = std::any_of(lans.begin(), lans.end(), [](const auto& lan) { return !lan.ipv4.empty(); });
  const bool want_v6 =
      std::any_of(lans.begin(), lans.end(), [](const auto& lan) { return lan.multicast_v6 && !lan.ipv6.empty(); });
  if (want_v4) {
    if (auto opened = open_ipv4(); !opened) return opened;
  }
  if (want_v6) {
    if (auto opened = open_ipv6(); !opened) {
      // IPv4 still works: say so and go on. With nothing else, it is the error.
      std::error_code ignored;
      group6.socket.close(ignored);
      unicast6.socket.close(ignored);
      if (!want_v4) return opened;
      spdlog::warn("discovery: IPv4 only: {}", opened.error().message);
    }
  }

  discovery::DiscoveryConfig core_config{.identity = config.identity};
  core_config.network_name = config.network_name;
  core_config.tcp_port = config.tcp_port;
  interface_addresses = discovery::addresses_to_announce(lans, config.listen_address);
  core_config.advertised_addresses = interface_addresses;
  core_config.capabilities = config.capabilities;
  core_config.announcement_interval = config.announcement_interval;
  core_config.refuse_sender = config.refuse_sender;
  core_config.refuse_node = config.refuse_node;
  core_config.on_forged = config.on_forged;
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
  if (destination.kind != discovery::Destination::Kind::Unicast) return send_to_group(datagram);
  std::error_code ec;
  // A link-local IPv6 destination carries its scope ("fe80::1%eth0"): make_address keeps it.
  auto address = asio::ip::make_address(destination.ip, ec);
  if (!ec) {
    auto& socket = address.is_v6() ? unicast6.socket : unicast4.socket;
    if (socket.is_open()) {
      socket.send_to(asio::buffer(datagram), udp::endpoint(address, destination.port), 0, ec);
    } else {
      ec = asio::error::address_family_not_supported;
    }
  }
  if (ec) spdlog::debug("discovery: unicast to {} failed: {}", destination.to_string(), ec.message());
}

void NodeDiscovery::Impl::send_to_group(const std::string& datagram) {
  using asio::ip::udp;
  // IPv4 multicast and broadcast on every chosen interface, because many networks
  // filter one or the other, and the IPv6 group on each. Receivers drop the
  // duplicates (same instance and sequence).
  for (const auto& lan : lans) {
    std::error_code ec;
    if (unicast4.socket.is_open() && !lan.ipv4.empty()) {
      if (lan.multicast_v4) {
        unicast4.socket.set_option(asio::ip::multicast::outbound_interface(asio::ip::make_address_v4(lan.address())), ec);
        if (!ec) unicast4.socket.send_to(asio::buffer(datagram), udp::endpoint(group_v4, config.discovery_port), 0, ec);
        if (ec) spdlog::debug("discovery: multicast on {} failed: {}", lan.name, ec.message());
      }
      for (const auto& v4 : lan.ipv4) {
        if (v4.broadcast.empty()) continue;
        ec.clear();
        auto broadcast = asio::ip::make_address_v4(v4.broadcast, ec);
        if (!ec) unicast4.socket.send_to(asio::buffer(datagram), udp::endpoint(broadcast, config.discovery_port), 0, ec);
        if (ec) spdlog::debug("discovery: broadcast on {} failed: {}", lan.name, ec.message());
      }
    }
    if (unicast6.socket.is_open() && lan.multicast_v6 && !lan.ipv6.empty()) {
      ec.clear();
      unicast6.socket.set_option(asio::ip::multicast::outbound_interface(lan.index), ec);
      const asio::ip::address_v6 scoped(group_v6.to_bytes(), lan.index);
      if (!ec) unicast6.socket.send_to(asio::buffer(datagram), udp::endpoint(scoped, config.discovery_port), 0, ec);
      if (ec) spdlog::debug("discovery: IPv6 multicast on {} failed: {}", lan.name, ec.message());
    }
  }
}

void NodeDiscovery::Impl::receive(Receiver& receiver) {
  receiver.socket.async_receive_from(
      asio::buffer(receiver.buffer), receiver.sender,
      [self = shared_from_this(), &receiver](std::error_code ec, std::size_t n) {
        if (self->stopped || ec == asio::error::operation_aborted) return;
        if (!ec) {
          const auto& from = receiver.sender.address();
          // A link-local IPv6 source reads "fe80::2%eth0": its scope is the interface
          // it came in on. An IPv4 source's interface is the one whose subnet holds it.
          const std::string from_ip = detail::ip_text(from);
          const std::string arrival =
              from.is_v4() ? discovery::interface_for_ipv4_source(self->lans, from_ip) : std::string();
          self->core->on_datagram(from_ip, receiver.sender.port(),
                                  std::span<const std::uint8_t>(receiver.buffer.data(), n), discovery::Clock::now(),
                                  arrival);
          self->snapshot();
          self->rearm();
        }
        self->receive(receiver);
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
    for (Receiver* r : {&self->group4, &self->unicast4, &self->group6, &self->unicast6})
      if (r->socket.is_open()) self->receive(*r);
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
  for (Receiver* r : {&group4, &unicast4, &group6, &unicast6}) r->socket.close(ignored);
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

NetworkResult<std::unique_ptr<NodeDiscovery>> make_node_discovery(const asio::any_io_executor& executor,
                                                                  DiscoveryConfig config,
                                                                  NodeDiscovery::EventHandler on_event) {
  auto interfaces = discovery::select_interfaces(config.interfaces);
  if (!interfaces) return std::move(interfaces).error();
  auto impl = std::make_shared<NodeDiscovery::Impl>(executor, std::move(config), std::move(*interfaces), std::move(on_event));
  if (auto opened = impl->open_sockets(); !opened) return std::move(opened).error();
  return std::make_unique<NodeDiscovery>(std::move(impl));
}

NetworkResult<std::unique_ptr<NodeDiscovery>> NodeDiscovery::create(DiscoveryConfig config, EventHandler on_event) {
  auto io = std::make_unique<asio::io_context>(1);
  auto made = make_node_discovery(io->get_executor(), std::move(config), std::move(on_event));
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
    // Handlers still queued on the stopped context hold the Impl, and the Impl held
    // the context: take the context out first, let go of the Impl, then destroy the
    // context, whose shutdown destroys those handlers (and with them the Impl) while
    // its services still exist.
    auto io = std::move(impl_->own_io);
    impl_.reset();
    io.reset();
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

void NodeDiscovery::set_extra_addresses(std::vector<std::string> addresses) {
  asio::post(impl_->strand, [impl = impl_, addresses = std::move(addresses)]() mutable {
    // LAN receivers dial in the order given (a dialler may reorder): the interfaces'
    // own addresses first, then the extra ones, before the link-local ones, which
    // give way first when the announcement's kMaxAddresses is reached.
    std::vector<std::string> all;
    const auto& own = impl->interface_addresses;
    // Announcing no address of its own means "the datagram's source"; with extra
    // ones listed, an unspecified address keeps saying so.
    if (own.empty() && !addresses.empty()) all.push_back("0.0.0.0");
    auto link_local = std::find_if(own.begin(), own.end(), [](const std::string& a) { return a.find('%') != std::string::npos; });
    all.insert(all.end(), own.begin(), link_local);
    for (auto& extra : addresses)
      if (std::find(own.begin(), own.end(), extra) == own.end() && std::find(all.begin(), all.end(), extra) == all.end())
        all.push_back(std::move(extra));
    all.insert(all.end(), link_local, own.end());
    impl->core->set_advertised_addresses(std::move(all));
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
  for (const auto& lan : impl_->lans) out.push_back(lan.describe());
  return out;
}

}  // namespace datafold::net
