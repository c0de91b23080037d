// NetworkNode and hole punching (DESIGN.md section 10.3, as libp2p's DCUtR does it):
// over a relayed connection, the end that accepted it asks the other where it can be
// dialled (CONNECT, which also measures the round trip), says SYNC, and half a round
// trip later both ends open TCP to each other from the ports they named — through
// two port-preserving NATs the SYNs cross and each NAT lets the other's in (a TCP
// simultaneous open). If the other end says it can be dialled, this end simply
// dials it. The direct connection then replaces the relayed one (LinkTable keeps a
// direct connection over a relayed one), which finishes what it carries; after
// three failed attempts the connection stays relayed.
#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "node/advertised_addresses.hpp"
#include "node/await_callback.hpp"
#include "node/dial_attempt.hpp"
#include "node/network_node.hpp"

namespace datafold::net {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

constexpr int kPunchAttempts = 3;
// How long both ends keep trying to connect in one attempt, each try's deadline,
// and the pause after a try that failed at once (a reset: the far NAT not open yet).
constexpr std::chrono::seconds kPunchWindow{5};
constexpr std::chrono::milliseconds kPunchTry{1000};
constexpr std::chrono::milliseconds kRetryPause{100};
constexpr std::chrono::seconds kBetweenAttempts{2};
constexpr std::size_t kMaxPunchTargets = 4;
constexpr std::size_t kMaxPunchAddresses = 8;

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// A free local port to punch from: bound once to learn it, then rebound by every try
// (SO_REUSEADDR), so the far end knows in advance which port the SYNs come from.
std::uint16_t pick_punch_port(asio::any_io_executor executor, const asio::ip::address& local) {
  tcp::socket probe(executor);
  std::error_code ec;
  probe.open(local.is_v6() ? tcp::v6() : tcp::v4(), ec);
  if (ec) return 0;
  probe.set_option(asio::socket_base::reuse_address(true), ec);
  probe.bind(tcp::endpoint(local, 0), ec);
  if (ec) return 0;
  return probe.local_endpoint(ec).port();
}

// Where the node's punch sockets bind: its listen address ("::" and "0.0.0.0" too).
asio::ip::address punch_local_address(const std::string& listen_address) {
  std::error_code ec;
  auto address = asio::ip::make_address(listen_address, ec);
  return ec ? asio::ip::address(asio::ip::address_v6::any()) : address;
}

// `target` as the punch socket must dial it: IPv4 as v4-mapped from an IPv6 socket.
std::optional<tcp::endpoint> punch_target(const std::string& address, const asio::ip::address& local) {
  auto parsed = parse_host_port(address);
  if (!parsed) return std::nullopt;
  std::error_code ec;
  auto ip = asio::ip::make_address(parsed->host, ec);
  if (ec) return std::nullopt;
  if (local.is_v6() && ip.is_v4()) {
    if (!local.is_unspecified()) return std::nullopt;
    ip = asio::ip::make_address_v6(asio::ip::v4_mapped, ip.to_v4());
  }
  if (local.is_v4() && ip.is_v6()) return std::nullopt;
  return tcp::endpoint(ip, parsed->port);
}

}  // namespace

// One simultaneous open: a connect loop per target, on one serial executor; the first to
// connect wins and the rest stop.
struct NetworkNode::PunchRace {
  explicit PunchRace(const asio::any_io_executor& executor) : done(executor) {}
  asio::steady_timer done;
  std::shared_ptr<tcp::socket> winner;
  std::string winner_address;
  std::size_t running = 0;
  std::string last_error;
};

std::vector<std::string> NetworkNode::punch_addresses(std::uint16_t port) const {
  std::vector<std::string> reported;
  {
    std::lock_guard lock(mutex_);
    reported = observed_.reported(detail::ObservedAddresses::Clock::now());
  }
  // Where peers see this node (its NAT's address, whose port a port-preserving NAT
  // keeps), then its own addresses (a peer on the same network).
  auto out = detail::addresses_to_announce(config_.listen_address, port, {}, reported, kMaxPunchAddresses);
  for (auto& own : detail::addresses_to_announce(config_.listen_address, port, detail::list_interface_addresses(), {},
                                                 kMaxPunchAddresses))
    if (out.size() < kMaxPunchAddresses && std::find(out.begin(), out.end(), own) == out.end()) out.push_back(own);
  return out;
}

bool NetworkNode::reachable_now() const {
  std::lock_guard lock(mutex_);
  return reachability_.status() == detail::Reachability::Status::Reachable;
}

std::vector<std::string> NetworkNode::addresses_for_punch(bool reachable, std::uint16_t port) const {
  if (!reachable) return punch_addresses(port);
  // Dialled back at these (its listening port): where the other end dials it.
  std::lock_guard lock(mutex_);
  auto out = reachability_.reachable_addresses(detail::Reachability::Clock::now());
  if (out.size() > kMaxPunchAddresses) out.resize(kMaxPunchAddresses);
  return out;
}

void NetworkNode::maybe_punch(const ConnectionPtr& connection) {
  if (!config_.hole_punching || !connection->relayed_via() || !connection->inbound() ||
      !connection->peer_hello().capabilities.hole_punch)
    return;
  asio::co_spawn(serial_executor(), [self = shared_from_this(), connection] { return self->punch(connection); },
                 asio::detached);
}

asio::awaitable<void> NetworkNode::punch(ConnectionPtr relayed) {
  auto self = shared_from_this();
  auto executor = co_await asio::this_coro::executor;
  const NodeId peer = relayed->node_id();
  const auto local = punch_local_address(config_.listen_address);
  asio::steady_timer pause(executor);
  for (int attempt = 1; attempt <= kPunchAttempts && running_; ++attempt) {
    if (relayed->state() != ConnectionState::Open) co_return;  // replaced, or gone
    const auto port = pick_punch_port(executor, local);
    if (port == 0) co_return;
    HolePunchMessage connect;
    connect.request_id = Uuid::random();
    connect.phase = HolePunchMessage::Phase::Connect;
    connect.reachable = reachable_now();
    connect.addresses = addresses_for_punch(connect.reachable, port);
    const auto sent_at = std::chrono::steady_clock::now();
    const auto timeout = config_.request_timeout;
    auto answer = co_await detail::await_callback<NetworkResult<Message>>(
        [&relayed, &connect, &timeout](std::function<void(NetworkResult<Message>)> done) {
          relayed->request(connect, std::move(done), timeout);
        });
    const auto* response = answer ? std::get_if<HolePunchResponseMessage>(&*answer) : nullptr;
    if (!response) co_return;  // the peer cannot punch, or the circuit is gone
    const auto rtt = std::chrono::steady_clock::now() - sent_at;

    std::optional<std::string> direct;
    if (response->reachable) {
      // It can be dialled: a plain dial from here (a connection reversal).
      for (const auto& address : response->addresses) {
        if (detail::is_relayed_address(address)) continue;
        auto attempt_state = std::make_shared<DialAttempt>();
        auto connection = co_await connect_one(address, peer, attempt_state);
        if (!connection) {
          spdlog::info("dialling {} back at {}: {}", peer.short_string(), address, connection.error().message);
          continue;
        }
        if (adopt(*connection, address, AddressSource::PeerReport, "", /*hole_punched=*/true)) direct = address;
        break;
      }
    } else {
      HolePunchMessage sync = connect;
      sync.request_id = Uuid::random();
      sync.phase = HolePunchMessage::Phase::Sync;
      relayed->request(std::move(sync), [](NetworkResult<Message>) {}, timeout);
      // The far end starts at once on SYNC; this end half a round trip later, so the
      // SYNs cross between the NATs.
      pause.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(rtt / 2));
      co_await pause.async_wait(as_tuple(use_awaitable));
      direct = co_await simultaneous_open(peer, response->addresses, port);
    }
    if (direct) {
      counters_.hole_punches_succeeded++;
      spdlog::info("direct connection to {} at {} replaces the relayed one (attempt {})", peer.short_string(), *direct,
                   attempt);
      co_return;
    }
    counters_.hole_punches_failed++;
    pause.expires_after(kBetweenAttempts);
    co_await pause.async_wait(as_tuple(use_awaitable));
  }
  if (running_) spdlog::info("no direct path to {} after {} attempts; it stays relayed", peer.short_string(), kPunchAttempts);
}

bool NetworkNode::take_punch_reversal_locked(const detail::TlsConnection& connection) {
  if (!connection.inbound() || connection.relayed_via()) return false;
  const auto expected = reversals_expected_.find(connection.node_id());
  if (expected == reversals_expected_.end()) return false;
  const bool in_time = std::chrono::steady_clock::now() <= expected->second;
  reversals_expected_.erase(expected);
  if (!in_time) return false;
  const auto link = peers_.link_for(connection.node_id());
  if (!link) return false;
  const auto current = links_.find(*link);
  return current != links_.end() && current->second->relayed_via().has_value();
}

void NetworkNode::handle_hole_punch(const ConnectionPtr& from, const HolePunchMessage& request) {
  auto refuse = [&](ErrorCode code, std::string why) {
    ErrorMessage error;
    error.message_id = Uuid::random();
    error.code = code;
    error.message = std::move(why);
    error.related_message_id = request.request_id;
    from->respond(std::move(error));
  };
  if (!config_.hole_punching) return refuse(ErrorCode::UnsupportedMessage, "this node does not punch holes");
  if (!from->relayed_via()) return refuse(ErrorCode::PermissionDenied, "hole punching is for relayed connections");
  const NodeId peer = from->node_id();
  const auto local = punch_local_address(config_.listen_address);
  std::uint16_t port = 0;
  {
    std::lock_guard lock(mutex_);
    auto known = punch_ports_.find(peer);
    if (request.phase == HolePunchMessage::Phase::Connect || known == punch_ports_.end()) {
      if (punch_ports_.size() >= 64 && known == punch_ports_.end()) punch_ports_.clear();
      port = pick_punch_port(asio::any_io_executor(from->executor()), local);
      punch_ports_[peer] = port;
    } else {
      port = known->second;
    }
    // One punch at a time per peer: a SYNC cannot make this node dial without end.
    if (request.phase == HolePunchMessage::Phase::Sync && !punching_.insert(peer).second)
      return refuse(ErrorCode::ResourceExhausted, "a hole punch with this node is already under way");
  }
  if (port == 0) return refuse(ErrorCode::InternalError, "no local port to punch from");
  HolePunchResponseMessage reply;
  reply.message_id = Uuid::random();
  reply.request_id = request.request_id;
  if (request.phase == HolePunchMessage::Phase::Connect) {
    reply.reachable = reachable_now();
    reply.addresses = addresses_for_punch(reply.reachable, port);
    if (reply.reachable) {
      // The peer dials back at once; its connection is the punch's if it comes in time.
      std::lock_guard lock(mutex_);
      if (reversals_expected_.size() >= 64) reversals_expected_.clear();
      reversals_expected_[peer] = std::chrono::steady_clock::now() + kPunchWindow + config_.handshake_timeout;
    }
  }
  from->respond(std::move(reply));
  if (request.phase != HolePunchMessage::Phase::Sync) return;
  asio::co_spawn(serial_executor(),
                 [self = shared_from_this(), peer, targets = request.addresses, port]() -> asio::awaitable<void> {
                   auto direct = co_await self->simultaneous_open(peer, targets, port);
                   {
                     std::lock_guard lock(self->mutex_);
                     self->punching_.erase(peer);
                   }
                   if (direct) spdlog::info("hole punched to {} at {}", peer.short_string(), *direct);
                 },
                 asio::detached);
}

asio::awaitable<std::optional<std::string>> NetworkNode::simultaneous_open(NodeId peer, std::vector<std::string> targets,
                                                                          std::uint16_t port) {
  auto self = shared_from_this();
  auto executor = co_await asio::this_coro::executor;
  const auto local = punch_local_address(config_.listen_address);
  auto race = std::make_shared<PunchRace>(executor);
  const auto deadline = std::chrono::steady_clock::now() + kPunchWindow;
  for (const auto& target : targets) {
    if (race->running >= kMaxPunchTargets) break;
    auto endpoint = punch_target(target, local);
    if (!endpoint) continue;
    ++race->running;
    asio::co_spawn(executor,
                   [self, race, endpoint = *endpoint, target, local, port, deadline]() -> asio::awaitable<void> {
                     co_await self->punch_loop(race, endpoint, target, tcp::endpoint(local, port), deadline);
                   },
                   asio::detached);
  }
  if (race->running == 0) co_return std::nullopt;
  race->done.expires_at(deadline);
  co_await race->done.async_wait(as_tuple(use_awaitable));
  if (!race->winner) {
    spdlog::info("hole punch to {}: no connection ({})", peer.short_string(), race->last_error);
    co_return std::nullopt;
  }
  // Both ends hold a connected socket and neither accepted it: the smaller node id
  // plays TLS client, as both ends can work out alone.
  const bool tls_client = identity_.node_id() < peer;
  auto attempt = std::make_shared<DialAttempt>();
  auto connection = co_await secure(std::move(*race->winner), !tls_client, handshake_params(peer), attempt);
  if (!connection) {
    spdlog::info("hole punch to {}: handshake failed: {}", peer.short_string(), connection.error().message);
    co_return std::nullopt;
  }
  if (!adopt(*connection, tls_client ? race->winner_address : "", AddressSource::PeerReport, "", /*hole_punched=*/true))
    co_return std::nullopt;
  co_return race->winner_address;
}

asio::awaitable<void> NetworkNode::punch_loop(std::shared_ptr<PunchRace> race, tcp::endpoint target, std::string address,
                                              tcp::endpoint local, std::chrono::steady_clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  while (!race->winner && std::chrono::steady_clock::now() < deadline && running_) {
    auto socket = std::make_shared<tcp::socket>(executor);
    std::error_code ec;
    socket->open(local.protocol(), ec);
    if (!ec && local.address().is_v6()) socket->set_option(asio::ip::v6_only(false), ec);
    if (!ec) socket->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) socket->set_option(ReusePort(true), ec);
    if (!ec) socket->bind(local, ec);
    if (ec) {
      race->last_error = "cannot bind port " + std::to_string(local.port()) + ": " + ec.message();
      break;
    }
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(kPunchTry, deadline - std::chrono::steady_clock::now()));
    timer.async_wait([socket](std::error_code wait_ec) {
      if (wait_ec) return;
      std::error_code ignored;
      socket->close(ignored);
    });
    auto [connect_ec] = co_await socket->async_connect(target, as_tuple(use_awaitable));
    timer.cancel();
    if (!connect_ec && socket->is_open()) {
      if (!race->winner) {
        race->winner = socket;
        race->winner_address = address;
        race->done.cancel();
      } else {
        socket->close(ec);
      }
      break;
    }
    race->last_error = address + ": " + (connect_ec ? connect_ec.message() : "no answer");
    timer.expires_after(kRetryPause);
    co_await timer.async_wait(as_tuple(use_awaitable));
  }
  if (--race->running == 0 && !race->winner) race->done.cancel();
}

}  // namespace datafold::net
