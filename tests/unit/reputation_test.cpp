// Reputation with a fake clock: faults sink a peer to avoided and banned, good
// behaviour lifts it, scores decay toward neutral, bans end, a new key from a
// banned address starts from its penalty, trusted keys are never banned.
#include "peers/reputation.hpp"

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using ScoreClock = Reputation::Clock;

NodeId scored_node(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes;
  bytes.fill(n);
  return NodeId(bytes);
}

const ScoreClock::time_point kScoreStart = ScoreClock::time_point{} + std::chrono::hours(24 * 365 * 50);

TEST(Reputation, APeerThatSendsGarbageSinksToAvoidedThenBanned) {
  Reputation reputation;
  const auto bad = scored_node(1);
  reputation.record(PeerEvent::ProtocolViolation, bad, "10.0.0.1", false, kScoreStart);
  EXPECT_EQ(reputation.state(bad, "10.0.0.1", false, kScoreStart), PeerState::Neutral);
  reputation.record(PeerEvent::ProtocolViolation, bad, "10.0.0.1", false, kScoreStart);
  reputation.record(PeerEvent::ProtocolViolation, bad, "10.0.0.1", false, kScoreStart);
  EXPECT_EQ(reputation.state(bad, "10.0.0.1", false, kScoreStart), PeerState::Avoided);
  for (int i = 0; i < 3; ++i) reputation.record(PeerEvent::ProtocolViolation, bad, "10.0.0.1", false, kScoreStart);
  EXPECT_EQ(reputation.state(bad, "10.0.0.1", false, kScoreStart), PeerState::Banned);
  EXPECT_TRUE(reputation.node_banned(bad, kScoreStart));
  EXPECT_TRUE(reputation.ip_banned("10.0.0.1", kScoreStart));
  EXPECT_FALSE(reputation.ip_banned("10.0.0.2", kScoreStart));
  EXPECT_EQ(reputation.event_counts()[static_cast<std::size_t>(PeerEvent::ProtocolViolation)], 6u);
}

TEST(Reputation, AWellBehavedPeerRisesToGoodButCannotBankUnlimitedCredit) {
  Reputation reputation;
  const auto good = scored_node(2);
  for (int i = 0; i < 10'000; ++i) reputation.record(PeerEvent::AnsweredRequest, good, "10.0.0.2", false, kScoreStart);
  EXPECT_EQ(reputation.state(good, "10.0.0.2", false, kScoreStart), PeerState::Good);
  EXPECT_DOUBLE_EQ(reputation.score(good, "10.0.0.2", kScoreStart), reputation.policy().max_score);
  // Its answers earned its address nothing.
  EXPECT_DOUBLE_EQ(reputation.score(std::nullopt, "10.0.0.2", kScoreStart), 0);
}

TEST(Reputation, TheBanEndsWhenItsTimeIsUpAndTheScoreDecaysTowardNeutral) {
  Reputation reputation;
  const auto bad = scored_node(3);
  reputation.record(PeerEvent::ForgedAnnouncement, bad, "10.0.0.3", false, kScoreStart);
  reputation.record(PeerEvent::ForgedAnnouncement, bad, "10.0.0.3", false, kScoreStart);
  reputation.record(PeerEvent::ForgedAnnouncement, bad, "10.0.0.3", false, kScoreStart);
  ASSERT_EQ(reputation.state(bad, "10.0.0.3", false, kScoreStart), PeerState::Banned);
  const auto ban = reputation.policy().ban_duration;
  EXPECT_EQ(reputation.state(bad, "10.0.0.3", false, kScoreStart + ban - 1s), PeerState::Banned);
  // Past the ban, one half-life later: -75 halved (the address's penalty is the
  // key's own doing, not counted twice).
  const auto later = kScoreStart + ban;
  EXPECT_FALSE(reputation.node_banned(bad, later));
  EXPECT_NEAR(reputation.score(bad, "10.0.0.3", later), -37.5, 1e-6);
  EXPECT_EQ(reputation.state(bad, "10.0.0.3", false, later), PeerState::Avoided);
  const auto much_later = kScoreStart + 10 * reputation.policy().half_life;
  EXPECT_EQ(reputation.state(bad, "10.0.0.3", false, much_later), PeerState::Neutral);
}

TEST(Reputation, ANewKeyFromABannedAddressIsBannedAndFromAPenalisedOneStartsBelowNeutral) {
  Reputation reputation;
  for (int i = 0; i < 6; ++i) reputation.record(PeerEvent::ProtocolViolation, scored_node(4), "10.0.0.4", false, kScoreStart);
  ASSERT_TRUE(reputation.ip_banned("10.0.0.4", kScoreStart));
  EXPECT_EQ(reputation.state(scored_node(5), "10.0.0.4", false, kScoreStart), PeerState::Banned);

  reputation.record(PeerEvent::ProtocolViolation, scored_node(6), "10.0.0.6", false, kScoreStart);
  EXPECT_DOUBLE_EQ(reputation.score(scored_node(7), "10.0.0.6", kScoreStart), weight_of(PeerEvent::ProtocolViolation));
}

TEST(Reputation, IPv6AddressesAreChargedPerSlash64) {
  EXPECT_EQ(Reputation::block_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(Reputation::block_of("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(Reputation::block_of("not an ip"), "");
  Reputation reputation;
  for (int i = 0; i < 6; ++i)
    reputation.record(PeerEvent::ProtocolViolation, scored_node(8), "2001:db8:1:2::" + std::to_string(i + 1), false, kScoreStart);
  EXPECT_TRUE(reputation.ip_banned("2001:db8:1:2:ffff::9", kScoreStart));
  EXPECT_FALSE(reputation.ip_banned("2001:db8:1:3::1", kScoreStart));
}

TEST(Reputation, ATrustedKeyIsNeverBannedAutomaticallyButShownAsWouldBe) {
  Reputation reputation;
  const auto friend_node = scored_node(9);
  for (int i = 0; i < 20; ++i) reputation.record(PeerEvent::ProtocolViolation, friend_node, "10.0.0.9", true, kScoreStart);
  EXPECT_FALSE(reputation.node_banned(friend_node, kScoreStart));
  EXPECT_FALSE(reputation.ip_banned("10.0.0.9", kScoreStart));
  EXPECT_EQ(reputation.state(friend_node, "10.0.0.9", true, kScoreStart), PeerState::WouldBeBanned);
}

TEST(Reputation, TheOperatorBansUnbansAndResets) {
  Reputation reputation;
  reputation.ban_node(scored_node(10), 60s, kScoreStart);
  EXPECT_EQ(reputation.state(scored_node(10), "", false, kScoreStart), PeerState::Banned);
  EXPECT_EQ(reputation.state(scored_node(10), "", false, kScoreStart + 61s), PeerState::Avoided);  // the score stays low
  EXPECT_TRUE(reputation.unban_node(scored_node(10)));
  EXPECT_EQ(reputation.state(scored_node(10), "", false, kScoreStart), PeerState::Neutral);
  reputation.ban_ip("10.0.0.10", 60s, kScoreStart);
  EXPECT_TRUE(reputation.ip_banned("10.0.0.10", kScoreStart));
  EXPECT_TRUE(reputation.reset_ip("10.0.0.10"));
  EXPECT_FALSE(reputation.ip_banned("10.0.0.10", kScoreStart));
  EXPECT_FALSE(reputation.reset_node(scored_node(11)));
}

TEST(Reputation, EntriesRestoreIntoTheSameStateAndABanSurvives) {
  Reputation before;
  for (int i = 0; i < 6; ++i) before.record(PeerEvent::ProtocolViolation, scored_node(12), "10.0.0.12", false, kScoreStart);
  before.record(PeerEvent::AnsweredRequest, scored_node(13), "10.0.0.13", false, kScoreStart);
  Reputation after;
  after.restore(before.entries(), kScoreStart + 10s);
  EXPECT_EQ(after.state(scored_node(12), "10.0.0.12", false, kScoreStart + 10s), PeerState::Banned);
  EXPECT_NEAR(after.score(scored_node(13), "10.0.0.13", kScoreStart + 10s), before.score(scored_node(13), "10.0.0.13", kScoreStart + 10s), 1e-9);
}

TEST(Reputation, PastItsSizeTheEntriesNearestNeutralAreForgottenFirst) {
  ReputationPolicy policy;
  policy.max_entries = 8;
  Reputation reputation(policy);
  for (int i = 0; i < 6; ++i) reputation.record(PeerEvent::ProtocolViolation, scored_node(14), "", false, kScoreStart);
  for (std::uint8_t n = 20; n < 40; ++n) reputation.record(PeerEvent::Timeout, scored_node(n), "", false, kScoreStart);
  EXPECT_LE(reputation.entries().size(), 8u);
  EXPECT_TRUE(reputation.node_banned(scored_node(14), kScoreStart));
}

}  // namespace
}  // namespace datafold::net::detail
