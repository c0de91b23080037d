// A test's private little network of `datafold node` processes on loopback, and the
// client commands run against it. Every node and client of one test shares a network
// name no other test uses; discovery, when a test wants it, runs on `lo` only, on a port
// picked for the test, so nothing is announced on a real interface.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/cli_process.hpp"

namespace datafold::cli_test {

class CliTest : public ::testing::Test {
 protected:
  // Starts a node whose data dir is `name` inside the test's temp dir. With `lan` it
  // announces and listens on loopback; otherwise it runs with --no-discovery.
  NodeProcess& start_node(const std::string& name, std::vector<std::string> args = {"--sample"}, bool lan = false) {
    args.insert(args.end(), {"--network", network_});
    if (lan) {
      args.insert(args.end(), {"--discovery-interface", "lo", "--discovery-port", std::to_string(discovery_port_),
                               "--announce-interval-ms", "1000"});
    } else {
      args.push_back("--no-discovery");
    }
    std::string failure;
    auto node = NodeProcess::start(dir(name), args, &failure);
    if (!node) {
      ADD_FAILURE() << failure;
      throw std::runtime_error("node " + name + " did not start");
    }
    auto& slot = nodes_[name];
    slot = std::move(node);
    return *slot;
  }

  // The data dir called `name` inside the test's temp dir.
  std::string dir(const std::string& name) const { return tmp_ / name; }

  // `datafold --data-dir DIR ARGS…`
  RunResult datafold(const std::string& dir_name, const std::vector<std::string>& args, const std::string& input = {}) {
    std::vector<std::string> all{"--data-dir", dir(dir_name)};
    all.insert(all.end(), args.begin(), args.end());
    return run_datafold(all, input);
  }

  // Flags every client command of this test takes: the test's network, no LAN probe,
  // and no local node to ask (a test names the one it means).
  std::vector<std::string> client_flags() const { return {"--network", network_, "--no-discovery", "--http", "off"}; }
  // The same, probing the test's LAN on loopback instead.
  std::vector<std::string> lan_client_flags() const {
    return {"--network", network_, "--discovery-interface", "lo", "--discovery-port", std::to_string(discovery_port_),
            "--http", "off"};
  }

  // `datafold --data-dir DIR COMMAND… <client flags>`
  RunResult client(const std::string& dir_name, std::vector<std::string> args) {
    const auto flags = client_flags();
    args.insert(args.end(), flags.begin(), flags.end());
    return datafold(dir_name, args);
  }

  // The public key of data dir `name` (created if needed), as `datafold --json id` prints it.
  std::string public_key_of(const std::string& dir_name) {
    const auto id = datafold(dir_name, {"--json", "id"});
    EXPECT_EQ(id.exit_code, 0) << id.err;
    return parse_json(id.out).value("public_key", "");
  }
  std::string node_id_of(const std::string& dir_name) {
    const auto id = datafold(dir_name, {"--json", "id"});
    EXPECT_EQ(id.exit_code, 0) << id.err;
    return parse_json(id.out).value("node_id", "");
  }

  // A good query of the sample schema at `node` still works: the check after each bad input.
  void expect_good_query(const NodeProcess& node) {
    const auto good = client("checker", {"query", node.address(), "UserProfile", "username"});
    EXPECT_EQ(good.exit_code, 0) << good.err;
    EXPECT_NE(good.out.find("alice"), std::string::npos) << good.out;
  }

  TempDir tmp_;
  std::string network_ = unique_network_name();
  std::uint16_t discovery_port_ = free_udp_port();
  std::map<std::string, std::unique_ptr<NodeProcess>> nodes_;
};

}  // namespace datafold::cli_test
