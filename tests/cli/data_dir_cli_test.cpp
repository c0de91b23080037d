// One `datafold node` per data dir, and the CLI finding it there. The running node holds a
// lock in its data dir (which the kernel drops when the process ends, crash or not) and
// records its pid and addresses beside it: a second node on the data dir is refused with
// the first one named, and every command on the data dir reaches the node's HTTP API
// without --http, wherever it serves it.
#include "cli/cli_fixture.hpp"

#include <filesystem>

namespace datafold::cli_test {
namespace {

class DataDirCli : public CliTest {
 protected:
  // `datafold node` on data dir `name` in the foreground, as a user would start a second one.
  RunResult run_node(const std::string& name) {
    return datafold(name, {"node", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--no-port-mapping",
                           "--no-discovery", "--network", network_, "--duration", "20"});
  }
  bool record_exists(const std::string& name) const { return std::filesystem::exists(dir(name) + "/node.json"); }
};

TEST_F(DataDirCli, ASecondNodeOnTheDataDirIsRefusedNamingTheRunningOne) {
  auto& first = start_node("server");
  const auto second = run_node("server");
  EXPECT_EQ(second.exit_code, 2) << second.out << second.err;
  const auto error = second.error_line();
  for (const auto& text : {"another datafold node is running on data dir " + dir("server"),
                           "pid " + std::to_string(first.pid()), "node " + first.node_id(),
                           "listening on " + first.address(), "HTTP API on " + first.http(), std::string("stop it first")})
    EXPECT_NE(error.find(text), std::string::npos) << text << "\n  in: " << error;

  // The first one goes on, undisturbed.
  ASSERT_TRUE(first.running()) << first.log();
  const auto status = datafold("server", {"--json", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(parse_json(status.out).value("node_id", ""), first.node_id());
}

TEST_F(DataDirCli, ACrashedNodeLeavesNothingThatStopsTheNextOne) {
  auto& first = start_node("server");
  const std::string old_http = first.http();
  const std::string id = first.node_id();
  first.crash();
  // Its record is still there, but no process holds the lock: nothing takes it for running.
  EXPECT_TRUE(record_exists("server"));
  const auto status = datafold("server", {"status"});
  EXPECT_EQ(status.err.find(old_http), std::string::npos) << status.err;

  auto& next = start_node("server");  // replaces `first` in the fixture: use it no more
  const auto now = datafold("server", {"--json", "status"});
  ASSERT_EQ(now.exit_code, 0) << now.err;
  EXPECT_EQ(parse_json(now.out).value("node_id", ""), next.node_id());
  EXPECT_EQ(next.node_id(), id);  // the same identity, one process at a time

  // A clean stop takes the record with it.
  EXPECT_EQ(next.stop(), 0) << next.log();
  EXPECT_FALSE(record_exists("server"));
}

// The case: a node whose HTTP API is not on the default port, and `trust set
// NODE_ID` on its data dir, which must ask that node for the key.
TEST_F(DataDirCli, CommandsOnTheDataDirFindTheNodesApiWithoutFlags) {
  auto& server = start_node("server");
  auto& other = start_node("other", {"--sample", "--bootstrap", server.address()});
  ASSERT_NE(server.http(), "127.0.0.1:9080");  // the default port: the flags would not matter

  EXPECT_TRUE(eventually([&] {
    const auto peers = datafold("server", {"--json", "peers"});
    return peers.exit_code == 0 && peers.out.find(other.node_id()) != std::string::npos;
  })) << datafold("server", {"peers"}).err;

  const auto set = datafold("server", {"trust", "set", other.node_id().substr(0, 10), "1"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("the running node applies it from its next query"), std::string::npos) << set.out;
  EXPECT_EQ(set.err, "");

  const auto status = datafold("server", {"--json", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(parse_json(status.out).value("node_id", ""), server.node_id());
  const auto reputation = datafold("server", {"reputation", "show"});
  EXPECT_EQ(reputation.exit_code, 0) << reputation.err;

  // --http, when given, still wins: here, the other node's API.
  const auto there = datafold("server", {"--json", "status", "--http", other.http()});
  ASSERT_EQ(there.exit_code, 0) << there.err;
  EXPECT_EQ(parse_json(there.out).value("node_id", ""), other.node_id());
}

TEST_F(DataDirCli, ANodeWithoutAnHttpApiIsNotLookedForElsewhere) {
  start_node("quiet", {"--sample", "--http", "off"});
  const auto status = datafold("quiet", {"status"});
  EXPECT_EQ(status.exit_code, 2);
  EXPECT_NE(status.error_line().find("no HTTP API to ask"), std::string::npos) << status.err;

  // The change is written; the node cannot be told, and the warning says when it applies.
  const auto set = datafold("quiet", {"trust", "set", public_key_of("friend"), "1"});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.err.find("serves no HTTP API to tell; it applies the change within 250 ms"), std::string::npos)
      << set.err;

  // Nor may a client command dial with the running node's identity instead: a peer keeps
  // one connection per node id, so it would cut the node's own.
  auto& server = start_node("server");
  const auto query = datafold("quiet", {"query", server.address(), "UserProfile", "username", "--no-discovery",
                                        "--network", network_});
  EXPECT_EQ(query.exit_code, 2);
  EXPECT_NE(query.error_line().find("may not dial with that node's identity while it runs"), std::string::npos)
      << query.err;
}

}  // namespace
}  // namespace datafold::cli_test
