// Port mapping against a real gateway: a `datafold node` behind a miniupnpd gateway
// (UPnP IGD alone, then NAT-PMP alone) maps its listen port, announces the mapped
// address, is reached and queried there by a node on the public segment that knows
// nothing else of it, and removes the mapping when it stops. Behind a plain
// masquerading gateway (nothing to map with) a node starts without waiting for the
// gateway and says why it has no mapping.
#include "support/nat_testbed.hpp"

#include <signal.h>

#include <filesystem>
#include <fstream>
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

constexpr int kMappingTcpPort = 9000;
constexpr int kMappingHttpPort = 8080;

// Runs `work` inside `netns` (the node's HTTP API listens on the namespace's loopback).
template <class Work>
auto inside(const std::string& netns, Work work) -> decltype(work()) {
  decltype(work()) out{};
  std::string why_not;
  run_in_netns(netns, [&] { out = work(); }, why_not);
  return out;
}

// A `datafold node` on a testbed host, its HTTP API on that host's loopback.
class BedNode {
 public:
  BedNode(NatTestbed& bed, int host, std::string dir) : bed_(bed), host_(host), dir_(std::move(dir)) {}

  // Calls `f(api)` from inside the host's namespace.
  template <class F>
  auto call(F f) const {
    return inside(bed_.netns(host_), [&] { return f(NodeApi("127.0.0.1", kMappingHttpPort)); });
  }
  bool start(const std::vector<std::string>& flags) {
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv = {DATAFOLD_BINARY, "--data-dir", dir_, "node", "--sample", "--no-discovery",
                                     "--network", "nat-" + std::to_string(::getpid()),
                                     "--listen", bed_.ip(host_) + ":" + std::to_string(kMappingTcpPort),
                                     "--http", "127.0.0.1:" + std::to_string(kMappingHttpPort)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    pid_ = bed_.spawn(host_, argv, log_path());
    if (pid_ <= 0) return false;
    return eventually(
        [&] {
          if (!bed_.processes().running(pid_)) return true;  // gave up: reported below
          id_ = call([](const NodeApi& api) { return api.node_id(); }).value_or("");
          return !id_.empty();
        },
        20s) &&
           !id_.empty();
  }
  // SIGTERM and reaped: its exit code, nullopt if it had to be killed.
  std::optional<int> stop() { return bed_.processes().stop(std::exchange(pid_, -1), SIGTERM, 15s); }

  Json status() const { return call([](const NodeApi& api) { return api.status(); }).value_or(Json()); }
  Json mapping() const { return status().value("port_mapping", Json()); }
  const std::string& id() const { return id_; }
  std::string log_path() const { return dir_ + "/node.log"; }
  std::string log() const {
    std::ifstream in(log_path());
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
  }

 private:
  NatTestbed& bed_;
  int host_;
  std::string dir_;
  pid_t pid_ = -1;
  std::string id_;
};

bool listed_as_mapped(const Json& status, const std::string& address) {
  for (const auto& entry : status.value("addresses", Json::array()))
    if (entry.value("address", "") == address && entry.value("source", "") == "mapped") return true;
  return false;
}

bool redirects_port(const std::vector<std::string>& rules, int port) {
  for (const auto& rule : rules)
    if (rule.find("dport " + std::to_string(port)) != std::string::npos) return true;
  return false;
}

// The whole story behind a miniupnpd gateway speaking only `protocol`.
void map_reach_and_unmap(const std::string& protocol) {
  const bool upnp = protocol == "upnp";
  std::string why_not;
  if (!NatTestbed::available(true, why_not)) GTEST_SKIP() << why_not;
  auto bed = NatTestbed::create(1, {{.kind = GatewayKind::Upnp, .hosts = 1, .upnp = upnp, .natpmp = !upnp}}, why_not);
  ASSERT_TRUE(bed) << why_not;
  TempDir dir("datafold-portmap");
  const int inner_host = bed->hosts_in(0).front();
  const int outer_host = bed->public_hosts().front();
  BedNode inner(*bed, inner_host, dir.path + "/inner");
  BedNode outer(*bed, outer_host, dir.path + "/outer");
  ASSERT_TRUE(inner.start({})) << inner.log();  // port mapping on: the executable's default
  ASSERT_TRUE(outer.start({"--no-port-mapping"})) << outer.log();

  // The gateway maps the listen port (free there, so the same number) on its public address.
  const std::string expected = bed->gateway_public_ip(0) + ":" + std::to_string(kMappingTcpPort);
  ASSERT_TRUE(eventually([&] { return inner.mapping().value("active", false); }, 15s))
      << inner.mapping().dump() << "\n" << inner.log() << "\n" << bed->miniupnpd_log(0);
  const Json status = inner.status();
  const Json mapping = status["port_mapping"];
  EXPECT_EQ(mapping.value("protocol", ""), protocol);
  EXPECT_EQ(mapping.value("external_address", ""), expected);
  EXPECT_TRUE(mapping["lease_expiry_ms"].is_number()) << mapping.dump();
  EXPECT_TRUE(listed_as_mapped(status, expected)) << status["addresses"].dump();
  const auto metrics = inner.call([](const NodeApi& api) { return api.metrics(); }).value_or("");
  EXPECT_EQ(metric_value(metrics, "datafold_port_mapping_active"), 1.0) << metrics;
  const auto rules = bed->upnp_redirects(0);
  ASSERT_TRUE(rules);
  EXPECT_TRUE(redirects_port(*rules, kMappingTcpPort)) << ::testing::PrintToString(*rules);

  // The public node knows only the mapped address: it connects there, finds the
  // inner node's id behind it, and queries it.
  const auto connected = outer.call([&](const NodeApi& api) {
    return api.post("/api/v1/network/connect", Json{{"address", expected}}, 20s).json();
  });
  EXPECT_EQ(connected.value("data", Json::object()).value("node_id", ""), inner.id()) << connected.dump();
  const auto answer = outer.call(
      [&](const NodeApi& api) { return api.query(inner.id(), "UserProfile", {"username"}, 20s); });
  EXPECT_TRUE(query_answered(answer)) << answer.body << answer.transport_error;

  // Stopped, the node removes the mapping from the gateway.
  EXPECT_EQ(inner.stop(), 0) << inner.log();
  EXPECT_NE(inner.log().find("port mapping: removed " + expected), std::string::npos) << inner.log();
  const auto after = bed->upnp_redirects(0);
  ASSERT_TRUE(after);
  EXPECT_FALSE(redirects_port(*after, kMappingTcpPort))
      << ::testing::PrintToString(*after) << "\n" << bed->miniupnpd_log(0);
}

TEST(PortMapping, UpnpIgdMapsTheListenPortThePublicSideQueriesThroughItAndStopRemovesIt) {
  map_reach_and_unmap("upnp");
}

TEST(PortMapping, NatPmpMapsTheListenPortThePublicSideQueriesThroughItAndStopRemovesIt) {
  map_reach_and_unmap("nat-pmp");
}

TEST(PortMapping, BehindAGatewayWithoutMappingTheNodeStartsAtOnceAndSaysWhyItHasNone) {
  std::string why_not;
  if (!NatTestbed::available(false, why_not)) GTEST_SKIP() << why_not;
  auto bed = NatTestbed::create(0, {{.kind = GatewayKind::PortPreserving, .hosts = 1}}, why_not);
  ASSERT_TRUE(bed) << why_not;
  TempDir dir("datafold-portmap");
  BedNode node(*bed, bed->hosts_in(0).front(), dir.path + "/node");
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(node.start({})) << node.log();
  std::cout << "[ INFO     ] API up " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now() - started).count()
            << " ms after the spawn\n";
  // The attempt (NAT-PMP refused, an SSDP search that nobody answers) fails in the background.
  ASSERT_TRUE(eventually([&] { return node.mapping().value("failures", 0) >= 1; }, 15s)) << node.mapping().dump();
  const Json mapping = node.mapping();
  EXPECT_TRUE(mapping.value("enabled", false));
  EXPECT_FALSE(mapping.value("active", true));
  EXPECT_TRUE(mapping["external_address"].is_null());
  EXPECT_TRUE(mapping["last_error"].is_string()) << mapping.dump();
  for (const auto& entry : node.status().value("addresses", Json::array()))
    EXPECT_NE(entry.value("source", ""), "mapped") << entry.dump();
  const auto metrics = node.call([](const NodeApi& api) { return api.metrics(); }).value_or("");
  EXPECT_EQ(metric_value(metrics, "datafold_port_mapping_active"), 0.0) << metrics;
  EXPECT_GE(metric_value(metrics, "datafold_port_mapping_failures_total").value_or(0), 1.0) << metrics;
  // Start-up did not wait for the gateway: the node said it was listening before the
  // mapping attempt had its answer (the SSDP search alone waits two seconds).
  const auto log = node.log();
  const auto listening = log.find("listening on");
  const auto gave_up = log.find("port mapping: none");
  ASSERT_NE(listening, std::string::npos) << log;
  ASSERT_NE(gave_up, std::string::npos) << log;
  EXPECT_LT(listening, gave_up) << log;
  EXPECT_EQ(node.stop(), 0) << node.log();
}

}  // namespace
}  // namespace datafold::net::testing
