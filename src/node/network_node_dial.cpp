// NetworkNode's dials: a connection to a node id (the PeerTable decides whether to
// use the open one, join a dial under way, dial, or fail now), a dial by address,
// and the Happy Eyeballs race over a node's addresses that a DialPlan schedules.
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/endpoint.hpp"
#include "core/relayed_address.hpp"
#include "node/dial_attempt.hpp"
#include "node/network_node.hpp"
#include "peers/dial_plan.hpp"

namespace datafold::net {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;

NetworkError cancelled() { return make_error(ErrorKind::Connection, "dial cancelled: another address answered first"); }

}  // namespace

// One dial of a node's addresses. Everything here runs on the dial's executor
// (serial_executor(): one handler at a time): the driver (dial()) and every attempt
// (run_attempt()).
struct NetworkNode::DialRace {
  DialRace(detail::DialPlan p, const asio::any_io_executor& executor) : plan(std::move(p)), wakeup(executor) {}

  detail::DialPlan plan;
  asio::steady_timer wakeup;        // the driver waits on it; an attempt ending cancels it
  bool poked = false;               // an attempt ended since the driver last looked
  bool decided = false;             // the driver is done: whatever ends later is closed
  std::vector<std::shared_ptr<DialAttempt>> attempts;
  ConnectionPtr winner;
};

NetworkNode::ConnectionPtr NetworkNode::open_connection(const NodeId& id) const {
  std::lock_guard lock(mutex_);
  if (auto link = peers_.open_link(id)) return links_.at(*link);
  return nullptr;
}

void NetworkNode::connect_known(const NodeId& id, ConnectionHandler done) {
  // `done` never runs under mutex_: it may call back into the node.
  ConnectionPtr open = open_connection(id);
  if (open) return done(std::move(open));
  detail::ConnectionPlan plan;
  // Asked before the lock: the keeper may consult the trust store.
  if (reputation_->avoided(id)) {
    bool connected = false;
    {
      std::lock_guard lock(mutex_);
      connected = peers_.link_for(id).has_value();
    }
    if (!connected) {
      // A connection it opened is used; this node does not dial it.
      const auto entry = reputation_of(id);
      return done(make_error(ErrorKind::Connection,
                             "node " + id.short_string() + " is " + std::string(to_string(entry.state)) +
                                 " here (reputation score " + std::to_string(static_cast<int>(entry.score)) +
                                 "); `datafold reputation reset` forgets what it did"));
    }
  }
  {
    std::lock_guard lock(mutex_);
    plan = peers_.plan_connection(id, detail::PeerClock::now());
    switch (plan.kind) {
      case detail::ConnectionPlan::Kind::Use:
        open = links_.at(plan.link);
        break;
      case detail::ConnectionPlan::Kind::Join:
      case detail::ConnectionPlan::Kind::Dial:
        dial_waiters_[plan.ticket].push_back(std::move(done));
        break;
      case detail::ConnectionPlan::Kind::Fail:
        break;
    }
  }
  switch (plan.kind) {
    case detail::ConnectionPlan::Kind::Use: return done(std::move(open));
    case detail::ConnectionPlan::Kind::Join: return;
    case detail::ConnectionPlan::Kind::Fail: return done(std::move(plan.error));
    case detail::ConnectionPlan::Kind::Dial:
      // An address that answers for the id keeps the source it is known by.
      return start_dial(plan.ticket, id, by_reputation(std::move(plan.addresses)), AddressSource::Manual);
  }
}

void NetworkNode::async_connect_address(const std::string& host_port, ConnectionHandler done) {
  connect_address(host_port, AddressSource::Manual, std::move(done));
}

void NetworkNode::connect_address(const std::string& host_port, AddressSource source, ConnectionHandler done) {
  if (!detail::parse_host_port(host_port))
    return done(make_error(ErrorKind::Config, "'" + host_port + "' is not host:port"));
  std::optional<detail::DialTicket> ticket;
  {
    std::lock_guard lock(mutex_);
    ticket = peers_.begin_address_dial();
    if (ticket) dial_waiters_[*ticket].push_back(std::move(done));
  }
  if (!ticket) return done(make_error(ErrorKind::Connection, "node is stopped"));
  start_dial(*ticket, std::nullopt, {host_port}, source);
}

void NetworkNode::start_dial(detail::DialTicket ticket, std::optional<NodeId> expected,
                             std::vector<std::string> addresses, AddressSource source) {
  counters_.outbound_dialled++;
  auto self = shared_from_this();
  asio::co_spawn(serial_executor(),
                 [self, ticket, expected, addresses = std::move(addresses), source]() mutable {
                   return self->dial(ticket, expected, std::move(addresses), source);
                 },
                 asio::detached);
}

void NetworkNode::finish_dial(detail::DialTicket ticket, NetworkResult<ConnectionPtr> outcome) {
  std::vector<ConnectionHandler> waiters;
  {
    std::lock_guard lock(mutex_);
    auto it = dial_waiters_.find(ticket);
    if (it == dial_waiters_.end()) return;  // stop() already failed its waiters
    waiters = std::move(it->second);
    dial_waiters_.erase(it);
    const auto expected = peers_.end_dial(ticket);
    if (expected && !outcome) {
      auto failure = peers_.on_dial_failed(*expected, outcome.error(), detail::PeerClock::now());
      if (failure.redial) schedule_redial_locked(*failure.redial);
      if (failure.gave_up)
        spdlog::info("node {} unreachable after {} dials; no more redials until it is heard from",
                     expected->short_string(), failure.failures);
    }
  }
  for (auto& waiter : waiters) waiter(outcome);
}

asio::awaitable<void> NetworkNode::dial(detail::DialTicket ticket, std::optional<NodeId> expected,
                                        std::vector<std::string> addresses, AddressSource source) {
  auto self = shared_from_this();
  auto executor = co_await asio::this_coro::executor;
  auto race = std::make_shared<DialRace>(
      detail::DialPlan(addresses.size(), config_.happy_eyeballs_delay, detail::PeerClock::now(),
                       config_.connect_timeout + config_.handshake_timeout),
      executor);
  race->attempts.resize(addresses.size());
  for (;;) {
    const auto now = detail::PeerClock::now();
    for (const std::size_t i : race->plan.due(now)) {
      race->attempts[i] = std::make_shared<DialAttempt>();
      if (i > 0) spdlog::debug("dialling {} (address {} of {})", addresses[i], i + 1, addresses.size());
      asio::co_spawn(executor,
                     [self, race, i, address = addresses[i], expected]() {
                       return self->run_attempt(race, i, address, expected);
                     },
                     asio::detached);
    }
    const auto checked = detail::PeerClock::now();
    if (race->plan.finished(checked)) break;
    if (!race->poked) {
      race->wakeup.expires_at(*race->plan.next_wakeup(checked));
      co_await race->wakeup.async_wait(as_tuple(use_awaitable));
    }
    race->poked = false;
  }
  race->decided = true;
  for (const std::size_t i : race->plan.running()) race->attempts[i]->cancel();
  if (auto winner = race->plan.winner()) {
    finish_dial(ticket, adopt(race->winner, addresses[*winner], source, ""));
  } else {
    finish_dial(ticket, race->plan.error());
  }
}

asio::awaitable<void> NetworkNode::run_attempt(std::shared_ptr<DialRace> race, std::size_t index,
                                               std::string address, std::optional<NodeId> expected) {
  auto outcome = co_await connect_one(std::move(address), expected, race->attempts[index]);
  const auto now = detail::PeerClock::now();
  if (outcome) {
    if (!race->decided && race->plan.on_succeeded(index, now)) {
      race->winner = *outcome;
    } else {
      (*outcome)->close();  // too late: another address won, or the dial ran out of time
    }
  } else {
    race->plan.on_failed(index, std::move(outcome).error(), now);
  }
  race->poked = true;
  race->wakeup.cancel();
}

asio::awaitable<NetworkResult<NetworkNode::ConnectionPtr>> NetworkNode::connect_one(
    std::string address, std::optional<NodeId> expected, std::shared_ptr<DialAttempt> attempt) {
  if (detail::is_relayed_address(address)) {
    auto relayed = detail::parse_relayed_address(address);
    if (!relayed) co_return make_error(ErrorKind::Config, "'" + address + "' is not a relayed address");
    if (!expected) co_return make_error(ErrorKind::Config, "a relayed address is dialled by node id only");
    co_return co_await connect_relayed(std::move(*relayed), *expected, std::move(attempt));
  }
  auto socket = co_await open_tcp(address, attempt);
  if (!socket) co_return std::move(socket).error();
  co_return co_await secure(std::move(**socket), false, handshake_params(expected), std::move(attempt));
}

asio::awaitable<NetworkResult<std::shared_ptr<asio::ip::tcp::socket>>> NetworkNode::open_tcp(
    const std::string& address, std::shared_ptr<DialAttempt> attempt) {
  auto executor = co_await asio::this_coro::executor;
  auto target = detail::parse_host_port(address);
  if (!target) co_return make_error(ErrorKind::Config, "'" + address + "' is not host:port");

  // Resolving and connecting share the connect deadline; the watchdog closes the
  // socket (shared with it, so it outlives this frame) to end whichever is waiting.
  auto socket = std::make_shared<asio::ip::tcp::socket>(executor);
  attempt->socket = socket;
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer watchdog(executor);
  watchdog.expires_after(config_.connect_timeout);
  watchdog.async_wait([socket, timed_out](std::error_code ec) {
    if (ec) return;
    *timed_out = true;
    std::error_code ignored;
    socket->close(ignored);
  });
  std::error_code connect_ec;
  std::error_code literal_ec;
  // A literal address needs no resolver (and keeps an IPv6 scope: "fe80::1%eth0").
  const auto literal = asio::ip::make_address(target->host, literal_ec);
  if (!literal_ec) {
    const asio::ip::tcp::endpoint endpoint(literal, target->port);
    std::tie(connect_ec) = co_await socket->async_connect(endpoint, as_tuple(use_awaitable));
  } else {
    asio::ip::tcp::resolver resolver(executor);
    auto [resolve_ec, endpoints] =
        co_await resolver.async_resolve(target->host, std::to_string(target->port), as_tuple(use_awaitable));
    if (resolve_ec) {
      watchdog.cancel();
      co_return make_error(ErrorKind::Connection, "cannot resolve " + address + ": " + resolve_ec.message());
    }
    if (attempt->cancelled) {
      watchdog.cancel();
      co_return cancelled();
    }
    std::tie(connect_ec, std::ignore) = co_await asio::async_connect(*socket, endpoints, as_tuple(use_awaitable));
  }
  watchdog.cancel();
  if (attempt->cancelled) co_return cancelled();
  if (connect_ec || *timed_out) {
    co_return *timed_out ? make_error(ErrorKind::Timeout,
                                      "connecting to " + address + " took longer than " +
                                          std::to_string(config_.connect_timeout.count()) + " ms",
                                      ErrorCode::Timeout)
                         : make_error(ErrorKind::Connection, "cannot connect to " + address + ": " + connect_ec.message());
  }
  co_return socket;
}

asio::awaitable<NetworkResult<NetworkNode::ConnectionPtr>> NetworkNode::secure(
    asio::ip::tcp::socket socket, bool inbound, detail::HandshakeParams params, std::shared_ptr<DialAttempt> attempt) {
  auto connection = std::make_shared<detail::TlsConnection>(std::move(socket), *tls_, inbound, limits());
  attempt->connection = connection;
  auto handshake = co_await connection->handshake(std::move(params));
  if (attempt->cancelled) {
    if (handshake) connection->close();
    co_return cancelled();
  }
  if (!handshake) {
    counters_.handshake_failures++;
    co_return std::move(handshake).error();
  }
  co_return connection;
}

}  // namespace datafold::net
