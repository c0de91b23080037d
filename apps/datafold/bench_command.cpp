#include "bench_command.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <datafold/net/message.hpp>
#include <datafold/net/message_codec.hpp>
#include <datafold/net/network_core.hpp>
#include <datafold/net/uuid.hpp>
#include <nlohmann/json.hpp>

#include "bench_peer.hpp"
#include "bench_shape.hpp"
#include "bench_store_target.hpp"
#include "exit_code.hpp"
#include "datafold/net/host_port.hpp"
#include "load/latency_recorder.hpp"
#include "load/load_report.hpp"
#include "load/measured_window.hpp"
#include "load/pingpong_floor.hpp"
#include "load/round_medians.hpp"
#include "load/shape_scaling.hpp"
#include "load_client.hpp"
#include "seconds_validator.hpp"

namespace datafold::app {

namespace {

using bench::LoadReport;
using bench::LoadSpec;

// Load before the measured window: connections settle, caches and allocators warm up.
constexpr auto kWarmup = std::chrono::milliseconds(500);
// Bounds each client's connect, handshake and every query, so every run ends.
constexpr auto kClientTimeout = std::chrono::milliseconds(5000);
// After the deadline, queries in flight get this long; each times out within kClientTimeout.
constexpr auto kTailTimeout = kClientTimeout + std::chrono::milliseconds(1000);
constexpr double kMaxBenchSeconds = 3600;
constexpr std::size_t kMaxRounds = 20;
// Half the default 16 MiB frame: the reply's envelope has to fit around it.
constexpr std::size_t kMaxPayloadBytes = 8u << 20;
// What the built-in target serves: every field of this schema is payload_bytes long.
constexpr std::string_view kBenchSchema = "Bench";
constexpr std::string_view kBenchField = "payload";

// What every client asks, and how to tell a right answer.
struct Workload {
  net::Query query;
  ReplyCheck check;  // empty: any answer will do
};

Workload builtin_target_workload(std::size_t payload_bytes) {
  Workload w;
  w.query.schema_name = std::string(kBenchSchema);
  w.query.fields = {std::string(kBenchField)};
  w.check = [payload_bytes](const net::QueryResult& result) {
    if (result.results.size() != 1 || !result.results.front().ok()) return false;
    const auto& value = result.results.front().value();
    return value.is_string() && value.get_ref<const std::string&>().size() == payload_bytes;
  };
  return w;
}

// Against another node the query is one `datafold node --sample` serves (its
// UserProfile.username is readable by anyone); the reply's size is measured from
// what the target answers.
Workload remote_target_workload() {
  Workload w;
  w.query.schema_name = "UserProfile";
  w.query.fields = {"username"};
  return w;
}

// What --store asks its store target: the same query, and every sample row's value.
Workload store_target_workload() {
  Workload w = remote_target_workload();
  w.check = [](const net::QueryResult& result) {
    if (result.results.size() != 1 || !result.results.front().ok()) return false;
    const auto& value = result.results.front().value();
    return value.is_array() && value.size() == StoreTarget::rows();
  };
  return w;
}

net::NetworkResult<net::NetworkCore> start_builtin_target(std::size_t payload_bytes, const std::string& network) {
  net::NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.network_name = network;
  // Every client of the largest shape, plus the probe.
  config.max_connections = kMaxBenchConnections + 8;
  // The bench measures how fast the node can go; one client at 1×64 asks far more
  // than the per-peer rate limit lets through, which would measure the limit instead.
  config.max_requests_per_second_per_peer = 0;
  auto core = net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt);
  if (!core) return core;
  core->set_query_callback([payload = std::string(payload_bytes, 'x')](net::Query query) {
    net::QueryResult result;
    result.results.reserve(query.fields.size());
    for (auto& field : query.fields) {
      if (query.schema_name == kBenchSchema) {
        result.results.push_back(net::FieldResult{std::move(field), net::Json(payload)});
      } else {
        result.results.push_back(net::FieldResult{
            std::move(field), net::SchemaError{net::SchemaError::Kind::NotFound, "no such schema"}});
      }
    }
    return result;
  }, net::RunOn::IoThread);  // answered from memory: never blocks
  core->set_schema_list_callback([] {
    return std::vector<net::SchemaInfo>{{std::string(kBenchSchema), "1", std::string("datafold bench payload")}};
  });
  if (auto started = core->start(); !started) return std::move(started).error();
  return core;
}

// The envelope sizes (frame minus its 4-byte length, which the floors add themselves)
// of one query as the client sends it and of the reply the target gave.
struct WireSizes {
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
};

WireSizes measure_wire_sizes(const net::Query& query, const net::PublicKey& client_key,
                             const net::QueryResult& reply) {
  net::QueryMessage request;
  request.query_id = net::Uuid::random();
  request.query = query;
  // As NetworkNode::async_query fills them in.
  request.query.pub_key = client_key.to_string();
  request.trust_proof.public_key = client_key;
  request.trust_proof.trust_distance = query.trust_distance;
  request.trust_proof.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
  net::QueryResponseMessage response;
  response.message_id = net::Uuid::random();
  response.query_id = request.query_id;
  response.result = reply;

  WireSizes sizes;
  std::string frame;
  net::append_frame(request, frame);
  sizes.request_bytes = frame.size() - net::kFrameHeaderBytes;
  frame.clear();
  net::append_frame(response, frame);
  sizes.response_bytes = frame.size() - net::kFrameHeaderBytes;
  return sizes;
}

// One query before any load: proves the target answers as `workload` expects, and gives
// the encoded sizes of the query and of its reply.
net::NetworkResult<WireSizes> probe_target(const LoadClientOptions& options, const Workload& workload) {
  auto probe = LoadClient::connect(options, workload.query, workload.check);
  if (!probe) return std::move(probe).error();
  auto reply = (*probe)->query_once();
  if (!reply) return net::make_error(reply.error().kind, "probe query: " + reply.error().message);
  if (workload.check && !workload.check(*reply))
    return net::make_error(net::ErrorKind::Message, options.target + " answered, but not as expected");
  return measure_wire_sizes(workload.query, (*probe)->public_key(), *reply);
}

// spec.connections clients, each its own node keeping spec.in_flight queries in flight,
// for kWarmup and then spec.duration measured. Returns within about
// connections x kClientTimeout (setup) + kWarmup + duration + kTailTimeout.
LoadReport run_node_load(const LoadSpec& spec, LoadClientOptions options, const Workload& workload,
                         const std::string& name = "node") {
  options.in_flight = spec.in_flight;
  // The clients share one I/O thread, as the floors' clients do (pingpong_floor.cpp),
  // so that the load's CPU is the nodes' work, not a thread per connection waking up.
  auto io = net::IoThreads::start(1);
  if (!io) return bench::failed_report(name, spec, io.error().to_string());
  options.io = *io;
  std::vector<std::unique_ptr<LoadClient>> clients;
  clients.reserve(spec.connections);
  for (std::size_t i = 0; i < spec.connections; ++i) {
    auto client = LoadClient::connect(options, workload.query, workload.check);
    if (!client)
      return bench::failed_report(name, spec, "client " + std::to_string(i) + ": " + client.error().to_string());
    clients.push_back(std::move(*client));
  }

  const auto measure_from = BenchClock::now() + kWarmup;
  const auto deadline = measure_from + spec.duration;
  for (auto& client : clients) client->start(measure_from, deadline);
  // Replies after the deadline drain but are not timed. What counts as completed is
  // what was answered while the window was really open (measured_window.hpp).
  const auto answered = [&clients] {
    std::uint64_t sum = 0;
    for (const auto& client : clients) sum += client->answered();
    return sum;
  };
  std::this_thread::sleep_until(measure_from);
  const auto opened = bench::open_measured_window(answered);
  std::this_thread::sleep_until(deadline);
  const auto closed = bench::close_measured_window(answered);

  const auto tail_until = deadline + kTailTimeout;
  for (auto& client : clients) (void)client->wait_idle(tail_until);
  for (auto& client : clients) client->stop();

  bench::LatencyRecorder latencies;
  std::uint64_t errors = 0;
  std::string first_error;
  for (const auto& client : clients) {
    latencies.merge(client->latencies());
    errors += client->errors();
    if (first_error.empty()) first_error = client->first_error();
  }
  auto report = bench::make_report(name, spec, latencies, errors, opened, closed);
  if (errors > 0) report.error = first_error;
  return report;
}

std::string summary(const LoadReport& report) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(0);
  out << report.name << ' ' << report.qps << " q/s p50 " << report.p50_us << " us p99 " << report.p99_us
      << " us cpu ";
  out.precision(1);
  out << report.cpu_us_per_request() << " us/q errors " << report.errors;
  return out.str();
}

}  // namespace

BenchCommand::BenchCommand(CLI::App& app)
    : command_(app.add_subcommand("bench", "Load-test a node on loopback and print JSON")) {
  network_ = net::NetworkConfig{}.network_name;
  auto* connections = command_->add_option("--connections", connections_, "Client connections (C)")
                          ->capture_default_str();
  auto* in_flight = command_->add_option("--in-flight", in_flight_, "Queries in flight per connection (M)")
                        ->capture_default_str();
  command_->add_option("--duration", duration_seconds_, "Measured seconds per run, after a short warm-up")
      ->check(seconds_validator(kMaxBenchSeconds))
      ->capture_default_str();
  payload_option_ = command_->add_option("--payload-bytes", payload_bytes_,
                                         "Bytes of payload in each reply of the built-in target")
                        ->capture_default_str();
  command_->add_option("--target", target_,
                       "HOST:PORT of a running node to load instead of one started in this process");
  command_->add_option("--network", network_, "Network name to connect with")->capture_default_str();
  command_->add_flag("--floor", floor_, "Also run raw TCP and raw TLS ping-pong floors of the same load");
  command_->add_option("--peer", peer_,
                       "Also run another RPC stack on the same load: grpc (a mutual-TLS unary echo of the same "
                       "payload, the optional datafold-grpc-peer program)")
      ->check(CLI::IsMember({"grpc"}));
  command_->add_flag("--store", store_,
                     "Also load a node answering from a SQLite store, seeded and served as `datafold node "
                     "--sample` is (in a temporary data dir): \"store\" and its ratios to the built-in "
                     "target, \"store_vs_node\"")
      ->excludes("--target");
  command_->add_option("--shapes", shapes_, "Runs one after another, each CxM, e.g. 1x1,1x64,16x16")
      ->excludes(connections)
      ->excludes(in_flight);
  command_->add_option("--rounds", rounds_,
                       "Runs each shape this many times, the node, floors and peer taking turns, and reports "
                       "each figure and ratio as its median over the rounds (every round is kept under "
                       "\"rounds\"): steadier than one run on a machine whose speed drifts")
      ->check(CLI::Range(std::size_t{1}, kMaxRounds))
      ->capture_default_str();
}

int BenchCommand::run() const {
  // Flags first: nothing starts until the whole command line is known to be good.
  std::vector<BenchShape> shapes;
  if (!shapes_.empty()) {
    auto parsed = parse_bench_shapes(shapes_);
    if (!parsed)
      return fail(ExitCode::kUsage, "--shapes: '" + shapes_ + "' is not a list like 1x1,1x64,16x16 (C 1.." +
                                        std::to_string(kMaxBenchConnections) + ", M 1.." +
                                        std::to_string(kMaxBenchInFlight) + ")");
    shapes = std::move(*parsed);
  } else {
    if (connections_ == 0 || connections_ > kMaxBenchConnections)
      return fail(ExitCode::kUsage, "--connections must be 1.." + std::to_string(kMaxBenchConnections));
    if (in_flight_ == 0 || in_flight_ > kMaxBenchInFlight)
      return fail(ExitCode::kUsage, "--in-flight must be 1.." + std::to_string(kMaxBenchInFlight));
    shapes.push_back(BenchShape{connections_, in_flight_});
  }
  const auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(duration_seconds_));
  if (duration.count() < 1) return fail(ExitCode::kUsage, "--duration must be at least 0.001 s");
  const bool builtin_target = target_.empty();
  if (!builtin_target) {
    if (!net::parse_host_port(target_)) return fail(ExitCode::kUsage, "--target: '" + target_ + "' is not HOST:PORT");
    if (payload_option_->count() > 0)
      return fail(ExitCode::kUsage,
                  "--payload-bytes sets what the built-in target answers; it has no effect with --target");
  }
  if (payload_bytes_ > kMaxPayloadBytes)
    return fail(ExitCode::kUsage, "--payload-bytes must be at most " + std::to_string(kMaxPayloadBytes));

  std::optional<std::filesystem::path> grpc_peer;
  if (peer_ == "grpc") {
    grpc_peer = find_grpc_peer();
    if (!grpc_peer) return fail(ExitCode::kUsage, grpc_peer_missing_hint());
  }

  std::optional<net::NetworkCore> own_node;
  std::string target = target_;
  if (builtin_target) {
    auto node = start_builtin_target(payload_bytes_, network_);
    if (!node) return fail("bench: cannot start the target node", node.error());
    own_node.emplace(std::move(*node));
    target = net::HostPort{"127.0.0.1", own_node->listen_port()}.to_string();
  }
  const Workload workload = builtin_target ? builtin_target_workload(payload_bytes_) : remote_target_workload();
  LoadClientOptions options;
  options.target = target;
  options.network_name = network_;
  options.timeout = kClientTimeout;

  std::unique_ptr<StoreTarget> store_target;
  const Workload store_workload = store_target_workload();
  LoadClientOptions store_options = options;
  WireSizes store_sizes;
  if (store_) {
    auto started = StoreTarget::start(network_, kMaxBenchConnections + 8);
    if (!started) return fail("bench: cannot start the store target", started.error());
    store_target = std::move(*started);
    store_options.target = store_target->address();
    auto probed = probe_target(store_options, store_workload);
    if (!probed) return fail("bench: store target", probed.error());
    store_sizes = *probed;
  }

  // The floors must carry the built-in target's sizes to be comparable.
  auto probed = probe_target(options, workload);
  if (!probed) return fail("bench", probed.error());
  const WireSizes sizes = *probed;

  // Ordered, so a reader sees the setup first and each run's shape before its figures.
  nlohmann::ordered_json out = {
      {"target", builtin_target ? "in-process" : target},
      {"query", {{"schema", workload.query.schema_name}, {"fields", workload.query.fields}}},
      {"request_bytes", sizes.request_bytes},
      {"response_bytes", sizes.response_bytes},
      {"warmup_ms", kWarmup.count()},
  };
  if (builtin_target) out["payload_bytes"] = payload_bytes_;
  if (store_target)
    out["store_target"] = {{"query", {{"schema", store_workload.query.schema_name}, {"fields", store_workload.query.fields}}},
                           {"rows", StoreTarget::rows()}};
  out["runs"] = nlohmann::ordered_json::array();

  bool any_errors = false;
  for (const auto& shape : shapes) {
    LoadSpec spec;
    spec.connections = shape.connections;
    spec.in_flight = shape.in_flight;
    spec.duration = duration;
    spec.request_bytes = sizes.request_bytes;
    spec.response_bytes = sizes.response_bytes;

    nlohmann::ordered_json run = {{"shape", shape.to_string()}};
    std::vector<nlohmann::ordered_json> rounds;
    for (std::size_t round = 1; round <= rounds_; ++round) {
      nlohmann::ordered_json figures;
      const auto node = run_node_load(spec, options, workload);
      figures["node"] = node.to_json();
      any_errors = any_errors || node.errors > 0;
      std::string progress = "bench " + shape.to_string();
      if (rounds_ > 1) progress += " round " + std::to_string(round) + "/" + std::to_string(rounds_);
      progress += ": " + summary(node);
      if (store_target) {
        LoadSpec store_spec = spec;
        store_spec.request_bytes = store_sizes.request_bytes;
        store_spec.response_bytes = store_sizes.response_bytes;
        const auto stored = run_node_load(store_spec, store_options, store_workload, "store");
        figures["store"] = stored.to_json();
        figures["store_vs_node"] = bench::compare(stored, node);
        any_errors = any_errors || stored.errors > 0;
        progress += " | " + summary(stored);
      }
      if (floor_) {
        // The floors' clients get as long to connect as the node's (kClientTimeout a
        // connection): under callgrind (scripts/instructions_per_query.sh) a hundred
        // TLS handshakes outlast the floors' own few seconds.
        bench::FloorOptions floor_options;
        floor_options.setup_timeout = kClientTimeout * static_cast<std::int64_t>(spec.connections);
        const auto tcp = bench::run_tcp_floor(spec, floor_options);
        const auto tls = bench::run_tls_floor(spec, floor_options);
        figures["tcp_floor"] = tcp.to_json();
        figures["tls_floor"] = tls.to_json();
        figures["vs_tcp"] = bench::compare(node, tcp);
        figures["vs_tls"] = bench::compare(node, tls);
        any_errors = any_errors || tcp.errors > 0 || tls.errors > 0;
        progress += " | " + summary(tcp) + " | " + summary(tls);
      }
      if (grpc_peer) {
        const auto grpc = run_grpc_peer(*grpc_peer, spec, kWarmup);
        figures["grpc"] = grpc.to_json();
        figures["vs_grpc"] = bench::compare(node, grpc);
        any_errors = any_errors || grpc.errors > 0;
        progress += " | " + summary(grpc);
      }
      std::cerr << progress << std::endl;
      rounds.push_back(std::move(figures));
    }
    // One round is printed as it was measured; several as their medians, then each.
    run.update(rounds_ == 1 ? rounds.front() : bench::median_of_rounds(rounds));
    if (rounds_ > 1) run["rounds"] = std::move(rounds);
    out["runs"].push_back(std::move(run));
  }
  if (auto scaling = bench::shape_scaling(out["runs"]); !scaling.is_null()) out["scaling"] = std::move(scaling);
  std::cout << out.dump(2) << std::endl;

  if (own_node) (void)own_node->stop();
  return static_cast<int>(any_errors ? ExitCode::kRuntime : ExitCode::kOk);
}

}  // namespace datafold::app
