// What an idle connection costs a node: starts a node in its own process, opens N
// real idle connections to it (TLS 1.3 mutual auth + Hello, each from its own
// identity), checks that a new peer still gets an answer, and prints one JSON
// object with the node's resident memory before and after (progress on stderr).
//
//   idle_connections_bench [--connections N] [--parallel N]
//
// Exit code: 0 when every connection opened and the new peer was answered, 1 when
// not, 2 on bad usage or when the descriptor limit is too low for N.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "datafold/net/network_core.hpp"
#include "testkit/fd_limit.hpp"
#include "idle/idle_node_process.hpp"
#include "testkit/idle_peer_fleet.hpp"

namespace {

using namespace datafold;
using namespace std::chrono_literals;

constexpr const char* kNetworkName = "datafold-idle-bench";
// Descriptors each process needs beyond one per connection (listener, epoll,
// pipes, the probes, stdio).
constexpr std::size_t kSpareDescriptors = 256;
constexpr auto kNodeStartDeadline = 10s;
constexpr auto kOpenDeadline = 300s;
// After the last Hello, the node may still be adopting connections it has answered.
constexpr auto kSettleDeadline = 60s;

struct Options {
  std::size_t connections = 5000;
  std::size_t parallel = 32;
};

bool parse_count(const char* text, std::size_t& out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || v == 0) return false;
  out = static_cast<std::size_t>(v);
  return true;
}

std::optional<Options> parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--connections") == 0 && has_value && parse_count(argv[i + 1], options.connections)) {
      ++i;
    } else if (std::strcmp(argv[i], "--parallel") == 0 && has_value && parse_count(argv[i + 1], options.parallel)) {
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return options;
}

// A peer as an application would run one: a NetworkCore that only dials.
std::optional<net::NetworkCore> start_peer() {
  net::NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.accept_connections = false;
  config.network_name = kNetworkName;
  auto peer = net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt);
  if (!peer) {
    std::cerr << "cannot create a peer: " << peer.error().to_string() << "\n";
    return std::nullopt;
  }
  if (auto started = peer->start(); !started) {
    std::cerr << "cannot start a peer: " << started.error().to_string() << "\n";
    return std::nullopt;
  }
  return std::move(*peer);
}

// What the node says about itself.
struct NodeReport {
  std::uint64_t open_connections = 0;
  std::uint64_t heap_bytes = 0;
};

// The count in `field` of `result`; the wire carries integers as int64, so it arrives signed.
std::optional<std::uint64_t> count_in(const net::QueryResult& result, const char* field) {
  const auto* entry = result.find(field);
  if (entry == nullptr || !entry->ok() || !entry->value().is_number_integer() || entry->value().get<std::int64_t>() < 0)
    return std::nullopt;
  return entry->value().get<std::uint64_t>();
}

// Asks the node, as `peer`; nullopt if it did not answer.
std::optional<NodeReport> ask(net::NetworkCore& peer, const net::NodeId& node) {
  auto result = peer.query_node(
      node, net::Query{bench::kIdleSchema, {bench::kOpenConnectionsField, bench::kHeapBytesField}, "", 0, std::nullopt});
  if (!result) {
    std::cerr << "query failed: " << result.error().to_string() << "\n";
    return std::nullopt;
  }
  auto open = count_in(*result, bench::kOpenConnectionsField);
  auto heap = count_in(*result, bench::kHeapBytesField);
  if (!open || !heap) {
    std::cerr << "the node's answer has no counts\n";
    return std::nullopt;
  }
  return NodeReport{*open, *heap};
}

// Asks until the node reports at least `expected` open connections or the deadline passes.
std::optional<NodeReport> wait_for_connections(net::NetworkCore& peer, const net::NodeId& node,
                                               std::uint64_t expected) {
  const auto until = std::chrono::steady_clock::now() + kSettleDeadline;
  std::optional<NodeReport> report;
  do {
    report = ask(peer, node);
    if (report && report->open_connections >= expected) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < until);
  return report;
}

double per_connection(std::uint64_t before, std::uint64_t after, std::size_t connections) {
  if (connections == 0) return 0;
  return (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(connections);
}

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse(argc, argv);
  if (!options) {
    std::fprintf(stderr, "usage: %s [--connections N] [--parallel N]\n", argv[0]);
    return 2;
  }
  const std::size_t fd_limit = testkit::raise_fd_limit();
  if (fd_limit < options->connections + kSpareDescriptors) {
    std::fprintf(stderr, "descriptor limit %zu is too low for %zu connections (raise the hard limit: ulimit -Hn)\n",
                 fd_limit, options->connections);
    return 2;
  }

  // Fork before this process has any thread.
  std::string why;
  auto node = bench::IdleNodeProcess::start(options->connections + kSpareDescriptors, kNetworkName,
                                            kNodeStartDeadline, why);
  if (!node) {
    std::fprintf(stderr, "%s\n", why.c_str());
    return 1;
  }
  const std::string node_address = "127.0.0.1:" + std::to_string(node->port());

  // A first peer connects and is answered before the baseline, so the baseline
  // includes everything answering a query touches (threads, allocator arenas).
  auto first_peer = start_peer();
  if (!first_peer) return 1;
  auto node_id = first_peer->connect_to_address(node_address);
  if (!node_id) {
    std::cerr << "cannot connect to the node: " << node_id.error().to_string() << "\n";
    return 1;
  }
  const auto before = ask(*first_peer, *node_id);
  if (!before) return 1;
  const auto rss_before = node->rss_kib();

  std::cerr << "making " << options->connections << " identities...\n";
  std::optional<testkit::IdlePeerFleet> fleet;
  try {
    fleet.emplace(options->connections);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::cerr << "opening " << options->connections << " idle connections...\n";
  const auto opening = std::chrono::steady_clock::now();
  const std::size_t opened = fleet->open(node->port(), kNetworkName, kOpenDeadline, options->parallel);
  const double open_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - opening).count();
  if (opened < fleet->size())
    std::cerr << fleet->size() - opened << " connections failed; last: " << fleet->last_failure() << "\n";

  // A new peer, after the idle ones: the node must still answer it.
  auto new_peer = start_peer();
  std::optional<NodeReport> after;
  if (new_peer) {
    if (auto id = new_peer->connect_to_address(node_address); id && *id == *node_id)
      after = wait_for_connections(*new_peer, *node_id, opened + 2);  // + both peers
  }
  const auto rss_after = node->rss_kib();

  nlohmann::json report;
  report["connections"] = options->connections;
  report["opened"] = opened;
  report["open_seconds"] = open_seconds;
  report["probe_answered"] = after.has_value();
  report["node_open_connections"] = after ? nlohmann::json(after->open_connections) : nlohmann::json();
  report["rss_before_kib"] = rss_before;
  report["rss_after_kib"] = rss_after;
  report["rss_per_connection_bytes"] = per_connection(rss_before * 1024, rss_after * 1024, opened);
  // The live part of that memory; the rest is freed space the allocator keeps
  // (handshakes come and go, and leave holes between what stays).
  report["heap_per_connection_bytes"] =
      after ? nlohmann::json(per_connection(before->heap_bytes, after->heap_bytes, opened)) : nlohmann::json();
  std::cout << report.dump(2) << std::endl;

  fleet->close_all();
  if (new_peer) (void)new_peer->stop();
  (void)first_peer->stop();
  return opened == options->connections && after && after->open_connections >= opened + 2 ? 0 : 1;
}
