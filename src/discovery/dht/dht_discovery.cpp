#include "discovery/dht/dht_discovery.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <random>
#include <system_error>
#include <utility>

#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>
#include <opendht/log_enable.h>
#include <opendht/value.h>
#include <spdlog/spdlog.h>

#include "discovery/dht/dht_discovery_impl.hpp"
#include "discovery/dht/dht_keys.hpp"

namespace datafold::net::discovery {

namespace {


dht::SockAddr sock_addr(const asio::ip::address& address, std::uint16_t port) {
  const asio::ip::udp::endpoint endpoint(address, port);
  return dht::SockAddr(endpoint.data(), static_cast<socklen_t>(endpoint.size()));
}

std::uint32_t ttl_for(std::chrono::milliseconds republish_interval) {
  // Three intervals: believed through two missed republishes.
  const auto seconds = (3 * republish_interval.count() + 999) / 1000;
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(seconds, 1, kMaxDhtValueLifetime.count()));
}

// Value ids are unpredictable, so nobody can store something under the id our
// next announcement will have (storage nodes keep the first data an id had).
dht::Value::Id random_value_id() {
  dht::Value::Id id = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof(id)) != 1) {
    id = std::random_device{}() | (static_cast<dht::Value::Id>(std::random_device{}()) << 32);
  }
  return id == dht::Value::INVALID_ID ? 1 : id;
}

// OpenDHT's errors and warnings go to our log at debug level: they are about
// other people's DHT nodes (unreachable, misbehaving), not for the operator.
// Its debug output is far too chatty to format at all.
std::shared_ptr<dht::Logger> make_logger() {
  auto line = [](const char* format, va_list args) {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    char buffer[512];
    std::vsnprintf(buffer, sizeof(buffer), format, args);
    spdlog::debug("dht: {}", buffer);
  };
  return std::make_shared<dht::Logger>(dht::LogMethod(line), dht::LogMethod(line), dht::LogMethod{});
}

}  // namespace

DhtDiscovery::Impl::Impl(DhtConfig config_in, std::vector<detail::HostPort> bootstrap_in,
                         std::unique_ptr<CountingSocket> socket_in, std::shared_ptr<DatagramCounts> counts_in)
    : config(std::move(config_in)),
      bootstrap(std::move(bootstrap_in)),
      node_key(info_hash(dht_node_key(config.identity.node_id()))),
      network_key(info_hash(dht_network_key(config.network_name))),
      instance_id(Uuid::random()),
      ttl_seconds(ttl_for(config.republish_interval)),
      counts(std::move(counts_in)),
      socket(std::move(socket_in)),
      work(asio::make_work_guard(io)),
      runner(std::make_unique<dht::DhtRunner>()),
      checker(DhtCheckerConfig{.network_name = config.network_name,
                               .skew_window = config.skew_window,
                               .refuse_node = config.refuse_node}),
      republish_timer(io) {}

std::int64_t DhtDiscovery::Impl::wall_now() const {
  if (config.wall_clock) return config.wall_clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void DhtDiscovery::Impl::publish_now() {
  if (stopping || !started || !announcement) return;
  AnnouncementFields fields = *announcement;
  fields.network_name = config.network_name;
  fields.instance_id = instance_id;
  fields.sequence = ++sequence;
  fields.timestamp_ms = wall_now();
  fields.ttl_seconds = ttl_seconds;
  const std::string signed_bytes = sign_announcement(fields, config.identity);
  const dht::Value::Id id = random_value_id();

  for (const dht::InfoHash& key : {node_key, network_key}) {
    if (published_id) runner->cancelPut(key, *published_id);
    auto value = std::make_shared<dht::Value>(kDhtValueType, reinterpret_cast<const std::uint8_t*>(signed_bytes.data()),
                                              signed_bytes.size(), id);
    value->user_type = std::string(kDhtUserType);
    // Permanent: OpenDHT re-announces it to new storage nodes and refreshes it
    // before it expires, until the next publication cancels it.
    runner->put(key, std::move(value),
                [this](bool ok, const std::vector<std::shared_ptr<dht::Node>>&) {
                  post([this, ok] {
                    const std::lock_guard lock(stats_mutex);
                    ++(ok ? stats.puts_succeeded : stats.puts_failed);
                  });
                },
                dht::time_point::max(), true);
  }
  published_id = id;
  const std::lock_guard lock(stats_mutex);
  ++stats.publications;
}

void DhtDiscovery::Impl::arm_republish() {
  if (stopping || !started) return;
  // ±10 % so nodes started together do not republish together forever.
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const auto interval = config.republish_interval.count();
  std::uniform_int_distribution<std::int64_t> jitter(-interval / 10, interval / 10);
  republish_timer.expires_after(std::chrono::milliseconds{std::max<std::int64_t>(interval + jitter(random), 1)});
  republish_timer.async_wait([this](std::error_code ec) {
    if (ec || stopping) return;
    publish_now();
    arm_republish();
  });
}

DhtDiscovery::DhtDiscovery(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

DhtDiscovery::~DhtDiscovery() { stop(); }

NetworkResult<std::unique_ptr<DhtDiscovery>> DhtDiscovery::create(DhtConfig config) {
  if (config.network_name.size() > kMaxNetworkNameLength) {
    return make_error(ErrorKind::Config, "dht: network name longer than " +
                                             std::to_string(kMaxNetworkNameLength) + " bytes");
  }
  if (config.republish_interval <= std::chrono::milliseconds{0}) {
    return make_error(ErrorKind::Config, "dht: republish interval must be positive");
  }
  std::vector<detail::HostPort> bootstrap;
  for (const auto& entry : config.bootstrap) {
    auto parsed = detail::parse_host_port(entry);
    if (!parsed) return make_error(ErrorKind::Config, "dht: bootstrap node '" + entry + "' is not host:port");
    bootstrap.push_back(std::move(*parsed));
  }

  const std::string bind_text = config.bind_address.empty() ? std::string("::") : config.bind_address;
  std::error_code ec;
  const asio::ip::address bind = asio::ip::make_address(bind_text, ec);
  if (ec) return make_error(ErrorKind::Config, "dht: bind address '" + bind_text + "' is not an IP address");
  dht::SockAddr bind4, bind6;
  if (bind.is_v6() && bind.is_unspecified()) {
    bind4 = sock_addr(asio::ip::address_v4::any(), config.port);
    bind6 = sock_addr(bind, config.port);
  } else if (bind.is_v4()) {
    bind4 = sock_addr(bind, config.port);
  } else {
    bind6 = sock_addr(bind, config.port);
  }

  // spdlog's registry is built on first use; build it here, before OpenDHT's
  // threads log concurrently (ThreadSanitizer sees no ordering between their
  // first uses inside the uninstrumented libspdlog).
  spdlog::default_logger_raw();

  auto counts = std::make_shared<DatagramCounts>();
  std::unique_ptr<CountingSocket> socket;
  try {
    socket = std::make_unique<CountingSocket>(bind4, bind6, counts);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::Connection, "dht: cannot bind UDP " + bind_text + " port " +
                                                 std::to_string(config.port) + ": " + e.what());
  }
  const std::uint16_t port = socket->getBoundRef(AF_INET) ? socket->getBoundRef(AF_INET).getPort()
                                                           : socket->getBoundRef(AF_INET6).getPort();

  auto impl = std::make_shared<Impl>(std::move(config), std::move(bootstrap), std::move(socket), std::move(counts));
  impl->bound_port = port;
  // The thread keeps the state alive while it runs (see stop()); handlers it runs
  // use a plain pointer, as the state outlives them.
  impl->thread = std::thread([keep = impl] {
    // Handlers contain their callers' exceptions (dht_lookups.cpp); anything
    // else escaping run() is logged, and the loop goes on until stop().
    for (;;) {
      try {
        keep->io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("dht: {}", e.what());
      }
    }
  });
  impl->io_thread_id = impl->thread.get_id();
  return std::make_unique<DhtDiscovery>(std::move(impl));
}

NetworkResult<void> DhtDiscovery::start() {
  Impl& d = *impl_;
  const std::lock_guard lock(d.state_mutex);
  if (d.state == Impl::State::Running) return {};
  if (d.state == Impl::State::Stopped) return make_error(ErrorKind::Discovery, "dht: stopped");

  dht::DhtRunner::Config config;
  config.threaded = true;
  config.peer_discovery = false;  // no multicast of our own DHT node on the LAN
  config.peer_publish = false;
  config.proxy_server.clear();
  config.push_node_id.clear();
  config.dht_config.node_config.network = d.config.dht_network;
  config.dht_config.node_config.persist_path.clear();
  config.bind4 = d.socket->getBoundRef(AF_INET);
  config.bind6 = d.socket->getBoundRef(AF_INET6);
  dht::DhtRunner::Context context;
  context.logger = make_logger();
  context.sock = std::move(d.socket);
  try {
    d.runner->run(config, std::move(context));
    for (const auto& node : d.bootstrap) d.runner->bootstrap(node.host, std::to_string(node.port));
  } catch (const std::exception& e) {
    d.runner->join();
    d.state = Impl::State::Stopped;
    return make_error(ErrorKind::Discovery, std::string("dht: cannot start OpenDHT: ") + e.what());
  }
  d.state = Impl::State::Running;
  d.post([&d] {
    d.started = true;
    d.publish_now();
    d.arm_republish();
  });
  return {};
}

void DhtDiscovery::stop() {
  Impl& d = *impl_;
  const bool on_io_thread = d.io_thread_id == std::this_thread::get_id();
  std::unique_lock stopping(d.stop_mutex, std::defer_lock);
  if (!on_io_thread) stopping.lock();
  {
    const std::lock_guard lock(d.state_mutex);
    if (d.state == Impl::State::Stopped) return;
    d.state = Impl::State::Stopped;
  }
  // OpenDHT first: once join() returns it calls nothing of ours again, and its
  // socket (ours, if never started) is closed.
  d.runner->join();
  d.socket.reset();
  d.post([&d] { d.finish_all("dht: stopped"); });
  d.work.reset();
  if (on_io_thread) {
    // Called from a handler: the thread ends by itself once the queue drains,
    // holding the state until then.
    d.thread.detach();
  } else if (d.thread.joinable()) {
    d.thread.join();
  }
}

std::uint16_t DhtDiscovery::port() const { return impl_->bound_port; }

const NodeId& DhtDiscovery::node_id() const { return impl_->config.identity.node_id(); }

void DhtDiscovery::publish(AnnouncementFields fields) {
  Impl& d = *impl_;
  const std::lock_guard lock(d.state_mutex);
  if (d.state == Impl::State::Stopped) return;
  d.post([&d, fields = std::move(fields)]() mutable {
    d.announcement = std::move(fields);
    if (!d.started) return;
    d.republish_timer.cancel();
    d.publish_now();
    d.arm_republish();
  });
}

DhtStats DhtDiscovery::stats() const {
  const Impl& d = *impl_;
  DhtStats out;
  {
    const std::lock_guard lock(d.stats_mutex);
    out = d.stats;
  }
  out.datagrams_in = d.counts->datagrams_in.load(std::memory_order_relaxed);
  out.datagrams_out = d.counts->datagrams_out.load(std::memory_order_relaxed);
  out.bytes_in = d.counts->bytes_in.load(std::memory_order_relaxed);
  out.bytes_out = d.counts->bytes_out.load(std::memory_order_relaxed);
  const std::lock_guard lock(d.state_mutex);
  if (d.state == Impl::State::Running) {
    for (const sa_family_t family : {AF_INET, AF_INET6}) {
      const dht::NodeStats nodes = d.runner->getNodesStats(family);
      out.good_nodes += nodes.good_nodes;
      out.dubious_nodes += nodes.dubious_nodes;
    }
  }
  return out;
}

}  // namespace datafold::net::discovery
