// NetworkNode and reachability (DESIGN.md section 10.3): asking peers to dial this
// node back, and dialling back peers that ask — only ever at the IP their own
// connection comes from, so no one can aim this node at a third party.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "node/dial_attempt.hpp"
#include "node/network_node.hpp"
#include "relay/relay_server.hpp"

namespace datafold::net {

namespace {

// Dial-backs this node runs at once for its peers; more are refused (ResourceExhausted).
constexpr std::size_t kMaxDialBacksInFlight = 8;
// Peers asked per maintenance tick: a few answers settle the question.
constexpr std::size_t kAsksPerTick = 3;

}  // namespace

void NetworkNode::maintain_reachability() {
  // Asked for what relays need to know; a node that never uses relays does not ask.
  if (!running_ || !config_.accept_connections || bound_port_.load() == 0 ||
      config_.use_relays == NetworkConfig::RelayUse::Never)
    return;
  std::vector<ConnectionPtr> ask;
  {
    std::lock_guard lock(mutex_);
    const auto now = detail::Reachability::Clock::now();
    for (const auto& [link, connection] : links_) {
      if (ask.size() >= kAsksPerTick) break;
      if (connection->relayed_via() || !connection->peer_hello().capabilities.dial_back) continue;
      if (connection->state() != ConnectionState::Open) continue;
      if (!reachability_.should_ask(connection->node_id(), now)) continue;
      reachability_.asked(connection->node_id(), now);
      ask.push_back(connection);
    }
  }
  for (const auto& peer : ask) {
    DialBackRequestMessage request;
    request.request_id = Uuid::random();
    request.port = bound_port_.load();
    peer->request(
        std::move(request),
        [self = shared_from_this(), id = peer->node_id()](NetworkResult<Message> answer) {
          const auto* response = answer ? std::get_if<DialBackResponseMessage>(&*answer) : nullptr;
          // A peer that refused (rate limit, stopping) or failed tells us nothing.
          if (!response) return;
          bool changed = false;
          detail::Reachability::Status status;
          {
            std::lock_guard lock(self->mutex_);
            const auto now = detail::Reachability::Clock::now();
            changed = self->reachability_.record(id, response->reachable, response->address, now);
            status = self->reachability_.status(now);
          }
          spdlog::debug("dial-back by {} to {}: {}{}", id.short_string(), response->address,
                        response->reachable ? "reachable" : "not reachable",
                        response->detail.empty() ? "" : " (" + response->detail + ")");
          if (!changed) return;
          spdlog::info("reachability: {}", detail::to_string(status));
          self->maintain_relay_reservations();
        },
        config_.connect_timeout + config_.handshake_timeout + config_.request_timeout);
  }
}

void NetworkNode::handle_dial_back(const ConnectionPtr& from, const DialBackRequestMessage& request) {
  auto refuse = [&](ErrorCode code, std::string why) {
    ErrorMessage error;
    error.message_id = Uuid::random();
    error.code = code;
    error.message = std::move(why);
    error.related_message_id = request.request_id;
    from->respond(std::move(error));
  };
  if (!config_.answer_dial_back) return refuse(ErrorCode::UnsupportedMessage, "this node does not dial back");
  // Over a relay the socket's peer is the relay: there is no address of the asker's to dial.
  if (from->relayed_via()) return refuse(ErrorCode::PermissionDenied, "no dial-back over a relayed connection");
  auto remote = parse_host_port(from->remote_address());
  if (!remote) return refuse(ErrorCode::InternalError, "no address for this connection");
  {
    std::lock_guard lock(dial_back_mutex_);
    const auto now = detail::TokenBucket::Clock::now();
    auto bucket = dial_back_buckets_.find(remote->host);
    if (bucket == dial_back_buckets_.end()) {
      if (dial_back_buckets_.size() >= 1024)
        std::erase_if(dial_back_buckets_, [now](auto& entry) { return entry.second.full(now); });
      bucket = dial_back_buckets_.emplace(remote->host, detail::TokenBucket(config_.dial_back_rate_per_ip, 2.0, now)).first;
    }
    const bool busy = dial_back_in_flight_ >= kMaxDialBacksInFlight;
    const bool over_rate = !busy && !bucket->second.try_take(now);
    if (busy || over_rate) {
      counters_.dial_backs_refused++;
      // Past its own rate is the asker's doing; a node busy with others' is not.
      if (over_rate) record_peer_event(from, detail::PeerEvent::DialBackAbuse);
      return refuse(ErrorCode::ResourceExhausted, "too many dial-back requests; ask again later");
    }
    ++dial_back_in_flight_;
  }
  // The asker's IP, never another: only the port is theirs to choose.
  const std::string address = format_host_port(remote->host, request.port);
  asio::co_spawn(serial_executor(),
                 [self = shared_from_this(), from, request, address]() -> asio::awaitable<void> {
                   auto attempt = std::make_shared<DialAttempt>();
                   DialBackResponseMessage reply;
                   reply.message_id = Uuid::random();
                   reply.request_id = request.request_id;
                   reply.address = address;
                   auto socket = co_await self->open_tcp(address, attempt);
                   if (socket) {
                     auto params = self->handshake_params(from->node_id());
                     params.dial_back_probe = true;
                     auto probe = co_await self->secure(std::move(**socket), false, std::move(params), attempt);
                     if (probe) {
                       reply.reachable = true;
                       (*probe)->close();
                     } else {
                       reply.detail = probe.error().message;
                     }
                   } else {
                     reply.detail = socket.error().message;
                   }
                   {
                     std::lock_guard lock(self->dial_back_mutex_);
                     --self->dial_back_in_flight_;
                   }
                   self->counters_.dial_backs_answered++;
                   from->respond(std::move(reply));
                 },
                 asio::detached);
}

ReachabilityReport NetworkNode::reachability() const {
  ReachabilityReport out;
  std::shared_ptr<detail::RelayServer> relay;
  {
    std::lock_guard lock(mutex_);
    const auto now = detail::Reachability::Clock::now();
    switch (reachability_.status(now)) {
      case detail::Reachability::Status::Unknown: out.status = ReachabilityStatus::Unknown; break;
      case detail::Reachability::Status::Reachable: out.status = ReachabilityStatus::Reachable; break;
      case detail::Reachability::Status::Unreachable: out.status = ReachabilityStatus::Unreachable; break;
    }
    out.reachable_addresses = reachability_.reachable_addresses(now);
    out.relayed_addresses = relayed_addresses_locked();
    relay = relay_server_;
  }
  if (relay) {
    const auto stats = relay->stats();
    out.relay.enabled = true;
    out.relay.reservations = stats.reservations;
    out.relay.circuits_running = stats.circuits_running;
    out.relay.circuits_opened = stats.counters.circuits_opened;
    out.relay.circuits_refused = stats.counters.circuits_refused + stats.circuits_refused_for_memory;
    out.relay.reservations_refused = stats.counters.reservations_refused;
    out.relay.circuits_cut = stats.circuits_cut;
    out.relay.bytes_relayed = stats.circuit_bytes;
    out.relay.limits = config_.relay_limits;
  }
  return out;
}

std::string_view to_string(ReachabilityStatus status) noexcept {
  switch (status) {
    case ReachabilityStatus::Unknown: return "unknown";
    case ReachabilityStatus::Reachable: return "reachable";
    case ReachabilityStatus::Unreachable: return "unreachable";
  }
  return "unknown";
}

}  // namespace datafold::net
