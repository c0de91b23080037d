// NetworkNode and relays (DESIGN.md section 10.3): serving as one (RelayServer),
// holding reservations at some when this node cannot be dialled, joining the
// circuits a relay invites it to, and dialling a node through its relayed address.
// Over a circuit the two ends run their own TLS handshake, so the relay carries
// ciphertext only and cannot pass for either end.
#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <spdlog/spdlog.h>

#include "core/relayed_address.hpp"
#include "node/await_callback.hpp"
#include "node/dial_attempt.hpp"
#include "node/network_node.hpp"
#include "relay/circuit_join.hpp"
#include "relay/relay_server.hpp"

namespace datafold::net {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;

// How often the node looks at its reservations (lost ones are replaced sooner: a
// closed reservation connection triggers a look at once).
constexpr std::chrono::seconds kRelayMaintenanceInterval{5};
// A DHT search for relays at most this often: a node short of relays keeps asking,
// but one search a minute finds a relay that joined as soon as anyone needs to.
constexpr std::chrono::seconds kDhtRelaySearchGap{60};

void answer(const NetworkNode::ConnectionPtr& to, const RelayRequestMessage& request,
            RelayResponseMessage::Status status, std::string message) {
  RelayResponseMessage reply;
  reply.message_id = Uuid::random();
  reply.request_id = request.request_id;
  reply.status = status;
  reply.message = std::move(message);
  to->respond(std::move(reply));
}

}  // namespace

// ------------------------------------------------------------------ the relay's side

void NetworkNode::open_relay() {
  if (!config_.relay) return;
  auto relay = std::make_shared<detail::RelayServer>(io_executor(), config_.relay_limits,
                                                     config_.connect_timeout + config_.handshake_timeout, budget_);
  relay->on_abuse([weak = weak_from_this()](const ConnectionPtr& from) {
    if (auto self = weak.lock()) self->record_peer_event(from, detail::PeerEvent::RelayAbuse);
  });
  std::lock_guard lock(mutex_);
  relay_server_ = std::move(relay);
}

void NetworkNode::handle_relay_request(const ConnectionPtr& from, const RelayRequestMessage& request) {
  if (request.kind == RelayRequestMessage::Kind::Invite) return accept_invite(from, request);
  std::shared_ptr<detail::RelayServer> relay;
  {
    std::lock_guard lock(mutex_);
    relay = relay_server_;
  }
  if (!relay) return answer(from, request, RelayResponseMessage::Status::Refused, "this node does not relay");
  relay->handle(from, request);
}

asio::awaitable<void> NetworkNode::serve_circuit_join(asio::ip::tcp::socket socket) {
  std::shared_ptr<detail::RelayServer> relay;
  {
    std::lock_guard lock(mutex_);
    relay = relay_server_;
  }
  if (relay) co_await relay->serve_join(std::move(socket));
}

// ------------------------------------------------------------------ a reserved node's side

void NetworkNode::accept_invite(const ConnectionPtr& relay, const RelayRequestMessage& invite) {
  std::string relay_address;
  {
    std::lock_guard lock(mutex_);
    auto held = relay_reservations_.find(relay->node_id());
    if (held != relay_reservations_.end() && held->second.connection.lock() == relay)
      relay_address = held->second.relay_address;
  }
  if (relay_address.empty())
    return answer(relay, invite, RelayResponseMessage::Status::Refused, "no reservation held at this relay");
  answer(relay, invite, RelayResponseMessage::Status::Ok, {});
  spdlog::debug("relay {}: {} asks for a circuit", relay->node_id().short_string(), invite.node.short_string());
  asio::co_spawn(serial_executor(),
                 [self = shared_from_this(), relay_address, relay_id = relay->node_id(), token = invite.token] {
                   return self->join_circuit(relay_address, relay_id, token);
                 },
                 asio::detached);
}

asio::awaitable<void> NetworkNode::join_circuit(std::string relay_address, NodeId relay, RelayToken token) {
  auto self = shared_from_this();
  auto attempt = std::make_shared<DialAttempt>();
  auto socket = co_await open_tcp(relay_address, attempt);
  if (!socket) {
    spdlog::debug("circuit via {}: {}", relay.short_string(), socket.error().message);
    co_return;
  }
  const auto preamble = detail::encode_circuit_join(token);
  auto [write_ec, written] = co_await asio::async_write(**socket, asio::buffer(preamble), as_tuple(use_awaitable));
  if (write_ec) co_return;
  // This end answers the TLS handshake, as for any connection it accepts; the
  // caller proves its key to us, and we ours to it, through the relay.
  auto params = handshake_params(std::nullopt);
  params.relayed_via = relay;
  auto connection = co_await secure(std::move(**socket), true, std::move(params), attempt);
  if (!connection) {
    spdlog::debug("circuit via {}: handshake failed: {}", relay.short_string(), connection.error().message);
    co_return;
  }
  counters_.relayed_connections++;
  (void)adopt(*connection, "", AddressSource::Relay, "");
}

std::optional<NodeId> NetworkNode::connected_at_locked(const std::string& address) const {
  for (const auto& node : peers_.known()) {
    if (!peers_.link_for(node.node_id)) continue;
    for (const auto& known : node.addresses)
      if (known.address == address) return node.node_id;
  }
  return std::nullopt;
}

void NetworkNode::maintain_relay_reservations() {
  if (!running_ || config_.use_relays == NetworkConfig::RelayUse::Never) return;
  std::vector<NodeId> candidates;
  std::vector<std::string> configured;
  bool short_of_relays = false;
  {
    std::lock_guard lock(mutex_);
    const auto status = reachability_.status();
    const bool wanted =
        config_.use_relays == NetworkConfig::RelayUse::Always || status == detail::Reachability::Status::Unreachable;
    if (!wanted) {
      // Not known yet whether this node can be dialled: the configured relays are
      // peers that can tell (maintain_reachability() asks those it is connected to).
      if (status == detail::Reachability::Status::Unknown) {
        for (const auto& address : config_.relays) {
          if (relay_addresses_pending_.count(address) || connected_at_locked(address)) continue;
          relay_addresses_pending_.insert(address);
          configured.push_back(address);
        }
      }
    } else {
      const auto held = relay_reservations_.size() + relay_reservations_pending_.size();
      std::size_t room = held < config_.max_relay_reservations ? config_.max_relay_reservations - held : 0;
      // Relays named in the config first. One already connected is reserved at on
      // that connection (by id): a second dial would make a duplicate that replaces
      // the first, and with it the reservation.
      for (const auto& address : config_.relays) {
        if (room == 0) break;
        if (relay_addresses_pending_.count(address)) continue;
        const bool held_there = std::any_of(relay_reservations_.begin(), relay_reservations_.end(),
                                            [&](const auto& entry) { return entry.second.relay_address == address; });
        if (held_there) continue;
        if (auto id = connected_at_locked(address)) {
          if (relay_reservations_.count(*id) || relay_reservations_pending_.count(*id)) continue;
          relay_reservations_pending_.insert(*id);
          candidates.push_back(*id);
        } else {
          relay_addresses_pending_.insert(address);
          configured.push_back(address);
        }
        --room;
      }
      // Known relays, the best-scored first; avoided ones not at all.
      auto known = peers_.known();
      std::erase_if(known, [this](const NodeInfo& node) {
        return !node.capabilities.relay || node.node_id == identity_.node_id() || reputation_->avoided(node.node_id);
      });
      std::stable_sort(known.begin(), known.end(), [this](const NodeInfo& a, const NodeInfo& b) {
        return reputation_->score(a.node_id, "") > reputation_->score(b.node_id, "");
      });
      for (const auto& node : known) {
        if (room == 0) break;
        if (relay_reservations_.count(node.node_id) || relay_reservations_pending_.count(node.node_id)) continue;
        relay_reservations_pending_.insert(node.node_id);
        candidates.push_back(node.node_id);
        --room;
      }
      short_of_relays = room > 0;
    }
  }
  if (short_of_relays) search_dht_for_relays();
  for (const auto& address : configured) {
    connect_address(address, AddressSource::Manual,
                    [self = shared_from_this(), address](NetworkResult<ConnectionPtr> connection) {
                      bool reserve = false;
                      {
                        std::lock_guard lock(self->mutex_);
                        self->relay_addresses_pending_.erase(address);
                        if (connection) {
                          const NodeId id = (*connection)->node_id();
                          const bool wanted = self->config_.use_relays == NetworkConfig::RelayUse::Always ||
                                              self->reachability_.status() == detail::Reachability::Status::Unreachable;
                          reserve = wanted && !self->relay_reservations_.count(id) &&
                                    self->relay_reservations_pending_.insert(id).second;
                        }
                      }
                      if (!connection) {
                        spdlog::debug("relay {}: {}", address, connection.error().message);
                        return;
                      }
                      if (reserve) self->reserve_on(*connection);
                    });
  }
  for (const auto& id : candidates) {
    async_connection(id, [self = shared_from_this(), id](NetworkResult<ConnectionPtr> connection) {
      if (!connection) {
        std::lock_guard lock(self->mutex_);
        self->relay_reservations_pending_.erase(id);
        return;
      }
      self->reserve_on(*connection);
    });
  }
}

void NetworkNode::search_dht_for_relays() {
  std::shared_ptr<discovery::DhtDiscovery> dht;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (!dht_ || (dht_relay_search_at_ && now - *dht_relay_search_at_ < kDhtRelaySearchGap)) return;
    dht_relay_search_at_ = now;
    dht = dht_;
  }
  dht->find_network_nodes(config_.dht_lookup_timeout, [self = shared_from_this()](
                                                          std::vector<discovery::DhtFoundNode> nodes) {
    std::size_t relays = 0;
    for (const auto& found : nodes) {
      if (!found.info.capabilities.relay) continue;
      self->merge_from_dht(found, {});
      ++relays;
    }
    spdlog::debug("DHT: {} relay(s) among {} node(s) of the network", relays, nodes.size());
    // Reserve at the new ones now rather than at the next round; posted, as this
    // runs on the DHT's thread.
    if (relays > 0 && self->running())
      asio::post(self->io_executor(), [self] { self->maintain_relay_reservations(); });
  });
}

void NetworkNode::reserve_on(const ConnectionPtr& relay) {
  const NodeId id = relay->node_id();
  auto forget = [self = shared_from_this(), id] {
    std::lock_guard lock(self->mutex_);
    self->relay_reservations_pending_.erase(id);
  };
  // Only a direct connection: the relayed address others dial is this one's far end.
  if (relay->relayed_via() || !relay->peer_hello().capabilities.relay || relay->peer_hello().listen_port == 0) {
    forget();
    return;
  }
  // Where others reach the relay: the address dialled, or (had it dialled us) its
  // IP with the port its Hello says it listens on.
  std::string relay_address = relay->remote_address();
  if (relay->inbound()) {
    if (auto remote = parse_host_port(relay_address)) relay_address = format_host_port(remote->host, relay->peer_hello().listen_port);
  }
  RelayRequestMessage reserve;
  reserve.request_id = Uuid::random();
  reserve.kind = RelayRequestMessage::Kind::Reserve;
  relay->request(
      std::move(reserve),
      [self = shared_from_this(), relay, id, relay_address, forget](NetworkResult<Message> answer) {
        forget();
        const auto* response = answer ? std::get_if<RelayResponseMessage>(&*answer) : nullptr;
        if (!response || response->status != RelayResponseMessage::Status::Ok) {
          spdlog::info("relay {} refused a reservation: {}", id.short_string(),
                       !answer ? answer.error().message : response ? response->message : "unexpected answer");
          return;
        }
        {
          std::lock_guard lock(self->mutex_);
          self->relay_reservations_[id] = HeldReservation{relay_address, relay};
        }
        spdlog::info("reachable through relay {} at {}", id.short_string(), relay_address);
        self->announce_addresses();
      },
      config_.request_timeout);
}

std::vector<std::string> NetworkNode::relayed_addresses_locked() const {
  std::vector<std::string> out;
  for (const auto& [relay, held] : relay_reservations_) {
    auto address = parse_host_port(held.relay_address);
    if (address) out.push_back(detail::RelayedAddress::of(relay, *address).to_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void NetworkNode::on_relay_link_closed(const ConnectionPtr& connection) {
  std::shared_ptr<detail::RelayServer> relay;
  bool lost_reservation = false;
  {
    std::lock_guard lock(mutex_);
    relay = relay_server_;
    auto held = relay_reservations_.find(connection->node_id());
    if (held != relay_reservations_.end() && held->second.connection.lock() == connection) {
      relay_reservations_.erase(held);
      lost_reservation = true;
    }
  }
  if (relay) relay->on_closed(connection.get());
  if (lost_reservation && running_) {
    spdlog::info("lost the reservation at relay {}", connection->node_id().short_string());
    announce_addresses();
    // Another relay, if one is known: posted, as this runs inside on_closed.
    asio::post(io_executor(), [self = shared_from_this()] { self->maintain_relay_reservations(); });
  }
}

asio::awaitable<void> NetworkNode::relay_maintenance_loop() {
  auto self = shared_from_this();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (running_) {
    maintain_relay_reservations();
    maintain_reachability();
    timer.expires_after(kRelayMaintenanceInterval);
    co_await timer.async_wait(as_tuple(use_awaitable));
  }
}

// ------------------------------------------------------------------ the caller's side

asio::awaitable<NetworkResult<NetworkNode::ConnectionPtr>> NetworkNode::connect_relayed(
    detail::RelayedAddress relayed, NodeId target, std::shared_ptr<DialAttempt> attempt) {
  auto self = shared_from_this();
  if (relayed.names(identity_.node_id()) || relayed.names(target))
    co_return make_error(ErrorKind::Connection, "a relayed address through itself");
  const std::string relay_address = relayed.address.to_string();
  // The pooled connection to the relay when there is one (a second dial would make a
  // duplicate), else a dial of its address, which must answer as the relay named.
  std::optional<NodeId> connected;
  {
    std::lock_guard lock(mutex_);
    connected = connected_at_locked(relay_address);
  }
  NetworkResult<ConnectionPtr> relay = make_error(ErrorKind::Connection, "relay not reached");
  if (connected && relayed.names(*connected)) {
    relay = co_await detail::await_callback<NetworkResult<ConnectionPtr>>(
        [this, &connected](ConnectionHandler done) { async_connection(*connected, std::move(done)); });
  } else {
    relay = co_await detail::await_callback<NetworkResult<ConnectionPtr>>(
        [this, &relay_address](ConnectionHandler done) {
          connect_address(relay_address, AddressSource::PeerReport, std::move(done));
        });
  }
  if (!relay)
    co_return make_error(ErrorKind::Connection, "relay " + relayed.relay + " at " + relay_address +
                                                    " unreachable: " + relay.error().message);
  if (!relayed.names((*relay)->node_id()))
    co_return make_error(ErrorKind::Authentication,
                         "the node at " + relay_address + " is " + (*relay)->node_id().short_string() +
                             ", not relay " + relayed.relay,
                         ErrorCode::AuthenticationFailed);
  const NodeId relay_id = (*relay)->node_id();
  if ((*relay)->relayed_via())
    co_return make_error(ErrorKind::Connection, "relay " + relay_id.short_string() + " is itself reached through a relay");
  if (attempt->cancelled) co_return make_error(ErrorKind::Connection, "dial cancelled");

  RelayRequestMessage connect;
  connect.request_id = Uuid::random();
  connect.kind = RelayRequestMessage::Kind::Connect;
  connect.node = target;
  // The connection is held here, not in the lambda (see await_callback.hpp).
  const ConnectionPtr relay_connection = *relay;
  const auto timeout = config_.connect_timeout + config_.handshake_timeout;
  auto answer = co_await detail::await_callback<NetworkResult<Message>>(
      [&relay_connection, &connect, &timeout](std::function<void(NetworkResult<Message>)> done) {
        relay_connection->request(std::move(connect), std::move(done), timeout);
      });
  if (!answer) co_return make_error(answer.error().kind, "relay " + relay_id.short_string() + ": " + answer.error().message,
                                    answer.error().code);
  const auto* response = std::get_if<RelayResponseMessage>(&*answer);
  if (!response) co_return make_error(ErrorKind::Protocol, "relay answered Connect with something else", ErrorCode::ProtocolError);
  if (response->status != RelayResponseMessage::Status::Ok)
    co_return make_error(ErrorKind::Connection, "relay " + relay_id.short_string() + ": " + response->message);
  if (attempt->cancelled) co_return make_error(ErrorKind::Connection, "dial cancelled");

  auto socket = co_await open_tcp(relay_address, attempt);
  if (!socket) co_return std::move(socket).error();
  const auto preamble = detail::encode_circuit_join(response->token);
  auto [write_ec, written] = co_await asio::async_write(**socket, asio::buffer(preamble), as_tuple(use_awaitable));
  if (write_ec) co_return make_error(ErrorKind::Connection, "relay " + relay_id.short_string() + " closed the circuit");
  auto params = handshake_params(target);
  params.relayed_via = relay_id;
  auto connection = co_await secure(std::move(**socket), false, std::move(params), attempt);
  if (connection) counters_.relayed_connections++;
  co_return connection;
}

}  // namespace datafold::net
