// `datafold node`: start, clean stop, --duration, --json, and --config FILE (TOML).
#include "cli/cli_fixture.hpp"

#include <filesystem>
#include <fstream>

#include "datafold/net/config.hpp"

namespace datafold::cli_test {
namespace {

class NodeCli : public CliTest {
 protected:
  // `datafold node --config FILE ARGS…` in the foreground; for configs that must fail or stop.
  RunResult node_with_config(const std::string& toml, const std::vector<std::string>& args = {}) {
    const auto file = tmp_.write("node.toml", toml);
    // --no-port-mapping: never the real gateway (cli_process.cpp says why).
    std::vector<std::string> all{"node", "--config", file, "--no-port-mapping"};
    all.insert(all.end(), args.begin(), args.end());
    return datafold("node", all);
  }
  std::string config_path() const { return tmp_ / "node.toml"; }
};

TEST_F(NodeCli, RunsUntilSigtermThenStopsCleanly) {
  auto& node = start_node("node");
  EXPECT_EQ(node.node_id(), node_id_of("node"));
  EXPECT_EQ(node.address().rfind("127.0.0.1:", 0), 0u) << node.address();
  expect_good_query(node);
  EXPECT_EQ(node.stop(), 0) << node.log();
  EXPECT_NE(node.log().find("node stopped"), std::string::npos) << node.log();
}

TEST_F(NodeCli, DurationStopsItAndJsonAnnouncesTheAddress) {
  const auto result = datafold("node", {"--json", "node", "--listen", "127.0.0.1:0", "--http", "off", "--no-discovery",
                                        "--no-port-mapping", "--duration", "0.3"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto event = parse_json(result.out.substr(0, result.out.find('\n')));
  ASSERT_FALSE(event.is_discarded()) << result.out;
  EXPECT_EQ(event.value("event", ""), "listening");
  EXPECT_EQ(event.value("node_id", ""), node_id_of("node"));
  EXPECT_EQ(event.value("address", "").rfind("127.0.0.1:", 0), 0u);
}

TEST_F(NodeCli, BadFlagsAreUsageErrors) {
  for (const auto& args : {std::vector<std::string>{"node", "--listen", "nowhere"},
                           std::vector<std::string>{"node", "--http", "127.0.0.1"},
                           std::vector<std::string>{"node", "--bootstrap", "no-port", "--listen", "127.0.0.1:0"},
                           std::vector<std::string>{"node", "--discovery-port", "0"},
                           std::vector<std::string>{"node", "--max-connections", "0"},
                           std::vector<std::string>{"node", "--max-requests-per-second-per-peer", "-1"}}) {
    const auto result = datafold("node", args);
    EXPECT_EQ(result.exit_code, 2) << args[1] << ": " << result.err;
    EXPECT_NE(result.error_line().find(args[1]), std::string::npos) << result.err;
  }
}

TEST_F(NodeCli, ThePackagedConfigFileIsAcceptedAsShippedAndWithEveryKeyUncommented) {
  // packaging/deb/datafold.toml, /etc/datafold/datafold.toml of the Debian package: every
  // key commented out at its default. Both the file and the file with each `#key = value`
  // line made live must start the node (flags keep it on loopback).
  std::ifstream in(std::filesystem::path(DATAFOLD_SOURCE_DIR) / "packaging" / "deb" / "datafold.toml");
  ASSERT_TRUE(in) << "cannot read packaging/deb/datafold.toml";
  std::string shipped, live, line;
  int keys = 0;
  while (std::getline(in, line)) {
    shipped += line + "\n";
    const bool key = line.size() > 1 && line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
                     line.find(" = ") != std::string::npos;
    keys += key ? 1 : 0;
    live += (key ? line.substr(1) : line) + "\n";
  }
  EXPECT_GE(keys, 25);
  const std::vector<std::string> loopback{"--listen", "127.0.0.1:0", "--http", "off", "--no-discovery",
                                          "--duration", "0.2"};
  for (const auto& text : {shipped, live}) {
    const auto result = node_with_config(text, loopback);
    EXPECT_EQ(result.exit_code, 0) << result.err << "\n" << text;
  }
}

TEST_F(NodeCli, ConfigFileSetsTheNodeUp) {
  // The network name and --sample come from the file: a client of that network reads the
  // sample schema, one of another network is refused.
  tmp_.write("node.toml", "# a node for the test\nnetwork = \"" + network_ +
                              "\"\nsample = true\ndiscovery = false\nping_interval_ms = 1000\n"
                              "announce_interval_ms = 1000\ndiscovery_port = " +
                              std::to_string(discovery_port_) + "\ndiscovery_interfaces = [\"lo\"]\nbootstrap = []\n");
  std::string failure;
  auto node = NodeProcess::start(dir("node"), {"--config", config_path()}, &failure);
  ASSERT_TRUE(node) << failure;
  expect_good_query(*node);
  const auto other = datafold("other", {"query", node->address(), "UserProfile", "username", "--network", "elsewhere",
                                        "--no-discovery", "--http", "off", "--timeout", "5"});
  EXPECT_NE(other.exit_code, 0) << other.out;
}

TEST_F(NodeCli, ConfigBootstrapArrayDialsThePeers) {
  auto& first = start_node("first");
  tmp_.write("node.toml", "network = \"" + network_ + "\"\ndiscovery = false\nbootstrap = [\"" + first.address() + "\"]\n");
  std::string failure;
  auto second = NodeProcess::start(dir("second"), {"--config", config_path()}, &failure);
  ASSERT_TRUE(second) << failure;
  EXPECT_TRUE(eventually([&] {
    const auto peers = datafold("second", {"--json", "peers", "--http", first.http()});
    return peers.out.find(second->node_id()) != std::string::npos;
  })) << first.log();
}

TEST_F(NodeCli, ConfigLimitsReachTheNode) {
  // One request a second, no burst: of a few queries in a row from one client, every
  // one is answered, the later ones slowed to the rate rather than refused (the node
  // serves an excess request once its token bucket would have admitted it). The
  // bucket is kept per node id, so it holds across the client's separate connections.
  // The memory budget from the file is the node's.
  tmp_.write("node.toml", "network = \"" + network_ +
                              "\"\nsample = true\ndiscovery = false\nmax_connections = 16\n"
                              "max_connections_per_ip = 4\nmax_requests_per_second_per_peer = 1\n"
                              "request_burst_per_peer = 1\nmemory_budget_mib = 64\n");
  std::string failure;
  auto node = NodeProcess::start(dir("node"), {"--config", config_path()}, &failure);
  ASSERT_TRUE(node) << failure;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto next = client("eager", {"query", node->address(), "UserProfile", "username"});
    EXPECT_EQ(next.exit_code, 0) << "query " << attempt << ": " << next.err;
  }
  const auto status = parse_json(datafold("client", {"--json", "status", "--http", node->http()}).out);
  ASSERT_FALSE(status.is_discarded());
  EXPECT_GE(status["stats"].value("requests_rate_limited", 0), 1) << status.dump();
  EXPECT_EQ(status["stats"].value("memory_budget_bytes", 0), 64 << 20) << status.dump();
  EXPECT_TRUE(status["stats"].contains("memory_in_use_bytes")) << status.dump();
  EXPECT_TRUE(status["stats"].contains("memory_peak_bytes")) << status.dump();
  const auto text = datafold("client", {"status", "--http", node->http()});
  EXPECT_NE(text.out.find("MiB budget in use"), std::string::npos) << text.out;
}

TEST_F(NodeCli, FlagsWinOverTheFile) {
  // Unusable values in the file are never looked at when a flag replaces them.
  tmp_.write("node.toml",
             "listen = \"not an address\"\nhttp = \"nor this\"\nnetwork = \"" + network_ + "\"\ndiscovery = true\n");
  std::string failure;
  auto node = NodeProcess::start(dir("node"), {"--config", config_path(), "--sample", "--no-discovery"}, &failure);
  ASSERT_TRUE(node) << failure;
  expect_good_query(*node);
}

TEST_F(NodeCli, WithoutPortMappingStatusSaysItIsOff) {
  // The tests' nodes run with --no-port-mapping (this machine's gateway is not theirs).
  auto& node = start_node("node");
  const auto status = parse_json(datafold("client", {"--json", "status", "--http", node.http()}).out);
  ASSERT_FALSE(status.is_discarded());
  const auto mapping = status.value("port_mapping", net::Json());
  EXPECT_FALSE(mapping.value("enabled", true)) << status.dump();
  EXPECT_FALSE(mapping.value("active", true)) << status.dump();
  EXPECT_EQ(mapping.value("last_error", ""), "port mapping is off") << status.dump();
  for (const auto& address : status.value("addresses", net::Json::array()))
    EXPECT_NE(address.value("source", ""), "mapped") << address.dump();
  const auto text = datafold("client", {"status", "--http", node.http()});
  EXPECT_NE(text.out.find("\nmapping      off\n"), std::string::npos) << text.out;
}

TEST_F(NodeCli, PortMappingInTheFileMustBeTrueOrFalse) {
  const auto result = node_with_config("port_mapping = \"no\"\n");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.error_line(), "datafold: " + config_path() + ": key 'port_mapping' must be true or false (line 1)")
      << result.err;
  const auto accepted = node_with_config("port_mapping = false\n", {"--listen", "127.0.0.1:0", "--http", "off",
                                                                     "--no-discovery", "--duration", "0.2"});
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
}

TEST_F(NodeCli, RelayLimitsFromTheFileAndFlagsReachTheRelay) {
  // Two limits from the file, one of them overridden by its flag; the rest keep
  // their defaults. `status` shows what the relay enforces.
  tmp_.write("node.toml", "network = \"" + network_ +
                              "\"\ndiscovery = false\nrelay = true\nrelay_max_circuits = 7\n"
                              "relay_max_circuit_seconds = 90\n");
  std::string failure;
  auto node = NodeProcess::start(dir("node"), {"--config", config_path(), "--relay-max-circuit-seconds", "45"}, &failure);
  ASSERT_TRUE(node) << failure;
  const auto status = parse_json(datafold("client", {"--json", "status", "--http", node->http()}).out);
  ASSERT_FALSE(status.is_discarded());
  const auto limits = status["reachability"]["relay"].value("limits", net::Json());
  EXPECT_EQ(limits.value("max_circuits", 0), 7) << status.dump();
  EXPECT_EQ(limits.value("max_circuit_seconds", 0), 45) << status.dump();
  EXPECT_EQ(limits.value("max_circuits_per_peer", 0), static_cast<long>(net::RelayLimits{}.max_circuits_per_peer));
  const auto text = datafold("client", {"status", "--http", node->http()});
  EXPECT_NE(text.out.find("0 of 7 circuits"), std::string::npos) << text.out;

  const auto bad = node_with_config("relay_max_circuits = 0\n");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.error_line(), "datafold: " + config_path() + ": key 'relay_max_circuits' must be in 1..1000000 (line 1)")
      << bad.err;
  const auto bad_flag = datafold("node", {"node", "--relay-max-circuit-bytes", "0"});
  EXPECT_EQ(bad_flag.exit_code, 2) << bad_flag.err;
  EXPECT_NE(bad_flag.error_line().find("--relay-max-circuit-bytes"), std::string::npos) << bad_flag.err;
}

TEST_F(NodeCli, AnUnknownKeyIsExitTwoNamingFileKeyAndLine) {
  // A second node refused on the data dir of a running one leaves that one serving.
  auto& running = start_node("node");
  const auto result = node_with_config("listen = \"127.0.0.1:0\"\n\ncolour = \"blue\"\n");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.error_line(), "datafold: " + config_path() + ": unknown key 'colour' (line 3)") << result.err;
  EXPECT_EQ(result.out, "");
  expect_good_query(running);
}

TEST_F(NodeCli, AValueOfTheWrongTypeIsExitTwoNamingTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"discovery_port = \"9001\"\n", "key 'discovery_port' must be an integer"},
      {"bootstrap = \"127.0.0.1:9000\"\n", "key 'bootstrap' must be an array of strings"},
      {"bootstrap = [1, 2]\n", "key 'bootstrap' must be an array of strings"},
      {"discovery = \"yes\"\n", "key 'discovery' must be true or false"},
      {"sample = 1\n", "key 'sample' must be true or false"},
      {"listen = 9000\n", "key 'listen' must be a string"},
      {"ping_interval_ms = 5\n", "key 'ping_interval_ms' must be in 100..3600000"},
      {"max_connections = 0\n", "key 'max_connections' must be in 1..1000000"},
      {"memory_budget_mib = 0\n", "key 'memory_budget_mib' must be in 1..1048576"},
      {"max_requests_per_second_per_peer = 1.5\n", "key 'max_requests_per_second_per_peer' must be an integer"},
      {"[discovery]\nport = 9001\n", "key 'discovery' must be true or false"},
      {"listen = \"nowhere\"\n", "key 'listen': 'nowhere' is not IP:PORT"},
  };
  for (const auto& [toml, message] : cases) {
    const auto result = node_with_config(toml);
    EXPECT_EQ(result.exit_code, 2) << toml;
    EXPECT_NE(result.error_line().find(config_path() + ": " + message), std::string::npos)
        << toml << " -> " << result.err;
  }
}

TEST_F(NodeCli, AnUnreadableOrMalformedFileIsExitTwo) {
  const auto missing = datafold("node", {"node", "--config", tmp_ / "absent.toml"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.error_line().find("absent.toml: cannot read"), std::string::npos) << missing.err;

  const auto malformed = node_with_config("listen = \"127.0.0.1:0\"\nnetwork = \n");
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.error_line().find("invalid TOML (line 2)"), std::string::npos) << malformed.err;

  // Non-ASCII text is refused outside comments before the parser sees it (toml++ 3.3
  // misbehaves on some of it); in a string it is spelled as an escape.
  const auto stray = node_with_config("# caf\xC3\xA9\nnetwork = \"caf\\u00e9\"\n[\xC4\xBF]\n");
  EXPECT_EQ(stray.exit_code, 2);
  EXPECT_NE(stray.error_line().find(config_path() +
                                    ": non-ASCII character (line 3): accepted only in comments; in a string, "
                                    "write it as \\uXXXX"),
            std::string::npos)
      << stray.err;
}

}  // namespace
}  // namespace datafold::cli_test
