// NetworkNode's redial: backoff after failed dials, background redials of peers
// whose live connection failed, and bootstrap peers dialled until they answer.
#include <asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "node/network_node.hpp"

namespace datafold::net {

detail::RedialPolicy NetworkNode::redial_policy() const {
  return {.initial = config_.redial_initial_delay, .ceiling = config_.redial_max_delay};
}

void NetworkNode::record_dial_failure_locked(const NodeId& id, const NetworkError& error) {
  auto& redial = redial_[id];
  const auto delay = redial.backoff.record_failure(redial_policy(), detail::RedialBackoff::Clock::now(), jitter_);
  redial.last_error = error.message;
  if (auto known = known_.find(id); known != known_.end()) {
    known->second.health = NodeHealth::Unreachable;
    known->second.failed_dials = redial.backoff.failures();
  }
  if (!redial.wanted) return;
  if (redial.persistent || redial.backoff.failures() <= config_.redial_max_attempts) {
    schedule_redial_locked(id, delay);
  } else {
    // Still known (discovery or a request may bring it back); just no longer chased.
    redial.wanted = false;
    spdlog::info("node {} unreachable after {} dials; no more redials until it is heard from",
                 id.short_string(), redial.backoff.failures());
  }
}

void NetworkNode::schedule_redial_locked(const NodeId& id, std::chrono::milliseconds delay) {
  if (!running_ || !io_) return;
  const auto generation = ++redial_[id].generation;
  auto timer = std::make_shared<asio::steady_timer>(*io_, delay);
  timer->async_wait([weak = weak_from_this(), timer, id, generation](std::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->redial(id, generation);
  });
}

void NetworkNode::redial(const NodeId& id, std::uint64_t generation) {
  {
    std::lock_guard lock(mutex_);
    auto redial = redial_.find(id);
    if (!running_ || redial == redial_.end() || redial->second.generation != generation || !redial->second.wanted)
      return;  // superseded, reconnected, or forgotten meanwhile
    if (connections_.count(id) > 0 || dial_for_node_.count(id) > 0) return;
  }
  counters_.redials++;
  // A failure comes back through finish_dial(), which schedules the next attempt.
  async_connection(id, [id](NetworkResult<ConnectionPtr> outcome) {
    if (outcome) spdlog::info("reconnected to {}", id.short_string());
  });
}

void NetworkNode::forget_locked(const NodeId& id) {
  known_.erase(id);
  redial_.erase(id);
}

void NetworkNode::dial_bootstrap_peer(std::string address, std::shared_ptr<detail::RedialBackoff> backoff) {
  async_connect_address(address, [weak = weak_from_this(), address, backoff](NetworkResult<ConnectionPtr> outcome) {
    auto self = weak.lock();
    if (!self) return;
    std::lock_guard lock(self->mutex_);
    if (!self->running_ || !self->io_) return;
    if (outcome) {
      // From now on it is a known node like any other, redialled by id whenever
      // its connection fails, and never given up on.
      self->redial_[(*outcome)->node_id()].persistent = true;
      return;
    }
    const auto delay = backoff->record_failure(self->redial_policy(), detail::RedialBackoff::Clock::now(), self->jitter_);
    spdlog::warn("bootstrap peer {} unreachable ({}); trying again in {} ms", address, outcome.error().message,
                 delay.count());
    auto timer = std::make_shared<asio::steady_timer>(*self->io_, delay);
    timer->async_wait([weak, timer, address, backoff](std::error_code ec) {
      if (ec) return;
      auto node = weak.lock();
      if (!node || !node->running()) return;
      node->counters_.redials++;
      node->dial_bootstrap_peer(address, backoff);
    });
  });
}

}  // namespace datafold::net
