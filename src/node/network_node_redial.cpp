// NetworkNode's redial: the timers behind the PeerTable's redial orders (peers whose
// live connection failed, dials that failed), and bootstrap peers dialled until they
// answer. When and whether is the table's decision; this file only keeps time.
#include <asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "node/network_node.hpp"

namespace datafold::net {

void NetworkNode::schedule_redial_locked(const detail::RedialOrder& order) {
  if (!running_ || !io_) return;
  auto timer = std::make_shared<asio::steady_timer>(io_executor(), order.at);
  timer->async_wait([weak = weak_from_this(), timer, id = order.id, generation = order.generation](std::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->redial(id, generation);
  });
}

void NetworkNode::redial(const NodeId& id, std::uint64_t generation) {
  {
    std::lock_guard lock(mutex_);
    if (!running_ || !peers_.redial_due(id, generation)) return;  // superseded, reconnected, or forgotten
  }
  counters_.redials++;
  // A failure comes back through finish_dial(), which orders the next attempt.
  async_connection(id, [id](NetworkResult<ConnectionPtr> outcome) {
    if (outcome) spdlog::info("reconnected to {}", id.short_string());
  });
}

void NetworkNode::dial_bootstrap_peer(std::string address) {
  connect_address(address, AddressSource::Bootstrap, [weak = weak_from_this(), address](NetworkResult<ConnectionPtr> outcome) {
    auto self = weak.lock();
    if (!self) return;
    std::lock_guard lock(self->mutex_);
    if (!self->running_ || !self->io_) return;
    if (outcome) {
      // From now on it is a known node like any other, redialled by id whenever
      // its connection fails, and never given up on.
      self->peers_.on_bootstrap_connected(address, (*outcome)->node_id());
      return;
    }
    const auto delay = self->peers_.on_bootstrap_failed(address, detail::PeerClock::now());
    spdlog::warn("bootstrap peer {} unreachable ({}); trying again in {} ms", address, outcome.error().message,
                 delay.count());
    auto timer = std::make_shared<asio::steady_timer>(self->io_executor(), delay);
    timer->async_wait([weak, timer, address](std::error_code ec) {
      if (ec) return;
      auto node = weak.lock();
      if (!node || !node->running()) return;
      node->counters_.redials++;
      node->dial_bootstrap_peer(address);
    });
  });
}

}  // namespace datafold::net
