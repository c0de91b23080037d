#include "reachability/port_mapper.hpp"

#include <optional>

#include <spdlog/spdlog.h>

#include "reachability/natpmp_client.hpp"
#include "reachability/upnp_client.hpp"

namespace datafold::net::reachability {

struct PortMapper::State {
  State(PortMapperConfig c, OnChange callback, std::vector<std::unique_ptr<GatewayClient>> list)
      : config(std::move(c)), schedule(config.schedule, Clock::now()), clients(std::move(list)),
        on_change(std::move(callback)) {}

  const PortMapperConfig config;

  mutable std::mutex mutex;  // guards schedule, stopping, finished
  std::condition_variable wake;
  MappingSchedule schedule;
  bool stopping = false;
  bool finished = false;

  // Used by the mapper's thread alone.
  std::vector<std::unique_ptr<GatewayClient>> clients;

  // Held while on_change runs, so stop() can promise no call after it returns.
  std::mutex callback_mutex;
  bool callbacks_allowed = true;
  OnChange on_change;

  PortMappingStatus status_locked() const;
  PortMappingStatus status() const {
    std::lock_guard lock(mutex);
    return status_locked();
  }
  void notify();
  GatewayClient* client_for(MappingProtocol protocol);
  NetworkResult<GrantedMapping> attempt(const MappingSchedule::Attempt& attempt);
  void run();
};

PortMappingStatus PortMapper::State::status_locked() const {
  PortMappingStatus out;
  out.enabled = true;
  out.failures = schedule.failures();
  out.last_error = schedule.last_error();
  if (const auto& current = schedule.current()) {
    out.active = true;
    out.protocol = current->granted.protocol;
    out.external_address = current->granted.external_address();
    if (current->expires)
      out.lease_expiry = std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(*current->expires - Clock::now());
  }
  return out;
}

void PortMapper::State::notify() {
  const auto now = status();
  std::lock_guard lock(callback_mutex);
  if (callbacks_allowed && on_change) on_change(now);
}

GatewayClient* PortMapper::State::client_for(MappingProtocol protocol) {
  for (auto& client : clients)
    if (client->protocol() == protocol) return client.get();
  return nullptr;
}

NetworkResult<GrantedMapping> PortMapper::State::attempt(const MappingSchedule::Attempt& attempt) {
  MappingRequest request{.internal_port = config.internal_port,
                         .external_port = config.internal_port,
                         .lease = config.schedule.requested_lease,
                         .description = config.description};
  if (attempt.kind == MappingSchedule::AttemptKind::Renew) {
    GatewayClient* client = attempt.protocol ? client_for(*attempt.protocol) : nullptr;
    if (client == nullptr) return make_error(ErrorKind::Config, "no client for the mapping's protocol");
    request.external_port = attempt.external_port;
    return client->map(request, Clock::now() + config.attempt_timeout);
  }
  // No mapping yet: each protocol in turn, each with its own deadline.
  std::string why;
  for (auto& client : clients) {
    auto granted = client->map(request, Clock::now() + config.attempt_timeout);
    if (granted) return granted;
    why += (why.empty() ? "" : "; ") + granted.error().message;
  }
  return make_error(ErrorKind::Discovery, why.empty() ? "no mapping protocol" : why);
}

void PortMapper::State::run() {
  for (;;) {
    std::optional<MappingSchedule::Attempt> next;
    bool lost = false;
    {
      std::unique_lock lock(mutex);
      while (!stopping && !lost && !next) {
        const auto now = Clock::now();
        lost = schedule.on_tick(now) == MappingChange::Lost;
        if (lost) break;
        next = schedule.due(now);
        if (!next) wake.wait_until(lock, schedule.next_due());
      }
      if (stopping) break;
    }
    if (lost) {
      spdlog::warn("port mapping: the lease ended without a renewal; no longer announcing the mapped address");
      notify();
      continue;
    }
    auto outcome = attempt(*next);
    MappingChange change;
    std::uint64_t failures = 0;
    {
      std::lock_guard lock(mutex);
      change = outcome ? schedule.on_granted(*outcome, Clock::now())
                       : schedule.on_failed(outcome.error().message, Clock::now());
      failures = schedule.failures();
    }
    if (outcome) {
      if (change != MappingChange::None)
        spdlog::info("port mapping: {} maps {} to local port {} (lease {} s)", to_string(outcome->protocol),
                     outcome->external_address(), config.internal_port, outcome->lease.count());
    } else if (failures == 1) {
      spdlog::info("port mapping: none: {}", outcome.error().message);
    } else {
      spdlog::debug("port mapping: attempt failed: {}", outcome.error().message);
    }
    if (change == MappingChange::Lost) spdlog::warn("port mapping: lost (lease ended while renewals failed)");
    if (change != MappingChange::None) notify();
  }

  // Stopping: the gateway forgets the mapping now rather than at the lease's end.
  std::optional<ActiveMapping> held;
  {
    std::lock_guard lock(mutex);
    held = schedule.current();
  }
  if (held) {
    GatewayClient* client = client_for(held->granted.protocol);
    auto removed = client ? client->unmap(held->granted, config.internal_port, Clock::now() + config.stop_timeout)
                          : NetworkResult<void>(make_error(ErrorKind::Config, "no client"));
    if (removed) spdlog::info("port mapping: removed {}", held->granted.external_address());
    else spdlog::warn("port mapping: could not remove {}: {}", held->granted.external_address(), removed.error().message);
    {
      std::lock_guard lock(mutex);
      schedule = MappingSchedule(config.schedule, Clock::now());
    }
    notify();
  }
  std::lock_guard lock(mutex);
  finished = true;
  wake.notify_all();
}

PortMapper::PortMapper(PortMapperConfig config, OnChange on_change, std::vector<std::unique_ptr<GatewayClient>> clients) {
  if (clients.empty()) {
    clients.push_back(std::make_unique<NatPmpClient>());
    clients.push_back(std::make_unique<UpnpClient>(config.multicast_interface));
  }
  state_ = std::make_shared<State>(std::move(config), std::move(on_change), std::move(clients));
}

PortMapper::~PortMapper() { stop(); }

void PortMapper::start() {
  if (thread_.joinable()) return;
  // The thread holds the state too: if stop() gives up waiting, it finishes on its own.
  thread_ = std::thread([state = state_] { state->run(); });
}

void PortMapper::stop() {
  if (!thread_.joinable()) return;
  bool finished = false;
  {
    std::unique_lock lock(state_->mutex);
    state_->stopping = true;
    state_->wake.notify_all();
    // An attempt in progress ends by its deadline; the removal takes stop_timeout.
    const auto limit = Clock::now() + state_->config.stop_timeout +
                       state_->config.attempt_timeout * static_cast<int>(state_->clients.size());
    finished = state_->wake.wait_until(lock, limit, [&] { return state_->finished; });
  }
  {
    std::lock_guard lock(state_->callback_mutex);
    state_->callbacks_allowed = false;
  }
  if (finished) {
    thread_.join();
  } else {
    spdlog::warn("port mapping: the gateway did not answer in time; not waiting for it");
    thread_.detach();
  }
}

PortMappingStatus PortMapper::status() const { return state_->status(); }

}  // namespace datafold::net::reachability
