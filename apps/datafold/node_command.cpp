#include "node_command.hpp"

#include <chrono>
#include <iostream>
#include <optional>
#include <unordered_set>

#include <datafold/net/identity.hpp>
#include <datafold/net/network_core.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http_api.hpp"
#include "read_policy_view.hpp"
#include "store/sample_data.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_query_handler.hpp"
#include "data_dir.hpp"
#include "data_dir_lock.hpp"
#include "exit_code.hpp"
#include "datafold/net/host_port.hpp"
#include "node_settings.hpp"
#include "seconds_validator.hpp"
#include "shutdown_signal.hpp"
#include "store_serving.hpp"

namespace datafold::app {

namespace {

// How often the foreground loop looks at the peer set, to log who came and went.
constexpr auto kPeerPollInterval = std::chrono::seconds(1);
// A year: long enough for any test run, short enough that the deadline arithmetic cannot overflow.
constexpr double kMaxRunSeconds = 365.0 * 24 * 3600;

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
  command_->add_option("--config", config_file_,
                       "TOML file of settings (keys as the flags: listen, bootstrap, network, http, discovery, "
                       "discovery_port, discovery_interfaces, announce_interval_ms, ping_interval_ms, max_connections, "
                       "max_connections_per_ip, max_requests_per_second_per_peer, request_burst_per_peer, memory_budget_mib, "
                       "sample, dht, dht_port, dht_bootstrap, port_mapping, relay, use_relays, relays, hole_punching, "
                       "reputation, ban_seconds, reputation_half_life, "
                       "relay_max_reservations, relay_max_reservations_per_ip, relay_max_circuits, "
                       "relay_max_circuits_per_peer, relay_max_circuit_bytes, relay_max_circuit_seconds); "
                       "flags win over the file");
  listen_ = net::HostPort{defaults.listen_address, defaults.listen_port}.to_string();
  network_ = defaults.network_name;
  command_->add_option("--listen", listen_, "IP:PORT to accept connections on (port 0: any free port)")
      ->capture_default_str();
  command_->add_option("--bootstrap", bootstrap_, "HOST:PORT of a peer to dial at start (repeatable)");
  command_->add_option("--network", network_, "Network name; peers with another name are refused")
      ->capture_default_str();
  http_ = "127.0.0.1:9080";
  command_->add_option("--http", http_,
                       "IP:PORT of the local HTTP API, or 'off'; keep it on loopback unless you mean it")
      ->capture_default_str();
  discovery_port_ = defaults.discovery_port;
  command_->add_flag("--no-discovery", no_discovery_, "Do not announce or listen for nodes on the LAN");
  command_->add_option("--discovery-port", discovery_port_, "UDP port for LAN discovery")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  command_->add_option("--discovery-interface", discovery_interfaces_,
                       "Interface (name or IPv4 address) to discover on (repeatable); default: every "
                       "interface that is up, loopback excepted");
  announce_interval_ms_ = static_cast<long>(defaults.announcement_interval.count());
  command_->add_option("--announce-interval-ms", announce_interval_ms_,
                       "LAN announcement interval; nodes unheard for 3 intervals are dropped")
      ->capture_default_str()
      ->check(CLI::Range(100L, 3'600'000L));
  ping_interval_ms_ = static_cast<long>(defaults.ping_interval.count());
  command_->add_option("--ping-interval-ms", ping_interval_ms_,
                       "Ping a silent connection this often; 3 missed pongs close it")
      ->capture_default_str()
      ->check(CLI::Range(100L, 3'600'000L));
  max_connections_ = static_cast<long>(defaults.max_connections);
  command_->add_option("--max-connections", max_connections_,
                       "Peers connected at once; at the cap a new peer replaces the least recently used idle one")
      ->capture_default_str()
      ->check(CLI::Range(1L, kMaxConnectionsLimit));
  max_connections_per_ip_ = static_cast<long>(defaults.max_connections_per_ip);
  command_->add_option("--max-connections-per-ip", max_connections_per_ip_,
                       "Inbound connections from one IP address (loopback exempt)")
      ->capture_default_str()
      ->check(CLI::Range(1L, kMaxConnectionsLimit));
  max_requests_per_second_ = static_cast<long>(defaults.max_requests_per_second_per_peer);
  command_->add_option("--max-requests-per-second-per-peer", max_requests_per_second_,
                       "Queries and schema listings one peer may send per second (0: no limit); "
                       "the excess is served at this rate, the peer's connection unread meanwhile")
      ->capture_default_str()
      ->check(CLI::Range(0L, kMaxRequestRateLimit));
  request_burst_ = static_cast<long>(defaults.request_burst_per_peer);
  command_->add_option("--request-burst-per-peer", request_burst_,
                       "Requests one peer may send at once above its per-second rate")
      ->capture_default_str()
      ->check(CLI::Range(1L, kMaxRequestRateLimit));
  memory_budget_mib_ = static_cast<long>(defaults.memory_budget_bytes >> 20);
  command_->add_option("--memory-budget-mib", memory_budget_mib_,
                       "Memory peers may make the node hold (write queues, read buffers, requests being "
                       "answered); a peer past its share (budget / max connections, at least 1 MiB) is no "
                       "longer read from, and closed if it stays so or the budget is spent")
      ->capture_default_str()
      ->check(CLI::Range(kMinMemoryBudgetMib, kMaxMemoryBudgetMib));
  command_->add_flag("--dht", dht_,
                     "Run the wide-area DHT even with no --dht-bootstrap (the first node of a network); "
                     "the DHT is on whenever a bootstrap node is given");
  dht_port_ = defaults.dht_port;
  command_->add_option("--dht-port", dht_port_, "UDP port of the DHT (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  command_->add_option("--dht-bootstrap", dht_bootstrap_,
                       "HOST:PORT of a DHT node to join the DHT through (repeatable); turns the DHT on");
  command_->add_flag("--no-port-mapping", no_port_mapping_,
                     "Do not ask the gateway (UPnP IGD, NAT-PMP) to forward the listen port; by default the "
                     "node maps it, renews the mapping and removes it at stop");
  command_->add_flag("--relay", relay_,
                     "Relay for nodes that cannot be dialled (reservations and circuits, within limits); "
                     "only worth it on a node others can dial");
  command_->add_option("--use-relays", use_relays_,
                       "When to hold reservations at relays and announce relayed addresses: never, unreachable "
                       "(when peers' dial-backs fail) or always")
      ->capture_default_str()
      ->check(CLI::IsMember({"never", "unreachable", "always"}));
  command_->add_option("--relay-via", relays_, "HOST:PORT of a relay to reserve at first (repeatable)");
  command_->add_flag("--no-hole-punching", no_hole_punching_,
                     "Keep relayed connections relayed instead of trying to open direct ones");
  for (const auto& limit : relay_limit_options())
    command_->add_option(limit.flag, relay_limits_.*(limit.member), std::string(limit.help) + " (with --relay)")
        ->capture_default_str()
        ->check(CLI::Range(limit.min, limit.max));
  command_->add_flag("--no-reputation", no_reputation_,
                     "Keep no scores of peers: nothing is avoided or banned (operator bans included)");
  command_->add_option("--ban-seconds", ban_seconds_, "How long a peer whose score sinks below the ban threshold is banned")
      ->capture_default_str()
      ->check(CLI::Range(1L, kMaxReputationSeconds));
  command_->add_option("--reputation-half-life", reputation_half_life_,
                       "Seconds in which a peer's score goes halfway back to neutral")
      ->capture_default_str()
      ->check(CLI::Range(1L, kMaxReputationSeconds));
  command_->add_flag("--sample", sample_, "Seed a sample UserProfile schema whose fields have different read policies");
  duration_option_ = command_->add_option("--duration", duration_seconds_,
                                          "Stop after this many seconds instead of waiting for a signal")
                         ->check(seconds_validator(kMaxRunSeconds));
}

int NodeCommand::run() const {
  NodeSettings settings{.listen = listen_,
                        .bootstrap = bootstrap_,
                        .network = network_,
                        .http = http_,
                        .discovery = !no_discovery_,
                        .discovery_port = discovery_port_,
                        .discovery_interfaces = discovery_interfaces_,
                        .announce_interval_ms = announce_interval_ms_,
                        .ping_interval_ms = ping_interval_ms_,
                        .max_connections = max_connections_,
                        .max_connections_per_ip = max_connections_per_ip_,
                        .max_requests_per_second_per_peer = max_requests_per_second_,
                        .request_burst_per_peer = request_burst_,
                        .memory_budget_mib = memory_budget_mib_,
                        .sample = sample_,
                        .dht = dht_,
                        .dht_port = dht_port_,
                        .dht_bootstrap = dht_bootstrap_,
                        .port_mapping = !no_port_mapping_,
                        .relay = relay_,
                        .use_relays = use_relays_,
                        .relays = relays_,
                        .hole_punching = !no_hole_punching_,
                        .relay_limits = relay_limits_,
                        .reputation = !no_reputation_,
                        .ban_seconds = ban_seconds_,
                        .reputation_half_life = reputation_half_life_,
                        .file = config_file_,
                        .from_file = {}};
  if (!config_file_.empty()) {
    if (auto problem = load_config_file(*command_, settings)) return fail(ExitCode::kUsage, *problem);
  }

  const auto listen = net::parse_listen_address(settings.listen);
  if (!listen)
    return fail(ExitCode::kUsage, settings.origin("listen", "--listen") + ": '" + settings.listen + "' is not IP:PORT");
  for (const auto& peer : settings.bootstrap)
    if (!net::parse_host_port(peer))
      return fail(ExitCode::kUsage, settings.origin("bootstrap", "--bootstrap") + ": '" + peer + "' is not HOST:PORT");
  for (const auto& node : settings.dht_bootstrap)
    if (!net::parse_host_port(node))
      return fail(ExitCode::kUsage,
                  settings.origin("dht_bootstrap", "--dht-bootstrap") + ": '" + node + "' is not HOST:PORT");

  if (auto made = ensure_data_dir(global_.data_dir); !made) return fail("node", made.error());
  // Before anything in the data dir is read or made: two nodes starting on a new data dir
  // would otherwise each create an identity. Held until this function returns.
  auto lock = DataDirLock::acquire(global_.data_dir);
  if (!lock) return fail("node", lock.error());
  auto identity = net::Identity::load_or_create(identity_path(global_.data_dir));
  if (!identity) return fail("node", identity.error());
  const auto node_id = identity->node_id();

  // Before the node starts its threads, so they inherit the blocked mask and only
  // wait_until() below ever takes the signal.
  ShutdownSignal shutdown;

  std::optional<net::HostPort> http;
  if (settings.http != "off") {
    http = net::parse_listen_address(settings.http);
    if (!http)
      return fail(ExitCode::kUsage,
                  settings.origin("http", "--http") + ": '" + settings.http + "' is not IP:PORT or 'off'");
  }

  // The node's data: SQLite in the data dir, shared with `datafold schema add` and
  // `datafold insert`, which write to it while the node runs.
  auto opened = store::SqliteStore::open(database_path(global_.data_dir));
  if (!opened) return fail("node", opened.error());
  auto data = std::make_shared<store::SqliteStore>(std::move(*opened));
  if (settings.sample) {
    if (auto seeded = store::seed_sample(*data); !seeded) return fail("node: --sample", seeded.error());
  }

  net::NetworkConfig config;
  config.listen_address = listen->host;
  config.listen_port = listen->port;
  config.identity = std::move(*identity);
  config.network_name = settings.network;
  config.bootstrap_peers = settings.bootstrap;
  config.trust_store_file = trust_store_path(global_.data_dir);
  config.enable_discovery = settings.discovery;
  config.discovery_port = settings.discovery_port;
  config.discovery_interfaces = settings.discovery_interfaces;
  config.announcement_interval = std::chrono::milliseconds(settings.announce_interval_ms);
  config.ping_interval = std::chrono::milliseconds(settings.ping_interval_ms);
  config.max_connections = static_cast<std::size_t>(settings.max_connections);
  config.max_connections_per_ip = static_cast<std::size_t>(settings.max_connections_per_ip);
  config.max_requests_per_second_per_peer = static_cast<double>(settings.max_requests_per_second_per_peer);
  config.request_burst_per_peer = static_cast<std::size_t>(settings.request_burst_per_peer);
  config.memory_budget_bytes = static_cast<std::size_t>(settings.memory_budget_mib) << 20;
  config.enable_dht = settings.dht || !settings.dht_bootstrap.empty();
  config.dht_port = settings.dht_port;
  config.dht_bootstrap = settings.dht_bootstrap;
  config.port_mapping = settings.port_mapping;
  config.relay = settings.relay;
  config.use_relays = settings.use_relays == "never"    ? net::NetworkConfig::RelayUse::Never
                      : settings.use_relays == "always" ? net::NetworkConfig::RelayUse::Always
                                                        : net::NetworkConfig::RelayUse::WhenUnreachable;
  config.relays = settings.relays;
  config.hole_punching = settings.hole_punching;
  config.reputation.enabled = settings.reputation;
  config.reputation.ban_duration = std::chrono::seconds(settings.ban_seconds);
  config.reputation.half_life = std::chrono::seconds(settings.reputation_half_life);
  config.reputation.file = reputation_path(global_.data_dir).string();
  config.relay_limits.max_reservations = static_cast<std::size_t>(settings.relay_limits.max_reservations);
  config.relay_limits.max_reservations_per_ip = static_cast<std::size_t>(settings.relay_limits.max_reservations_per_ip);
  config.relay_limits.max_circuits = static_cast<std::size_t>(settings.relay_limits.max_circuits);
  config.relay_limits.max_circuits_per_peer = static_cast<std::size_t>(settings.relay_limits.max_circuits_per_peer);
  config.relay_limits.max_circuit_bytes = static_cast<std::uint64_t>(settings.relay_limits.max_circuit_bytes);
  config.relay_limits.max_circuit_duration = std::chrono::seconds(settings.relay_limits.max_circuit_seconds);
  configure_for_store(config);
  auto created = net::NetworkCore::create(std::move(config), node_id, std::nullopt);
  if (!created) return fail("node", created.error());
  auto& core = *created;
  serve_store(core, data);

  if (auto started = core.start(); !started) return fail("node: cannot start", started.error());
  const auto address = net::HostPort{listen->host, core.listen_port()}.to_string();

  // The operator's own requests through the HTTP API read as the node itself (distance 0).
  const net::RequestContext self{core.local_node_id(), core.public_key(), 0};
  HttpApi api(core, HttpApi::LocalData{
                        [data, self](const net::Query& q) { return store::answer_query(*data, q, self); },
                        [data, self] { return store::visible_schemas(*data, self); },
                        [data](const std::string& documents) -> net::NetworkResult<net::Json> {
                          auto mutations = store::parse_mutations(documents);
                          if (!mutations) return std::move(mutations).error();
                          auto counts = data->apply_mutations(*mutations);
                          if (!counts) return std::move(counts).error();
                          return store::to_json(*counts);
                        },
                        [data](const std::string& text) -> net::NetworkResult<std::vector<std::string>> {
                          auto schema = store::parse_schema(text);
                          if (!schema) return std::move(schema).error();
                          if (auto added = data->add_schema(*schema); !added) return std::move(added).error();
                          for (const auto& warning : schema->warnings) spdlog::warn("schema {}: {}", schema->name, warning);
                          return schema->warnings;
                        },
                        [data](const std::string& name) -> std::optional<net::Json> {
                          auto schema = data->get_schema(name);
                          if (!schema || !*schema) return std::nullopt;
                          return store::stored_document(**schema);
                        },
                        [data]() -> net::NetworkResult<net::Json> {
                          auto schemas = data->list_schemas();
                          if (!schemas) return std::move(schemas).error();
                          return read_policy_view(*schemas);
                        },
                    });
  if (http) {
    if (auto serving = api.start(http->host, http->port); !serving) {
      (void)core.stop();
      return fail("node: --http", serving.error());
    }
    spdlog::info("HTTP API on {}", net::HostPort{http->host, api.port()}.to_string());
  }
  // Now that both addresses are known: CLI commands on this data dir find the API here.
  const std::optional<std::string> http_address =
      http ? std::optional(net::HostPort{http->host, api.port()}.to_string()) : std::nullopt;
  if (auto published = lock->publish(node_id.to_string(), address, http_address); !published) {
    api.stop();
    (void)core.stop();
    return fail("node", published.error());
  }
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

  api.stop();
  const auto stats = core.stats();
  if (auto stopped = core.stop(); !stopped) return fail("node: stop", stopped.error());
  spdlog::info("node stopped: {} inbound, {} dialled, {} requests received, {} sent, {} failed",
               stats.inbound_accepted, stats.outbound_dialled, stats.requests_received, stats.requests_sent,
               stats.requests_failed);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace datafold::app
