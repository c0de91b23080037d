// ReputationKeeper with a fake clock and a scratch file: a ban survives a restart
// (a new keeper on the same file) and ends when its time is up; loopback is one
// shared host unless told otherwise; trusted keys are shown, never banned; the
// operator's subjects are node ids or IPs; the minute tick rewards only peers
// without a fault; off means off; addresses are tried best-scored host first.
#include "peers/reputation_keeper.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using KeeperClock = ReputationKeeper::Clock;

NodeId keeper_node(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes;
  bytes.fill(n);
  return NodeId(bytes);
}

class ReputationKeeperTest : public ::testing::Test {
 protected:
  ReputationKeeperTest()
      : dir_(std::filesystem::temp_directory_path() / ("datafold-keeper-" + Uuid::random().to_string())) {
    std::filesystem::create_directories(dir_);
    settings_.file = (dir_ / "reputation").string();
  }
  ~ReputationKeeperTest() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::unique_ptr<ReputationKeeper> keeper(ReputationKeeper::TrustedFn trusted = {}) {
    return std::make_unique<ReputationKeeper>(settings_, std::move(trusted), [this] { return now_; });
  }

  std::filesystem::path dir_;
  ReputationSettings settings_;
  KeeperClock::time_point now_ = KeeperClock::time_point{} + std::chrono::hours(24 * 365 * 50);
};

TEST_F(ReputationKeeperTest, ABanSurvivesARestartAndEndsWhenItsTimeIsUp) {
  const auto bad = keeper_node(1);
  {
    auto first = keeper();
    for (int i = 0; i < 6; ++i) first->record(PeerEvent::ProtocolViolation, bad, "198.51.100.7");
    EXPECT_TRUE(first->refuse_node(bad));
    EXPECT_TRUE(first->refuse_ip("198.51.100.7"));
    ASSERT_TRUE(first->save_if_changed().ok());
  }
  auto restarted = keeper();
  ASSERT_TRUE(restarted->load().ok());
  EXPECT_TRUE(restarted->refuse_node(bad)) << "the ban outlives the process";
  EXPECT_TRUE(restarted->refuse_ip("198.51.100.7"));
  EXPECT_EQ(restarted->state(bad, "198.51.100.7"), PeerState::Banned);

  now_ += settings_.ban_duration + 1s;
  EXPECT_FALSE(restarted->refuse_node(bad)) << "the ban ends when its time is up";
  EXPECT_FALSE(restarted->refuse_ip("198.51.100.7"));
  // The score it earned has decayed by the hour but is still low: avoided, not banned.
  EXPECT_EQ(restarted->state(bad, ""), PeerState::Avoided);
  now_ += 6 * settings_.half_life;
  EXPECT_EQ(restarted->state(bad, ""), PeerState::Neutral);
}

TEST_F(ReputationKeeperTest, LoopbackIsOneSharedHostUnlessToldOtherwise) {
  auto shared = keeper();
  for (int i = 0; i < 6; ++i) shared->record(PeerEvent::ProtocolViolation, keeper_node(2), "127.0.0.2");
  EXPECT_FALSE(shared->refuse_ip("127.0.0.2")) << "a local tool's faults do not lock out every local peer";
  EXPECT_TRUE(shared->refuse_node(keeper_node(2)));
  EXPECT_EQ(shared->state(keeper_node(3), "127.0.0.2"), PeerState::Neutral);

  settings_.charge_loopback_addresses = true;
  settings_.file.clear();
  auto separate = keeper();
  for (int i = 0; i < 6; ++i) separate->record(PeerEvent::ProtocolViolation, keeper_node(2), "127.0.0.2");
  EXPECT_TRUE(separate->refuse_ip("127.0.0.2"));
  EXPECT_EQ(separate->state(keeper_node(3), "127.0.0.2"), PeerState::Banned) << "a new key from the host starts banned";
}

TEST_F(ReputationKeeperTest, ATrustedKeyIsShownNotBannedAndTheOperatorCanStillBanIt) {
  const auto friend_node = keeper_node(4);
  auto kept = keeper([&](const NodeId& id) { return id == friend_node; });
  for (int i = 0; i < 10; ++i) kept->record(PeerEvent::ForgedAnnouncement, friend_node, "203.0.113.4");
  EXPECT_FALSE(kept->refuse_node(friend_node));
  EXPECT_FALSE(kept->refuse_ip("203.0.113.4")) << "a trusted key's faults are not its address's";
  EXPECT_EQ(kept->state(friend_node, "203.0.113.4"), PeerState::WouldBeBanned);
  EXPECT_FALSE(kept->avoided(friend_node)) << "the operator chose it: it is still dialled";
  ASSERT_TRUE(kept->ban(friend_node.to_string(), 60s).ok());
  EXPECT_TRUE(kept->refuse_node(friend_node));
  EXPECT_EQ(kept->state(friend_node, ""), PeerState::Banned);
}

TEST_F(ReputationKeeperTest, TheOperatorsSubjectsAreNodeIdsOrIps) {
  auto kept = keeper();
  EXPECT_TRUE(kept->ban("2001:db8:1:2::99", 60s).ok());
  EXPECT_TRUE(kept->refuse_ip("2001:db8:1:2::1")) << "an IPv6 ban covers its /64";
  auto found = kept->unban("2001:db8:1:2::/64");
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(*found);
  EXPECT_FALSE(kept->refuse_ip("2001:db8:1:2::1"));
  for (const char* bad : {"", "bob", "1.2.3", "2001:db8::/48"}) {
    auto refused = kept->ban(bad, 60s);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().kind, ErrorKind::Config);
  }
  EXPECT_FALSE(kept->ban("198.51.100.1", 0s).ok());
  auto nothing = kept->reset(keeper_node(9).to_string());
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(*nothing);
}

TEST_F(ReputationKeeperTest, TheTickRewardsPeersConnectedWithoutAFault) {
  auto kept = keeper();
  kept->record(PeerEvent::RateLimitHit, keeper_node(5), "192.0.2.5");
  for (int minute = 0; minute < 20; ++minute) kept->tick_connected({{keeper_node(5), "192.0.2.5"}, {keeper_node(6), "192.0.2.6"}});
  // keeper_node(5) missed its first minute's credit (it had a fault then); keeper_node(6) had them all.
  EXPECT_NEAR(kept->score(keeper_node(6), ""), 2.0, 1e-9);
  EXPECT_NEAR(kept->score(keeper_node(5), ""), -0.5 + 1.9, 1e-9);
  EXPECT_EQ(kept->state(keeper_node(6), ""), PeerState::Good);
}

TEST_F(ReputationKeeperTest, OffRecordsAndRefusesNothing) {
  settings_.enabled = false;
  auto off = keeper();
  for (int i = 0; i < 10; ++i) off->record(PeerEvent::ProtocolViolation, keeper_node(7), "192.0.2.7");
  EXPECT_FALSE(off->refuse_node(keeper_node(7)));
  EXPECT_FALSE(off->refuse_ip("192.0.2.7"));
  EXPECT_TRUE(off->entries().empty());
  EXPECT_FALSE(off->ban("192.0.2.7", 60s).ok());
  ASSERT_TRUE(off->save_if_changed().ok());
  EXPECT_FALSE(std::filesystem::exists(settings_.file)) << "nothing written when off";
}

TEST_F(ReputationKeeperTest, AddressesAreOrderedBestScoredHostFirstWithAvoidedAndBannedHostsLast) {
  settings_.file.clear();
  auto scores = keeper();
  auto host_of = [](const std::string& address) { return address.substr(0, address.find(':')); };
  const std::vector<std::string> addresses = {"198.51.100.1:4000", "198.51.100.2:4000", "198.51.100.3:4000",
                                              "198.51.100.4:4000"};
  EXPECT_EQ(scores->order_by_host(addresses, host_of), addresses) << "all neutral: the given order stands";

  ASSERT_TRUE(scores->ban("198.51.100.1", 600s).ok());                      // banned
  scores->record(PeerEvent::ForgedAnnouncement, std::nullopt, "198.51.100.2");  // -25: avoided
  scores->record(PeerEvent::ConnectedMinute, std::nullopt, "198.51.100.4", 30);  // +3: good
  scores->record(PeerEvent::Timeout, std::nullopt, "198.51.100.3");              // -0.25: neutral
  const std::vector<std::string> expected = {"198.51.100.4:4000", "198.51.100.3:4000", "198.51.100.1:4000",
                                             "198.51.100.2:4000"};
  EXPECT_EQ(scores->order_by_host(addresses, host_of), expected)
      << "good, then neutral, then the avoided and banned hosts in their given order";

  settings_.enabled = false;
  auto off = keeper();
  EXPECT_EQ(off->order_by_host(addresses, host_of), addresses) << "reputation off: no reordering";
}

}  // namespace
}  // namespace datafold::net::detail
