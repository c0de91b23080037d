// What abusive peers can make one node hold, and what they cost a well-behaved
// peer (issue 12: memory budget, backpressure, reputation). One node in its own
// process; a well-behaved peer (a NetworkCore) sends it queries one at a time at a
// quarter of the node's per-peer rate, first with the node idle, then while
// `--readers` authenticated peers pipeline queries for 16 KiB replies and never
// read one, and `--flooders` pipeline small queries as fast as they can (up to
// kFloodWindow unanswered, reading the replies). Prints one JSON object: the
// node's peak RSS (VmHWM), its budget figures, the good peer's p50/p99 idle and
// under attack, what the node thinks of the attackers and of the good peer, and
// the attackers' answered/failed counts. Progress goes to stderr.
//
//   flood_bench [--readers N] [--flooders N] [--seconds S] [--budget-mib M] [--rate N] [--stall-seconds S]
//
// The node runs the library's defaults but three, all in the report:
// - --rate (100): its per-peer request rate, burst twice that. The library's 2 000/s
//   is more than this 2-core machine answers for all peers together (about 30 000
//   q/s, some 150 for each of 200 attackers), so here no flooder could ever pass
//   it; 100/s is still twice the good peer's pace.
// - --stall-seconds (5): how long a peer may leave its replies unread before it is
//   closed (library default 20 s), so a 10 s attack sees the never-readers closed.
// - its reputation tick, which credits answered requests: a second (default a minute).
//
// Everything is bounded: the attack lasts --seconds (10), each attacker sends at
// most a fixed number of requests, every wait has a deadline. Loopback only.
// Exit code: 0 when the good peer was answered throughout, 1 when not, 2 on bad usage.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "datafold/net/network_core.hpp"
#include "flood/flood_node_process.hpp"
#include "support/raw_requests.hpp"
#include "support/raw_tls_client.hpp"
#include "testkit/fd_limit.hpp"

namespace {

using namespace datafold;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kNetworkName = "datafold-test";  // RawTlsClient's Hello says this one
constexpr auto kNodeStartDeadline = 10s;
constexpr std::size_t kIdleSamples = 200;
// The well-behaved peer's pace: one query per interval at most (50/s).
constexpr auto kGoodPeerInterval = 20ms;
constexpr std::size_t kAttackSamplesMax = 20'000;
// A never-reading peer asks for at most this many bulk replies (64 MiB of them).
constexpr std::size_t kReaderRequestCap = 4096;
constexpr std::size_t kReaderBatch = 64;  // 1 MiB of replies asked per write
// A flooder sends at most this many requests, kFloodBatch per write, with up to
// kFloodWindow of them unanswered.
constexpr std::size_t kFlooderRequestCap = 50'000;
constexpr std::size_t kFloodBatch = 32;
constexpr std::size_t kFloodWindow = 1024;
constexpr auto kWriteDeadline = 200ms;
constexpr auto kReadDeadline = 5s;

struct Options {
  std::size_t readers = 100;
  std::size_t flooders = 100;
  std::size_t seconds = 10;
  std::size_t budget_mib = 256;
  std::size_t rate = 100;  // the node's per-peer request rate
  std::size_t stall_seconds = 5;  // the node's backpressure stall deadline
};

bool parse_count(const char* text, std::size_t& out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') return false;
  out = static_cast<std::size_t>(v);
  return true;
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const bool has = i + 1 < argc;
    std::size_t* target = nullptr;
    if (std::strcmp(argv[i], "--readers") == 0) target = &o.readers;
    if (std::strcmp(argv[i], "--flooders") == 0) target = &o.flooders;
    if (std::strcmp(argv[i], "--seconds") == 0) target = &o.seconds;
    if (std::strcmp(argv[i], "--budget-mib") == 0) target = &o.budget_mib;
    if (std::strcmp(argv[i], "--rate") == 0) target = &o.rate;
    if (std::strcmp(argv[i], "--stall-seconds") == 0) target = &o.stall_seconds;
    if (!target || !has || !parse_count(argv[++i], *target)) return std::nullopt;
  }
  if (o.seconds == 0 || o.seconds > 120 || o.budget_mib == 0 || o.rate == 0 || o.stall_seconds == 0 ||
      o.stall_seconds > 600)
    return std::nullopt;
  return o;
}

std::optional<net::NetworkCore> start_peer() {
  net::NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.accept_connections = false;
  config.network_name = kNetworkName;
  auto peer = net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt);
  if (!peer || !peer->start()) return std::nullopt;
  return std::move(*peer);
}

struct Latencies {
  std::vector<double> ms;
  std::size_t failed = 0;
  double percentile(double p) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    const auto index = static_cast<std::size_t>(p * static_cast<double>(ms.size() - 1) + 0.5);
    return ms[std::min(index, ms.size() - 1)];
  }
};

// One query at a time, at most one per kGoodPeerInterval, until `until` or `max` samples.
Latencies good_peer_queries(net::NetworkCore& peer, const net::NodeId& node, Clock::time_point until,
                            std::size_t max) {
  Latencies out;
  auto next = Clock::now();
  while (out.ms.size() + out.failed < max && Clock::now() < until) {
    std::this_thread::sleep_until(next);
    const auto started = Clock::now();
    next = started + kGoodPeerInterval;
    auto result = peer.query_node(node, net::Query{bench::kFloodSchema, {bench::kSmallField}, "", 0, std::nullopt});
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    if (result && result->find(bench::kSmallField) && result->find(bench::kSmallField)->ok()) {
      out.ms.push_back(ms);
    } else {
      ++out.failed;
    }
  }
  return out;
}

// The attackers connect first (each its own identity and TLS handshake), then
// all start together when the main thread sets `start`.
struct AttackStart {
  std::atomic<bool> go{false};
  std::atomic<bool> abandon{false};
  Clock::time_point until{};
  // False if the attack was called off before it started.
  bool wait() const {
    while (!go.load() && !abandon.load()) std::this_thread::sleep_for(5ms);
    return go.load();
  }
};

struct AttackTally {
  std::atomic<std::uint64_t> connected{0};
  std::atomic<std::uint64_t> connect_failed{0};
  std::atomic<std::uint64_t> reader_requests_sent{0};
  std::atomic<std::uint64_t> readers_pushed_back{0};  // a write the node did not take in time
  std::atomic<std::uint64_t> readers_closed{0};
  std::atomic<std::uint64_t> flood_sent{0};
  std::atomic<std::uint64_t> flood_answered{0};
  std::atomic<std::uint64_t> flood_errors{0};  // Error frames received
  std::atomic<std::uint64_t> flood_unanswered{0};  // no reply within the deadline, or closed
  std::atomic<std::uint64_t> flooders_closed{0};   // the node closed the connection
};

net::QueryMessage query_for(const net::testing::RawTlsClient& client, const char* field) {
  auto query = net::testing::raw_query(client, bench::kFloodSchema);
  query.query.fields = {field};
  return query;
}

// Pipelines bulk queries and never reads a reply; holds the connection to the end.
void never_reader(std::uint16_t port, const AttackStart& start, AttackTally& tally) {
  net::testing::RawTlsClient client;
  if (!client.connect(port, 30s) || !client.exchange_hello()) {
    tally.connect_failed++;
    return;
  }
  tally.connected++;
  if (!start.wait()) return;
  const auto until = start.until;
  std::size_t sent = 0;
  while (sent < kReaderRequestCap && Clock::now() < until) {
    std::vector<net::Message> batch;
    for (std::size_t i = 0; i < kReaderBatch; ++i) batch.push_back(query_for(client, bench::kBulkField));
    if (!client.write(net::testing::frames_of(batch), kWriteDeadline)) {
      tally.readers_pushed_back++;
      break;
    }
    sent += kReaderBatch;
    tally.reader_requests_sent += kReaderBatch;
  }
  // Hold the connection, reading nothing, until the attack ends or the node closes it.
  while (Clock::now() < until) {
    if (client.wait_closed_unread(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::min<Clock::duration>(until - Clock::now(), 500ms)))) {
      tally.readers_closed++;
      return;
    }
  }
}

// Small queries as fast as the node takes them: keeps up to kFloodWindow
// unanswered, reading replies only to make room for the next batch.
void flooder(std::uint16_t port, const AttackStart& start, AttackTally& tally) {
  net::testing::RawTlsClient client;
  if (!client.connect(port, 30s) || !client.exchange_hello()) {
    tally.connect_failed++;
    return;
  }
  tally.connected++;
  if (!start.wait()) return;
  const auto until = start.until;
  std::size_t sent = 0;
  std::size_t unanswered = 0;
  while (sent < kFlooderRequestCap && Clock::now() < until) {
    if (unanswered + kFloodBatch <= kFloodWindow) {
      std::vector<net::Message> batch;
      for (std::size_t i = 0; i < kFloodBatch; ++i) batch.push_back(query_for(client, bench::kSmallField));
      if (!client.write(net::testing::frames_of(batch), kReadDeadline)) break;
      sent += kFloodBatch;
      unanswered += kFloodBatch;
      tally.flood_sent += kFloodBatch;
      continue;
    }
    auto reply = client.read_message(kReadDeadline);
    if (!reply) break;  // closed (banned), or no reply in time
    --unanswered;
    if (std::holds_alternative<net::ErrorMessage>(*reply)) {
      tally.flood_errors++;
    } else {
      tally.flood_answered++;
    }
  }
  // What is still owed is read until the attack ends; whatever never comes is unanswered.
  while (unanswered > 0 && Clock::now() < until) {
    auto reply = client.read_message(kReadDeadline);
    if (!reply) break;
    --unanswered;
    if (std::holds_alternative<net::ErrorMessage>(*reply)) {
      tally.flood_errors++;
    } else {
      tally.flood_answered++;
    }
  }
  tally.flood_unanswered += unanswered;
  if (client.wait_closed(0ms)) tally.flooders_closed++;
}

std::optional<nlohmann::json> node_stats(net::NetworkCore& peer, const net::NodeId& node) {
  const std::vector<std::string> fields = {"memory_budget_bytes", "memory_in_use_bytes", "memory_peak_bytes",
                                           "connections_closed_over_budget", "backpressure_pauses",
                                           "requests_rate_limited", "requests_in_flight_limited",
                                           "queries_answered", "open_connections", "reputation_banned",
                                           "reputation_avoided", "reputation_good", "reputation_refused_banned",
                                           "requester_score_x10", "others_lowest_score_x10",
                                           "others_highest_score_x10", "others_scored"};
  auto result = peer.query_node(node, net::Query{bench::kStatsSchema, fields, "", 0, std::nullopt});
  if (!result) return std::nullopt;
  nlohmann::json out;
  for (const auto& field : fields) {
    const auto* entry = result->find(field);
    if (entry && entry->ok()) out[field] = entry->value();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse(argc, argv);
  if (!options) {
    std::fprintf(stderr,
                 "usage: %s [--readers N] [--flooders N] [--seconds 1..120] [--budget-mib M] [--rate N] "
                 "[--stall-seconds 1..600]\n",
                 argv[0]);
    return 2;
  }
  testkit::raise_fd_limit();
  const std::size_t attackers = options->readers + options->flooders;

  // Fork before this process has any thread.
  std::string why;
  auto node = bench::FloodNodeProcess::start(
      {.memory_budget_mib = options->budget_mib,
       .max_connections = attackers + 64,
       .max_requests_per_second = options->rate,
       .stall_timeout = std::chrono::seconds(options->stall_seconds),
       .network_name = kNetworkName},
      kNodeStartDeadline, why);
  if (!node) {
    std::fprintf(stderr, "%s\n", why.c_str());
    return 1;
  }
  auto good = start_peer();
  if (!good) {
    std::cerr << "cannot start the well-behaved peer\n";
    return 1;
  }
  auto node_id = good->connect_to_address("127.0.0.1:" + std::to_string(node->port()));
  if (!node_id) {
    std::cerr << "cannot connect to the node: " << node_id.error().to_string() << "\n";
    return 1;
  }

  std::cerr << "good peer on the idle node...\n";
  auto idle = good_peer_queries(*good, *node_id, Clock::now() + 30s, kIdleSamples);
  const auto rss_idle_kib = node->status_kib("VmRSS:");

  std::cerr << "attack: " << options->readers << " never-reading peers, " << options->flooders << " flooders, "
            << options->seconds << " s...\n";
  AttackTally tally;
  AttackStart start;
  std::vector<std::thread> threads;
  threads.reserve(attackers);
  for (std::size_t i = 0; i < options->readers; ++i)
    threads.emplace_back([&, port = node->port()] { never_reader(port, start, tally); });
  for (std::size_t i = 0; i < options->flooders; ++i)
    threads.emplace_back([&, port = node->port()] { flooder(port, start, tally); });
  const auto connect_deadline = Clock::now() + 60s;
  while (tally.connected + tally.connect_failed < attackers && Clock::now() < connect_deadline)
    std::this_thread::sleep_for(10ms);
  std::cerr << tally.connected << " attackers connected, " << tally.connect_failed << " failed\n";
  const auto attack_end = Clock::now() + std::chrono::seconds(options->seconds);
  start.until = attack_end;
  start.go = true;
  auto under_attack = good_peer_queries(*good, *node_id, attack_end, kAttackSamplesMax);
  const auto stats_under_attack = node_stats(*good, *node_id);
  for (auto& thread : threads) thread.join();
  const auto rss_hwm_kib = node->status_kib("VmHWM:");
  const auto stats_after = node_stats(*good, *node_id);

  nlohmann::json report;
  report["readers"] = options->readers;
  report["flooders"] = options->flooders;
  report["attack_seconds"] = options->seconds;
  report["node_rate_per_peer"] = options->rate;
  report["node_stall_seconds"] = options->stall_seconds;
  report["node_reputation_tick_ms"] = bench::kReputationTick.count();
  report["good_peer_max_rate"] = 1000 / kGoodPeerInterval.count();
  report["node_rss_idle_kib"] = rss_idle_kib;
  report["node_peak_rss_kib"] = rss_hwm_kib;
  report["node_stats_end_of_attack"] = stats_under_attack ? *stats_under_attack : nlohmann::json();
  report["node_stats_after"] = stats_after ? *stats_after : nlohmann::json();
  report["good_idle"] = {{"answered", idle.ms.size()},
                         {"failed", idle.failed},
                         {"p50_ms", idle.percentile(0.50)},
                         {"p99_ms", idle.percentile(0.99)}};
  report["good_under_attack"] = {{"answered", under_attack.ms.size()},
                                 {"failed", under_attack.failed},
                                 {"p50_ms", under_attack.percentile(0.50)},
                                 {"p99_ms", under_attack.percentile(0.99)}};
  report["attackers"] = {{"connected", tally.connected.load()},
                         {"connect_failed", tally.connect_failed.load()},
                         {"reader_requests_sent", tally.reader_requests_sent.load()},
                         {"readers_pushed_back", tally.readers_pushed_back.load()},
                         {"readers_closed_by_node", tally.readers_closed.load()},
                         {"flood_sent", tally.flood_sent.load()},
                         {"flood_answered", tally.flood_answered.load()},
                         {"flood_error_frames", tally.flood_errors.load()},
                         {"flood_unanswered", tally.flood_unanswered.load()},
                         {"flooders_closed_by_node", tally.flooders_closed.load()}};
  std::cout << report.dump(2) << std::endl;
  (void)good->stop();
  return under_attack.failed == 0 && idle.failed == 0 && !under_attack.ms.empty() ? 0 : 1;
}
