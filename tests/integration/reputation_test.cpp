// Reputation in a running node (DESIGN.md section 10.4): peers that send garbage,
// flood or forge proofs sink to banned and are refused at accept, a new key from a
// banned address starts from the address's penalty, a trusted key is never banned
// automatically, a well-behaved peer rises and keeps being served, and an operator's
// ban survives a restart.
//
// Loopback is one shared host by default (not charged per address); these tests
// make each loopback address a host of its own, so that 127.0.0.2 can be an abusive
// host while the well-behaved node talks from 127.0.0.1.
#include "datafold/net/network_core.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/known_answers.hpp"
#include "support/raw_requests.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::gets_correct_answers;
using testing::RawTlsClient;
using testing::start_node;

constexpr const char* kAbusiveHost = "127.0.0.2";

NetworkConfig scoring_config() {
  auto config = testing::loopback_config();
  config.reputation.charge_loopback_addresses = true;
  config.reputation.tick_interval = 100ms;  // connected "minutes" come quickly
  return config;
}

std::string frame_header(std::uint32_t length) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
          static_cast<char>(length)};
}

// Connects from `host` with `raw`'s key and sends undecodable frames until the node
// closes the connection. False when the node would not even complete a handshake.
bool send_garbage_until_closed(RawTlsClient& raw, std::uint16_t port, const std::string& host = kAbusiveHost) {
  if (!raw.connect_from(host, port) || !raw.exchange_hello()) return false;
  const std::string junk = "\xff\xff\xff\xff\x0f";
  for (int i = 0; i < 3; ++i) (void)raw.write(frame_header(static_cast<std::uint32_t>(junk.size())) + junk);
  EXPECT_TRUE(raw.wait_closed()) << "repeated violations must close the connection";
  return true;
}

// A directory of this test's own, removed at the end.
struct ScratchDir {
  ScratchDir() : path(std::filesystem::temp_directory_path() / ("datafold-reputation-it-" + Uuid::random().to_string())) {
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path path;
};

std::optional<ReputationEntry> entry_for(const NetworkCore& node, const std::string& subject) {
  for (auto& entry : node.reputation())
    if (entry.subject == subject) return entry;
  return std::nullopt;
}

TEST(Reputation, APeerSendingGarbageIsBannedAndRefusedAtAcceptWhileAWellBehavedPeerRises) {
  auto server = start_node(scoring_config());
  auto resident = start_node();
  ASSERT_TRUE(server && resident);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);
  const NodeId& id = server->local_node_id();

  // Each round a new key from the same host: the host's penalty follows it.
  std::vector<NodeId> abusers;
  int rounds_served = 0;
  for (int round = 0; round < 4; ++round) {
    RawTlsClient raw;
    if (!send_garbage_until_closed(raw, server->listen_port())) break;
    abusers.push_back(raw.identity().node_id());
    ++rounds_served;
    EXPECT_TRUE(gets_correct_answers(*resident, id)) << "round " << round;
  }
  // Three bad frames are -30: the second key from the host crosses -50.
  EXPECT_EQ(rounds_served, 2);
  const auto host = entry_for(*server, kAbusiveHost);
  ASSERT_TRUE(host);
  EXPECT_EQ(host->state, PeerState::Banned);
  EXPECT_TRUE(host->banned_until.has_value());
  EXPECT_EQ(server->reputation_of(abusers.back()).state, PeerState::Banned);
  EXPECT_GE(server->stats().connections_refused, 1u) << "the third connection is refused at accept";
  EXPECT_GE(server->reputation_stats().refused_banned, 1u);

  // The well-behaved peer keeps being answered and rises: connected without fault,
  // its requests answered.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(gets_correct_answers(*resident, id));
  EXPECT_TRUE(testing::eventually([&] {
    return server->reputation_of(resident->local_node_id()).state == PeerState::Good;
  })) << server->reputation_of(resident->local_node_id()).score;
  EXPECT_GT(server->reputation_of(resident->local_node_id()).score, 1.0);
}

TEST(Reputation, ANewKeyFromAPenalisedHostStartsFromTheHostsPenalty) {
  auto server = start_node(scoring_config());
  ASSERT_TRUE(server);
  testing::serve_known_answers(*server);
  RawTlsClient first;
  ASSERT_TRUE(send_garbage_until_closed(first, server->listen_port()));
  EXPECT_TRUE(testing::eventually([&] { return server->reputation_of(first.identity().node_id()).score < -20; }));

  RawTlsClient fresh;
  ASSERT_TRUE(fresh.connect_from(kAbusiveHost, server->listen_port()) && fresh.exchange_hello());
  ASSERT_TRUE(testing::eventually([&] { return server->connected_nodes().count(fresh.identity().node_id()) > 0; }));
  const auto standing = server->reputation_of(fresh.identity().node_id());
  EXPECT_LT(standing.score, -20) << "a new key starts from its host's penalty, not from neutral";
  EXPECT_EQ(standing.state, PeerState::Avoided);

  // The same new key from another host is neutral: the penalty is the host's.
  RawTlsClient elsewhere;
  ASSERT_TRUE(elsewhere.connect_from("127.0.0.3", server->listen_port()) && elsewhere.exchange_hello());
  ASSERT_TRUE(testing::eventually([&] { return server->connected_nodes().count(elsewhere.identity().node_id()) > 0; }));
  EXPECT_EQ(server->reputation_of(elsewhere.identity().node_id()).state, PeerState::Neutral);
}

TEST(Reputation, AFlooderPastItsRateSinksToBannedAndIsCutOff) {
  auto config = scoring_config();
  // Past its rate a flooder is served late, one request per 1/200 s, and each late
  // one costs it: a hundred of them (half a second) is a ban.
  config.max_requests_per_second_per_peer = 200;
  config.request_burst_per_peer = 20;
  auto server = start_node(config);
  auto resident = start_node();
  ASSERT_TRUE(server && resident);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);

  RawTlsClient flooder;
  ASSERT_TRUE(flooder.connect_from(kAbusiveHost, server->listen_port()) && flooder.exchange_hello());
  std::vector<Message> flood;
  for (int i = 0; i < 400; ++i) flood.push_back(testing::raw_query(flooder, "S"));
  (void)flooder.write(testing::frames_of(flood));
  EXPECT_TRUE(testing::eventually([&] {
    return server->reputation_of(flooder.identity().node_id()).state == PeerState::Banned;
  }));
  EXPECT_TRUE(flooder.wait_closed()) << "a banned peer's connection is closed";
  RawTlsClient again;
  EXPECT_FALSE(again.connect_from(kAbusiveHost, server->listen_port()) && again.exchange_hello())
      << "its host is refused at accept";
  EXPECT_TRUE(gets_correct_answers(*resident, server->local_node_id()));
}

TEST(Reputation, ForgedTrustProofsGetTheSenderBanned) {
  auto server = start_node(scoring_config());
  ASSERT_TRUE(server);
  testing::serve_known_answers(*server);
  RawTlsClient forger;
  ASSERT_TRUE(forger.connect_from(kAbusiveHost, server->listen_port()) && forger.exchange_hello());
  for (int i = 0; i < 6; ++i) {
    QueryMessage query = testing::raw_query(forger, "S");
    query.trust_proof.public_key = server->public_key();  // a key not its own, unsigned
    if (!forger.send(query)) break;
  }
  EXPECT_TRUE(testing::eventually([&] {
    return server->reputation_of(forger.identity().node_id()).state == PeerState::Banned;
  }));
  EXPECT_TRUE(forger.wait_closed());
  EXPECT_GE(server->stats().trust_refusals, 4u);
}

TEST(Reputation, ATrustedKeyIsNeverBannedAutomatically) {
  auto server = start_node(scoring_config());
  ASSERT_TRUE(server);
  testing::serve_known_answers(*server);
  RawTlsClient friend_node;  // a trusted friend's faulty node
  ASSERT_TRUE(server->trust_store().set(friend_node.identity().public_key(), 1).ok());
  for (int round = 0; round < 4; ++round)
    ASSERT_TRUE(send_garbage_until_closed(friend_node, server->listen_port())) << "refused in round " << round;
  const auto standing = server->reputation_of(friend_node.identity().node_id());
  EXPECT_EQ(standing.state, PeerState::WouldBeBanned) << "shown to the operator instead";
  EXPECT_LT(standing.score, -50);
  // Its faults were not charged to its host either.
  EXPECT_FALSE(entry_for(*server, kAbusiveHost).has_value());
  // The operator can still ban it by hand.
  ASSERT_TRUE(server->ban(friend_node.identity().node_id().to_string(), 3600s).ok());
  EXPECT_EQ(server->reputation_of(friend_node.identity().node_id()).state, PeerState::Banned);
  // Refused once its key is known: TLS completes, and the node sends an Error, not its Hello.
  const auto refused_before = server->stats().connections_refused;
  ASSERT_TRUE(friend_node.connect_from(kAbusiveHost, server->listen_port()));
  EXPECT_FALSE(friend_node.exchange_hello());
  EXPECT_TRUE(friend_node.wait_closed());
  EXPECT_TRUE(server->connected_nodes().empty());
  EXPECT_TRUE(testing::eventually([&] { return server->stats().connections_refused > refused_before; }));
}

TEST(Reputation, AnOperatorsBanSurvivesARestartAndAnUnbanLiftsIt) {
  ScratchDir dir;
  auto config = scoring_config();
  config.reputation.file = (dir.path / "reputation").string();
  RawTlsClient peer;
  {
    auto server = start_node(config);
    ASSERT_TRUE(server);
    ASSERT_TRUE(server->ban(peer.identity().node_id().to_string(), 3600s).ok());
    ASSERT_TRUE(server->ban("127.0.0.9", 3600s).ok());
    EXPECT_FALSE(server->ban("not-a-node", 60s).ok());
    ASSERT_TRUE(server->stop().ok());
  }
  ASSERT_TRUE(std::filesystem::exists(config.reputation.file));
  EXPECT_EQ(std::filesystem::status(config.reputation.file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  auto server = start_node(config);
  ASSERT_TRUE(server);
  testing::serve_known_answers(*server);
  EXPECT_EQ(server->reputation_of(peer.identity().node_id()).state, PeerState::Banned);
  // Refused by key, once TLS proves who it is: no Hello, and the node hangs up at once.
  ASSERT_TRUE(peer.connect_from("127.0.0.1", server->listen_port()));
  EXPECT_FALSE(peer.exchange_hello());
  EXPECT_TRUE(peer.wait_closed());
  RawTlsClient from_banned_host;
  EXPECT_FALSE(from_banned_host.connect_from("127.0.0.9", server->listen_port()) && from_banned_host.exchange_hello())
      << "refused at accept, by address";

  auto lifted = server->unban(peer.identity().node_id().to_string());
  ASSERT_TRUE(lifted.ok());
  EXPECT_TRUE(*lifted);
  ASSERT_TRUE(peer.connect_from("127.0.0.1", server->listen_port()) && peer.exchange_hello());
  EXPECT_TRUE(testing::eventually([&] { return server->connected_nodes().count(peer.identity().node_id()) > 0; }));
  auto forgotten = server->reset_reputation("127.0.0.9");
  ASSERT_TRUE(forgotten.ok());
  EXPECT_TRUE(*forgotten);
  EXPECT_FALSE(entry_for(*server, "127.0.0.9").has_value());
}

}  // namespace
}  // namespace datafold::net
