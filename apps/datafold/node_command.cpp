#include "node_command.hpp"

#include <chrono>
#include <iostream>
#include <optional>
#include <unordered_set>

#include <datafold/net/identity.hpp>
#include <datafold/net/network_core.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "builtin_schema.hpp"
#include "data_dir.hpp"
#include "exit_code.hpp"
#include "host_port.hpp"
#include "shutdown_signal.hpp"

namespace datafold::app {

namespace {

// How often the foreground loop looks at the peer set, to log who came and went.
constexpr auto kPeerPollInterval = std::chrono::seconds(1);

// Logs peers as they connect and disconnect, so an operator sees bootstrap work.
class PeerLog {
 public:
  void update(const net::NetworkCore& core) {
    auto now = core.connected_nodes();
    if (now == peers_) return;
    const auto known = core.known_nodes();
    for (const auto& id : now) {
      if (peers_.contains(id)) continue;
      const auto it = known.find(id);
      spdlog::info("peer {} connected ({})", id.to_string(),
                   it != known.end() && !it->second.address.empty() ? it->second.address : "inbound");
    }
    for (const auto& id : peers_)
      if (!now.contains(id)) spdlog::info("peer {} disconnected", id.to_string());
    peers_ = std::move(now);
  }

 private:
  std::unordered_set<net::NodeId> peers_;
};

}  // namespace

NodeCommand::NodeCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global), command_(app.add_subcommand("node", "Run a node in the foreground")) {
  const net::NetworkConfig defaults;
  listen_ = HostPort{defaults.listen_address, defaults.listen_port}.to_string();
  network_ = defaults.network_name;
  command_->add_option("--listen", listen_, "IP:PORT to accept connections on (port 0: any free port)")
      ->capture_default_str();
  command_->add_option("--bootstrap", bootstrap_, "HOST:PORT of a peer to dial at start (repeatable)");
  command_->add_option("--network", network_, "Network name; peers with another name are refused")
      ->capture_default_str();
  duration_option_ = command_->add_option("--duration", duration_seconds_,
                                          "Stop after this many seconds instead of waiting for a signal")
                         ->check(CLI::PositiveNumber);
}

int NodeCommand::run() const {
  const auto listen = parse_listen_address(listen_);
  if (!listen) return fail(ExitCode::kUsage, "--listen: '" + listen_ + "' is not IP:PORT");
  for (const auto& peer : bootstrap_)
    if (!parse_peer_address(peer)) return fail(ExitCode::kUsage, "--bootstrap: '" + peer + "' is not HOST:PORT");

  if (auto made = ensure_data_dir(global_.data_dir); !made) return fail("node", made.error());
  auto identity = net::Identity::load_or_create(identity_path(global_.data_dir));
  if (!identity) return fail("node", identity.error());
  const auto node_id = identity->node_id();

  // Before the node starts its threads, so they inherit the blocked mask and only
  // wait_until() below ever takes the signal.
  ShutdownSignal shutdown;

  net::NetworkConfig config;
  config.listen_address = listen->host;
  config.listen_port = listen->port;
  config.identity = std::move(*identity);
  config.network_name = network_;
  config.bootstrap_peers = bootstrap_;
  auto created = net::NetworkCore::create(std::move(config), node_id, std::nullopt);
  if (!created) return fail("node", created.error());
  auto& core = *created;

  core.set_query_callback([](net::Query query, const net::RequestContext& requester) {
    spdlog::debug("query from {}: {} ({} fields)", requester.node_id.short_string(), query.schema_name,
                  query.fields.size());
    return answer_builtin_query(query);
  });
  core.set_schema_list_callback([] { return builtin_schemas(); });

  if (auto started = core.start(); !started) return fail("node: cannot start", started.error());
  const auto address = HostPort{listen->host, core.listen_port()}.to_string();
  if (global_.json) {
    std::cout << nlohmann::json{{"event", "listening"}, {"node_id", node_id.to_string()}, {"address", address}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "node " << node_id.to_string() << " listening on " << address << std::endl;
  }

  std::optional<ShutdownSignal::Clock::time_point> deadline;
  if (duration_option_->count() > 0)
    deadline = ShutdownSignal::Clock::now() +
               std::chrono::duration_cast<ShutdownSignal::Clock::duration>(
                   std::chrono::duration<double>(duration_seconds_));

  PeerLog peers;
  for (;;) {
    auto wake = ShutdownSignal::Clock::now() + kPeerPollInterval;
    if (deadline && *deadline < wake) wake = *deadline;
    if (const int signal_number = shutdown.wait_until(wake); signal_number != 0) {
      spdlog::info("{} received: stopping", signal_name(signal_number));
      break;
    }
    if (deadline && ShutdownSignal::Clock::now() >= *deadline) {
      spdlog::info("--duration elapsed: stopping");
      break;
    }
    peers.update(core);
  }

  const auto stats = core.stats();
  if (auto stopped = core.stop(); !stopped) return fail("node: stop", stopped.error());
  spdlog::info("node stopped: {} inbound, {} dialled, {} requests received, {} sent, {} failed",
               stats.inbound_accepted, stats.outbound_dialled, stats.requests_received, stats.requests_sent,
               stats.requests_failed);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace datafold::app
