// The NAT matrix (issue 11, "What it must show"): on a NatTestbed, a public DHT
// bootstrap node, a public relay, and two private networks of each gateway kind
// (None, PortPreserving, Upnp, Symmetric) with one `datafold node` each. For every
// ordered pair of kinds (X, Y), X#1 queries Y#2 knowing only its node id: the DHT
// lookup gives Y's direct, mapped and relayed addresses. The test prints a table
// (pair, connected, path, time to the first answer) and asserts that every pair
// connected and that X's `datafold peers --json` names the path each pair must end
// on: direct to a public Y, mapped to a UPnP one, hole-punched where a direct path
// exists only through the punch (a public or mapped X, or two port-preserving NATs),
// relayed (or, by luck, hole-punched) otherwise.
//
// The 16 pairs run as 4 rounds of a Latin square: in each round every source and
// every target is in exactly one pair, so the pairs of a round run at once and a
// target's hole-punch counters (the punch is led by the end that accepted the
// relayed connection: the target) belong to that round's pair alone.
#include "support/nat_testbed.hpp"

#include <signal.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "netsim/node_api.hpp"
#include "support/in_netns.hpp"
#include "support/temp_dir.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kMatrixTcpPort = 9000;
constexpr int kMatrixHttpPort = 8080;
constexpr int kDhtPort = 4222;
constexpr int kMatrixBootstrapHost = 0;
constexpr int kRelayHost = 1;
// Generous for a loaded CI machine; every wait ends as soon as its condition holds.
constexpr auto kStartDeadline = 20s;
constexpr auto kReadyDeadline = 45s;
constexpr auto kAnswerDeadline = 60s;
constexpr auto kSettleDeadline = 30s;  // for a punch to replace the circuit, or give up

constexpr std::array<GatewayKind, 4> kKinds = {GatewayKind::None, GatewayKind::PortPreserving, GatewayKind::Upnp,
                                               GatewayKind::Symmetric};

std::string name(GatewayKind kind) {
  switch (kind) {
    case GatewayKind::None: return "none";
    case GatewayKind::PortPreserving: return "port-preserving";
    case GatewayKind::Upnp: return "upnp";
    case GatewayKind::Symmetric: return "symmetric";
  }
  return "?";
}

// The path X's connection to Y ends on, where one is certain: Y's own address or its
// mapping answers X's dial; else X reaches Y through the relay, and Y (which accepted
// the relayed connection) punches: it dials X back where X can be dialled, and two
// port-preserving NATs let a simultaneous open through. nullopt: relayed, unless a
// punch happens to get through (a symmetric NAT on one side).
std::optional<std::string> expected_path(GatewayKind x, GatewayKind y) {
  if (y == GatewayKind::None) return "direct";
  if (y == GatewayKind::Upnp) return "mapped";
  if (x == GatewayKind::None || x == GatewayKind::Upnp) return "hole-punched";
  if (x == GatewayKind::PortPreserving && y == GatewayKind::PortPreserving) return "hole-punched";
  return std::nullopt;
}

// A `datafold node` on a testbed host, its HTTP API on the host's loopback (as in
// port_mapping_test.cpp), reached from a thread inside the host's namespace.
class MatrixNode {
 public:
  MatrixNode(NatTestbed& bed, int host, std::string dir) : bed_(bed), host_(host), dir_(std::move(dir)) {}

  template <class F>
  auto call(F f) const -> decltype(f(std::declval<NodeApi>())) {
    decltype(f(std::declval<NodeApi>())) out{};
    std::string why_not;
    run_in_netns(bed_.netns(host_), [&] { out = f(NodeApi("127.0.0.1", kMatrixHttpPort)); }, why_not);
    return out;
  }
  bool spawn(const std::string& network, const std::vector<std::string>& flags) {
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv = {DATAFOLD_BINARY, "--data-dir", dir_, "node", "--sample", "--no-discovery",
                                     "--network", network,
                                     "--listen", bed_.ip(host_) + ":" + std::to_string(kMatrixTcpPort),
                                     "--http", "127.0.0.1:" + std::to_string(kMatrixHttpPort),
                                     "--dht-port", std::to_string(kDhtPort)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    pid_ = bed_.spawn(host_, argv, log_path());
    return pid_ > 0;
  }
  // True once its API gives its id; false at once if the process is gone.
  bool poll_up() {
    if (!id_.empty()) return true;
    if (!bed_.processes().running(pid_)) return false;
    id_ = call([](const NodeApi& api) { return api.node_id(); }).value_or("");
    return !id_.empty();
  }
  bool running() { return pid_ > 0 && bed_.processes().running(pid_); }
  // A crash: SIGKILL, no goodbye, no graceful close.
  bool kill() {
    if (pid_ <= 0) return false;
    (void)bed_.processes().stop(pid_, SIGKILL, std::chrono::seconds(5));  // nullopt: a signal ended it
    return !running();
  }

  Json status() const { return call([](const NodeApi& api) { return api.status(); }).value_or(Json()); }
  std::string metrics() const { return call([](const NodeApi& api) { return api.metrics(); }).value_or(""); }
  double punches(const std::string& outcome) const {
    return metric_value(metrics(), "datafold_hole_punches_total{outcome=\"" + outcome + "\"}").value_or(0);
  }
  const std::string& id() const { return id_; }
  int host() const { return host_; }
  std::string log_path() const { return dir_ + "/node.log"; }
  std::string log_tail(std::size_t bytes = 6000) const {
    std::ifstream in(log_path());
    std::stringstream all;
    all << in.rdbuf();
    const auto text = all.str();
    return text.size() > bytes ? "…" + text.substr(text.size() - bytes) : text;
  }

 private:
  NatTestbed& bed_;
  int host_;
  std::string dir_;
  pid_t pid_ = -1;
  std::string id_;
};

struct PairResult {
  GatewayKind from, to;
  bool connected = false;
  std::string path = "-";  // direct, mapped, hole-punched, relayed
  std::chrono::milliseconds first_answer{0};
  int attempts = 0;
  std::string failure;
  std::string detail;  // what the path was read from
};

// Of X's entry for Y, the address X last got through to ("" if none recorded).
std::string last_successful_address(const Json& entry) {
  std::string best;
  long long best_ms = 0;
  for (const auto& a : entry.value("addresses", Json::array())) {
    const auto& ms = a["last_success_ms"];
    if (ms.is_number() && ms.get<long long>() > best_ms) {
      best_ms = ms.get<long long>();
      best = a.value("address", "");
    }
  }
  return best;
}

// X queries Y by id until answered, then waits for the path to settle: anything but
// relayed, or the target's three punch attempts spent.
PairResult run_pair(GatewayKind x_kind, GatewayKind y_kind, MatrixNode& x, MatrixNode& y) {
  PairResult r;
  r.from = x_kind;
  r.to = y_kind;
  const std::string y_mapped = y.status().value("port_mapping", Json()).value("external_address", Json()).is_string()
                                   ? y.status()["port_mapping"]["external_address"].get<std::string>()
                                   : "";
  const double punched_before = y.punches("direct"), failed_before = y.punches("failed");
  const auto started = Clock::now();
  while (Clock::now() - started < kAnswerDeadline) {
    ++r.attempts;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(kAnswerDeadline - (Clock::now() - started));
    const auto reply = x.call([&](const NodeApi& api) {
      return api.query(y.id(), "UserProfile", {"username"}, std::min<std::chrono::milliseconds>(left, 20s));
    });
    if (query_answered(reply)) {
      r.connected = true;
      r.first_answer = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
      break;
    }
    r.failure = std::to_string(reply.status.value_or(0)) + " " + reply.body + reply.transport_error;
    std::this_thread::sleep_for(200ms);  // between attempts, not instead of a condition
  }
  if (!r.connected) {
    // What X knows of Y, and what Y announces: which address was missing or failed.
    const auto entry = x.call([&](const NodeApi& api) { return api.node(y.id()); }).value_or(Json());
    const auto status = y.status();
    r.detail = "x's entry for y: " + entry.dump() + "; y's addresses: " + status.value("addresses", Json()).dump() +
               ", y's relayed addresses: " +
               status.value("reachability", Json()).value("relayed_addresses", Json()).dump() +
               ", y's DHT publications: " + status.value("dht", Json()).value("publications", Json()).dump();
    return r;
  }

  bool seen_relayed = false;
  Json entry;
  std::string path;
  eventually(
      [&] {
        entry = x.call([&](const NodeApi& api) { return api.node(y.id()); }).value_or(Json());
        path = entry.value("path", Json()).is_string() ? entry["path"].get<std::string>() : "none";
        if (path == "relayed") seen_relayed = true;
        // Still relayed: settled once the target has spent its attempts.
        return path != "relayed" || y.punches("failed") - failed_before >= 3;
      },
      kSettleDeadline);
  // The path as X's `datafold peers --json` says it: what an operator sees.
  r.path = path;
  const auto used = last_successful_address(entry);
  r.detail = "x's entry: path " + path + ", last success at " + (used.empty() ? "-" : used) + ", y mapped at " +
             (y_mapped.empty() ? "-" : y_mapped) + ", y punches +" + std::to_string(int(y.punches("direct") - punched_before)) +
             " direct +" + std::to_string(int(y.punches("failed") - failed_before)) + " failed" +
             (seen_relayed ? ", seen relayed first" : "");
  return r;
}

TEST(NatMatrix, EveryPairOfGatewayKindsConnectsAndNamesThePathItMustTake) {
  const auto began = Clock::now();
  std::string why_not;
  if (!NatTestbed::available(true, why_not)) GTEST_SKIP() << why_not;
  std::vector<PrivateNetworkSpec> networks;
  for (auto kind : kKinds)
    for (int copy = 0; copy < 2; ++copy) networks.push_back({.kind = kind, .hosts = 1});
  auto bed = NatTestbed::create(2, networks, why_not);
  ASSERT_TRUE(bed) << why_not;
  TempDir dir("datafold-natmatrix");
  const std::string network = "natmatrix-" + std::to_string(::getpid());
  const std::string bootstrap = bed->ip(kMatrixBootstrapHost) + ":" + std::to_string(kDhtPort);
  const std::string relay = bed->ip(kRelayHost) + ":" + std::to_string(kMatrixTcpPort);

  // All nodes start at once; then each is waited for.
  MatrixNode boot(*bed, kMatrixBootstrapHost, dir.path + "/bootstrap");
  MatrixNode relay_node(*bed, kRelayHost, dir.path + "/relay");
  ASSERT_TRUE(boot.spawn(network, {"--dht", "--no-port-mapping", "--use-relays", "never"}));
  ASSERT_TRUE(relay_node.spawn(network, {"--relay", "--dht-bootstrap", bootstrap, "--no-port-mapping",
                                         "--use-relays", "never"}));
  // nodes[k][copy]: the host of network 2k+copy.
  std::vector<std::array<std::unique_ptr<MatrixNode>, 2>> nodes(kKinds.size());
  for (std::size_t k = 0; k < kKinds.size(); ++k)
    for (int copy = 0; copy < 2; ++copy) {
      const int net = static_cast<int>(2 * k) + copy;
      const int host = bed->hosts_in(net).front();
      auto& node = nodes[k][copy];
      node = std::make_unique<MatrixNode>(*bed, host, dir.path + "/" + name(kKinds[k]) + std::to_string(copy + 1));
      // Only the relay's address besides the DHT bootstrap: Y is found by id alone.
      // The relay is a `--bootstrap` peer: as a known peer with the relay capability it
      // is reserved at when needed (RelayFailover below gives relays by --relay-via).
      ASSERT_TRUE(node->spawn(network, {"--dht-bootstrap", bootstrap, "--bootstrap", relay}));
    }
  std::vector<MatrixNode*> all = {&boot, &relay_node};
  for (auto& pair : nodes)
    for (auto& node : pair) all.push_back(node.get());
  for (auto* node : all)
    ASSERT_TRUE(eventually([&] { return node->poll_up() || !node->running(); }, kStartDeadline) && node->poll_up())
        << "host " << node->host() << " did not start:\n" << node->log_tail();

  // Ready: every node behind a NAT without mapping holds a reservation (announces a
  // relayed address); every Upnp node has its mapping.
  for (std::size_t k = 0; k < kKinds.size(); ++k)
    for (auto& node : nodes[k]) {
      const auto kind = kKinds[k];
      if (kind == GatewayKind::None) continue;
      const bool ready = eventually(
          [&] {
            const auto status = node->status();
            if (kind == GatewayKind::Upnp) return status.value("port_mapping", Json()).value("active", false);
            const auto relayed = status.value("reachability", Json()).value("relayed_addresses", Json::array());
            return relayed.is_array() && !relayed.empty();
          },
          kReadyDeadline);
      ASSERT_TRUE(ready) << name(kind) << " node not ready: " << node->status().dump() << "\n" << node->log_tail();
    }
  const auto ready_at = Clock::now();

  // Round r: source kind i queries target kind (i + r) % 4, all four at once.
  std::vector<PairResult> results;
  for (std::size_t round = 0; round < kKinds.size(); ++round) {
    std::vector<PairResult> round_results(kKinds.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < kKinds.size(); ++i) {
      const std::size_t j = (i + round) % kKinds.size();
      threads.emplace_back([&, i, j] { round_results[i] = run_pair(kKinds[i], kKinds[j], *nodes[i][0], *nodes[j][1]); });
    }
    for (auto& t : threads) t.join();
    results.insert(results.end(), round_results.begin(), round_results.end());
  }
  const auto ended = Clock::now();

  std::ostringstream table;
  table << "\n  " << std::left << std::setw(36) << "pair (X#1 -> Y#2)" << std::setw(11) << "connected" << std::setw(14)
        << "path" << "first answer\n";
  std::sort(results.begin(), results.end(),
            [](const auto& a, const auto& b) { return std::pair(a.from, a.to) < std::pair(b.from, b.to); });
  for (const auto& r : results)
    table << "  " << std::left << std::setw(36) << (name(r.from) + " -> " + name(r.to)) << std::setw(11)
          << (r.connected ? "yes" : "NO") << std::setw(14) << r.path << r.first_answer.count() << " ms ("
          << r.attempts << " attempt" << (r.attempts == 1 ? "" : "s") << ")\n";
  const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  table << "  setup (testbed, nodes, reservations, mappings) " << ms(ready_at - began) << " ms; pairs " << ms(ended - ready_at)
        << " ms; wall " << ms(ended - began) << " ms\n";
  std::cout << "[ netsim ] NAT matrix:" << table.str();

  for (const auto& r : results) {
    const std::string pair = name(r.from) + " -> " + name(r.to);
    EXPECT_TRUE(r.connected) << pair << " never answered: " << r.failure;
    if (r.connected) {
      if (const auto expected = expected_path(r.from, r.to))
        EXPECT_EQ(r.path, *expected) << pair << ": " << r.detail;
      else
        EXPECT_TRUE(r.path == "relayed" || r.path == "hole-punched") << pair << ": " << r.detail;
    }
    std::cout << "  " << pair << ": " << r.detail << "\n";
  }
  if (HasFailure())
    for (auto* node : all) std::cout << "---- host " << node->host() << " (" << node->log_path() << "):\n" << node->log_tail();
}

// The relay host killed (SIGKILL) under a steady query load between two nodes behind
// symmetric NATs, which only a relay joins: the queries in flight fail with
// Connection errors (HTTP 502 from the node's API), never silently or by hanging;
// the target keeps its reservation at the second relay and the caller goes on
// through it. Every query issued is answered or failed.
TEST(RelayFailover, TheRelayHostKilledUnderLoadFailsQueriesLoudlyAndTheNodesGoOnThroughAnother) {
  std::string why_not;
  if (!NatTestbed::available(false, why_not)) GTEST_SKIP() << why_not;
  auto bed = NatTestbed::create(3, {{.kind = GatewayKind::Symmetric, .hosts = 1}, {.kind = GatewayKind::Symmetric, .hosts = 1}},
                                why_not);
  ASSERT_TRUE(bed) << why_not;
  TempDir dir("datafold-natmatrix");
  const std::string network = "failover-" + std::to_string(::getpid());
  const std::string bootstrap = bed->ip(0) + ":" + std::to_string(kDhtPort);
  MatrixNode boot(*bed, 0, dir.path + "/bootstrap");
  MatrixNode relay1(*bed, 1, dir.path + "/relay1");
  MatrixNode relay2(*bed, 2, dir.path + "/relay2");
  MatrixNode x(*bed, bed->hosts_in(0).front(), dir.path + "/x");
  MatrixNode y(*bed, bed->hosts_in(1).front(), dir.path + "/y");
  ASSERT_TRUE(boot.spawn(network, {"--dht", "--no-port-mapping", "--use-relays", "never"}));
  for (auto* relay : {&relay1, &relay2})
    ASSERT_TRUE(relay->spawn(network, {"--relay", "--dht-bootstrap", bootstrap, "--no-port-mapping", "--use-relays", "never"}));
  const std::string r1 = bed->ip(1) + ":" + std::to_string(kMatrixTcpPort),
                    r2 = bed->ip(2) + ":" + std::to_string(kMatrixTcpPort);
  ASSERT_TRUE(y.spawn(network, {"--dht-bootstrap", bootstrap, "--relay-via", r1, "--relay-via", r2, "--no-port-mapping"}));
  ASSERT_TRUE(x.spawn(network, {"--dht-bootstrap", bootstrap, "--relay-via", r1, "--no-port-mapping"}));
  for (auto* node : {&boot, &relay1, &relay2, &x, &y})
    ASSERT_TRUE(eventually([&] { return node->poll_up() || !node->running(); }, kStartDeadline) && node->poll_up())
        << "host " << node->host() << " did not start:\n" << node->log_tail();
  // Y learns it cannot be dialled (its --relay-via relays dial it back and fail) and
  // reserves at both.
  ASSERT_TRUE(eventually(
      [&] {
        const auto relayed = y.status().value("reachability", Json()).value("relayed_addresses", Json::array());
        return relayed.is_array() && relayed.size() == 2;
      },
      kReadyDeadline))
      << y.status().dump() << "\n" << y.log_tail();

  int issued = 0, answered = 0, failed = 0, answered_after_kill = 0;
  std::vector<std::string> failures;
  bool killed = false;
  std::string killed_relay;
  const auto until = Clock::now() + 90s;
  while (Clock::now() < until && issued < 2000) {
    ++issued;
    const auto reply =
        x.call([&](const NodeApi& api) { return api.query(y.id(), "UserProfile", {"username"}, 20s); });
    if (query_answered(reply)) {
      ++answered;
      if (killed) ++answered_after_kill;
    } else {
      ++failed;
      // Loud: an HTTP reply with the error, not a hang or a dropped request.
      EXPECT_TRUE(reply.status.has_value()) << "no reply: " << reply.transport_error;
      if (reply.status) {
        EXPECT_EQ(*reply.status, 502) << reply.body;
      }
      if (failures.size() < 5) failures.push_back(reply.body);
    }
    if (!killed && answered >= 20) {
      const auto entry = x.call([&](const NodeApi& api) { return api.node(y.id()); }).value_or(Json());
      ASSERT_EQ(entry.value("path", Json()), Json("relayed")) << entry.dump();
      killed_relay = entry.value("relay", std::string());
      auto& victim = killed_relay == relay1.id() ? relay1 : relay2;
      ASSERT_TRUE(killed_relay == relay1.id() || killed_relay == relay2.id()) << entry.dump();
      ASSERT_TRUE(victim.kill());
      killed = true;
    }
    if (answered_after_kill >= 20) break;
    std::this_thread::sleep_for(20ms);
  }
  std::cout << "[ netsim ] relay failover: issued " << issued << ", answered " << answered << " (" << answered_after_kill
            << " after the kill), failed " << failed << "\n";
  for (const auto& f : failures) std::cout << "  failed: " << f << "\n";
  ASSERT_TRUE(killed);
  EXPECT_EQ(issued, answered + failed);
  EXPECT_GE(answered_after_kill, 20) << "the nodes did not go on through the other relay\n" << x.log_tail();
  const auto entry = x.call([&](const NodeApi& api) { return api.node(y.id()); }).value_or(Json());
  EXPECT_EQ(entry.value("path", Json()), Json("relayed")) << entry.dump();
  EXPECT_NE(entry.value("relay", std::string()), killed_relay) << entry.dump();
  if (HasFailure())
    for (auto* node : {&x, &y}) std::cout << "---- host " << node->host() << ":\n" << node->log_tail();
}

}  // namespace
}  // namespace datafold::net::testing
