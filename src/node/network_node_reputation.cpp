// NetworkNode and reputation (DESIGN.md section 10.4): what the node tells its
// ReputationKeeper about peers, the minute tick that rewards peers connected without
// fault and saves the file, and the operator's view and hand.
#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/relayed_address.hpp"
#include "datafold/net/host_port.hpp"
#include "node/network_node.hpp"

namespace datafold::net {

namespace {

// Answered requests credited per peer per tick: at +0.05 each, +1 a tick at most.
constexpr std::uint64_t kAnswersCreditedPerTick = 20;

// The IP a connection's faults are charged to: none through a relay, whose
// socket is the relay's and says nothing of the peer's address.
std::string charged_ip_of(const detail::TlsConnection& connection) {
  if (connection.relayed_via()) return {};
  auto parsed = parse_host_port(connection.remote_address());
  return parsed ? parsed->host : std::string{};
}

}  // namespace

bool NetworkNode::is_trusted(const NodeId& node) const {
  (void)trust_store_.reload_if_changed();
  for (const auto& entry : trust_store_.entries())
    if (entry.public_key.node_id() == node) return true;
  return false;
}

void NetworkNode::record_peer_event(const ConnectionPtr& connection, detail::PeerEvent event, unsigned times) {
  const std::string ip = charged_ip_of(*connection);
  reputation_->record(event, connection->node_id(), ip, times);
  // Banned now: it goes at once, not at its next request.
  if (detail::weight_of(event) < 0 && reputation_->state(connection->node_id(), ip) == PeerState::Banned &&
      connection->state() != ConnectionState::Closed)
    connection->close();
}

std::vector<std::string> NetworkNode::by_reputation(std::vector<std::string> addresses) const {
  // The host a dial goes to: the relay's for a relayed address.
  return reputation_->order_by_host(std::move(addresses), [](const std::string& address) -> std::string {
    if (detail::is_relayed_address(address)) {
      auto relayed = detail::parse_relayed_address(address);
      return relayed ? relayed->address.host : std::string{};
    }
    auto parsed = parse_host_port(address);
    return parsed ? parsed->host : std::string{};
  });
}

void NetworkNode::note_good_request(const NodeId& peer) {
  if (!reputation_->enabled()) return;
  std::lock_guard lock(rate_mutex_);
  // Bounded like the buckets: at most the peers that sent requests this tick.
  ++good_requests_[peer];
}

void NetworkNode::reputation_tick() {
  if (!reputation_->enabled()) return;
  std::vector<std::pair<NodeId, std::string>> connected;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [link, connection] : links_)
      if (connection->state() == ConnectionState::Open)
        connected.emplace_back(connection->node_id(), charged_ip_of(*connection));
  }
  reputation_->tick_connected(connected);
  std::unordered_map<NodeId, std::uint64_t> answered;
  {
    std::lock_guard lock(rate_mutex_);
    answered.swap(good_requests_);
  }
  // Credit comes with time, not volume: a peer that sends many requests earns no
  // more in a tick than one that sends a few, so a flood cannot buy the goodwill
  // to cover its faults.
  for (const auto& [peer, count] : answered)
    reputation_->record(detail::PeerEvent::AnsweredRequest, peer, "",
                        static_cast<unsigned>(std::min<std::uint64_t>(count, kAnswersCreditedPerTick)));
  if (auto saved = reputation_->save_if_changed(); !saved)
    spdlog::warn("reputation not saved: {}", saved.error().message);
}

asio::awaitable<void> NetworkNode::reputation_loop() {
  auto self = shared_from_this();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (running_) {
    timer.expires_after(config_.reputation.tick_interval);
    co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (!running_) break;
    reputation_tick();
  }
}

void NetworkNode::close_banned_connections() {
  std::vector<ConnectionPtr> banned;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [link, connection] : links_)
      if (reputation_->state(connection->node_id(), charged_ip_of(*connection)) == PeerState::Banned)
        banned.push_back(connection);
  }
  for (auto& connection : banned) {
    spdlog::info("closing the connection to banned node {}", connection->node_id().short_string());
    connection->close();
  }
}

std::vector<ReputationEntry> NetworkNode::reputation() const {
  auto entries = reputation_->entries();
  // Worst first: what an operator looks for.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.score != b.score ? a.score < b.score : a.subject < b.subject;
  });
  return entries;
}

ReputationEntry NetworkNode::reputation_of(const NodeId& node) const {
  // Connected, it stands where it is: its key's score with its address's penalty.
  std::string ip;
  {
    std::lock_guard lock(mutex_);
    if (auto link = peers_.link_for(node))
      if (auto connection = links_.find(*link); connection != links_.end()) ip = charged_ip_of(*connection->second);
  }
  ReputationEntry out;
  out.subject = node.to_string();
  out.is_node = true;
  out.score = reputation_->score(node, ip);
  out.state = reputation_->state(node, ip);
  return out;
}

ReputationStats NetworkNode::reputation_stats() const { return reputation_->stats(); }

NetworkResult<void> NetworkNode::ban(const std::string& subject, std::chrono::seconds duration) {
  if (auto banned = reputation_->ban(subject, duration); !banned) return banned;
  close_banned_connections();
  (void)reputation_->save_if_changed();
  return {};
}

NetworkResult<bool> NetworkNode::unban(const std::string& subject) {
  auto found = reputation_->unban(subject);
  if (found) (void)reputation_->save_if_changed();
  return found;
}

NetworkResult<bool> NetworkNode::reset_reputation(const std::string& subject) {
  auto found = reputation_->reset(subject);
  if (found) (void)reputation_->save_if_changed();
  return found;
}

}  // namespace datafold::net
