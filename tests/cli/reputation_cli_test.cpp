// `datafold reputation show|ban|unban|reset` against a running node, the REPUTATION
// column of `datafold peers`, the status row, /metrics, the ban kept in the data
// dir across a restart, and a peer that sends garbage banned on its own.
#include <filesystem>

#include <httplib.h>

#include "cli/cli_fixture.hpp"
#include "support/raw_tls_client.hpp"

namespace datafold::cli_test {
namespace {

class ReputationCli : public CliTest {
 protected:
  RunResult reputation(const NodeProcess& node, std::vector<std::string> args, bool json = false) {
    std::vector<std::string> all;
    if (json) all.push_back("--json");
    all.push_back("reputation");
    all.insert(all.end(), {"--http", node.http()});
    all.insert(all.end(), args.begin(), args.end());
    return datafold("client", all);
  }
  std::optional<net::Json> entry(const NodeProcess& node, const std::string& subject) {
    const auto run = reputation(node, {"show"}, true);
    const auto shown = parse_json(run.out);
    if (shown.is_discarded()) {
      ADD_FAILURE() << "reputation show: " << run.err;
      return std::nullopt;
    }
    for (const auto& e : shown.value("entries", net::Json::array()))
      if (e.value("subject", "") == subject) return e;
    return std::nullopt;
  }
};

TEST_F(ReputationCli, TheOperatorBansUnbansAndResetsAndSeesIt) {
  auto& node = start_node("node");
  expect_good_query(node);

  const auto banned = reputation(node, {"ban", "203.0.113.7", "--seconds", "600"});
  EXPECT_EQ(banned.exit_code, 0) << banned.err;
  EXPECT_NE(banned.out.find("banned 203.0.113.7 for 600 s"), std::string::npos) << banned.out;
  auto shown = entry(node, "203.0.113.7");
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->value("kind", ""), "ip");
  EXPECT_EQ(shown->value("state", ""), "banned");
  EXPECT_TRUE(shown->value("banned_until_ms", net::Json()).is_number());
  const auto table = reputation(node, {"show"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("SUBJECT"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("203.0.113.7"), std::string::npos) << table.out;

  // A key it scored but never knew as a node (here the CLI's own, which only dialled
  // in) is in `peers` too, with what the node thinks of it.
  const std::string stranger = node_id_of("checker");
  const auto banned_key = reputation(node, {"ban", stranger, "--seconds", "600"});
  EXPECT_EQ(banned_key.exit_code, 0) << banned_key.err;
  const auto peers = datafold("client", {"peers", "--http", node.http()});
  EXPECT_NE(peers.out.find("REPUTATION"), std::string::npos) << peers.out;
  const auto stranger_row = peers.out.find(stranger.substr(0, 12));
  ASSERT_NE(stranger_row, std::string::npos) << peers.out;
  EXPECT_NE(peers.out.find("banned", stranger_row), std::string::npos) << peers.out;
  EXPECT_EQ(reputation(node, {"reset", stranger}).exit_code, 0);

  // The status row; the metrics.
  const auto status = datafold("client", {"status", "--http", node.http()});
  EXPECT_NE(status.out.find("1 banned"), std::string::npos) << status.out;
  httplib::Client http("127.0.0.1", node.http_port());
  const auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("datafold_reputation_subjects{state=\"banned\"} 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("datafold_reputation_events_total{kind=\"protocol_violation\"} 0"), std::string::npos);

  const auto unbanned = reputation(node, {"unban", "203.0.113.7"});
  EXPECT_EQ(unbanned.exit_code, 0) << unbanned.err;
  EXPECT_NE(unbanned.out.find("unbanned 203.0.113.7"), std::string::npos) << unbanned.out;
  EXPECT_EQ(entry(node, "203.0.113.7")->value("state", ""), "neutral");
  const auto reset = reputation(node, {"reset", "203.0.113.7"});
  EXPECT_NE(reset.out.find("forgot 203.0.113.7"), std::string::npos) << reset.out;
  EXPECT_FALSE(entry(node, "203.0.113.7"));
  const auto again = reputation(node, {"reset", "203.0.113.7"});
  EXPECT_NE(again.out.find("nothing was known of 203.0.113.7"), std::string::npos) << again.out;
}

TEST_F(ReputationCli, APeerThatSendsGarbageIsBannedRefusedAndShownSoInPeers) {
  auto& node = start_node("node");
  const auto port = static_cast<std::uint16_t>(std::stoi(node.address().substr(node.address().rfind(':') + 1)));
  // Undecodable frames: each a protocol violation, three close the connection. The
  // same key comes back for more until the node no longer takes it.
  net::testing::RawTlsClient attacker;
  const std::string junk = "\xff\xff\xff\xff\x0f";
  const std::string frame = std::string("\0\0\0", 3) + static_cast<char>(junk.size()) + junk;
  bool refused = false;
  int rounds = 0;
  for (; rounds < 10 && !refused; ++rounds) {
    if (!attacker.connect(port) || !attacker.exchange_hello(net::kMinProtocolVersion, net::kMaxProtocolVersion,
                                                            network_)) {
      refused = true;  // closed at the handshake: banned by key
      break;
    }
    for (int i = 0; i < 3; ++i) (void)attacker.write(frame);
    EXPECT_TRUE(attacker.wait_closed()) << "repeated violations must close the connection";
  }
  EXPECT_TRUE(refused) << "the garbage sender was still let in after " << rounds << " rounds";

  const std::string key = attacker.identity().node_id().to_string();
  const auto shown = entry(node, key);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->value("state", ""), "banned");
  // In `datafold peers` too, though it never was a node this one knew: it only dialled in.
  const auto peers = datafold("client", {"peers", "--http", node.http()});
  const auto row = peers.out.find(key.substr(0, 12));
  ASSERT_NE(row, std::string::npos) << peers.out;
  EXPECT_NE(peers.out.find("banned", row), std::string::npos) << peers.out;
  // A well-behaved client is still served.
  expect_good_query(node);
}

TEST_F(ReputationCli, ASubjectThatIsNeitherIdNorIpIsRefusedClearly) {
  auto& node = start_node("node");
  const auto bad = reputation(node, {"ban", "bob"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("'bob' is neither a whole node id (52 characters) nor an IP address"), std::string::npos)
      << bad.err;
  const auto too_long = reputation(node, {"ban", "203.0.113.7", "--seconds", "0"});
  EXPECT_NE(too_long.exit_code, 0);
}

TEST_F(ReputationCli, ABanIsKeptInTheDataDirAcrossARestart) {
  std::string checker_id;
  {
    auto& node = start_node("node");
    expect_good_query(node);  // the checker's identity is made on its first run
    checker_id = node_id_of("checker");
    ASSERT_EQ(reputation(node, {"ban", checker_id}).exit_code, 0);
    // The checker's key is refused: its query fails.
    const auto refused = client("checker", {"query", node.address(), "UserProfile", "username"});
    EXPECT_NE(refused.exit_code, 0) << refused.out;
    EXPECT_EQ(node.stop(), 0) << node.log();
  }
  const auto file = std::filesystem::path(dir("node")) / "reputation";
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  auto& node = start_node("node");
  auto kept = entry(node, checker_id);
  ASSERT_TRUE(kept) << node.log();
  EXPECT_EQ(kept->value("state", ""), "banned");
  ASSERT_EQ(reputation(node, {"unban", checker_id}).exit_code, 0);
  expect_good_query(node);
}

}  // namespace
}  // namespace datafold::cli_test
