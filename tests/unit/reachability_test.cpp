// Reachability with a fake clock: each peer is asked once per interval; one recent
// success makes the node reachable, only failures make it unreachable, answers older
// than two intervals no longer count, and record() says when the verdict changed.
#include "reachability/reachability.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using Status = Reachability::Status;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

NodeId peer(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes{};
  bytes.fill(n);
  return NodeId{bytes};
}

constexpr auto kInterval = 60s;

class ReachabilityTest : public ::testing::Test {
 protected:
  Reachability::Clock::time_point at(std::chrono::milliseconds offset) const { return t0_ + offset; }

  const Reachability::Clock::time_point t0_ = Reachability::Clock::time_point{} + 1h;
  Reachability reachability_{kInterval};
};

TEST_F(ReachabilityTest, UnknownBeforeAnyAnswer) {
  EXPECT_EQ(reachability_.status(at(0ms)), Status::Unknown);
  EXPECT_EQ(reachability_.answers(at(0ms)), 0u);
  EXPECT_THAT(reachability_.reachable_addresses(at(0ms)), IsEmpty());
  reachability_.asked(peer(1), at(0ms));  // asking is not an answer
  EXPECT_EQ(reachability_.status(at(1s)), Status::Unknown);
  EXPECT_EQ(reachability_.answers(at(1s)), 0u);
}

TEST_F(ReachabilityTest, EachPeerIsAskedAtMostOncePerInterval) {
  EXPECT_TRUE(reachability_.should_ask(peer(1), at(0ms)));
  reachability_.asked(peer(1), at(0ms));
  EXPECT_FALSE(reachability_.should_ask(peer(1), at(0ms)));
  EXPECT_FALSE(reachability_.should_ask(peer(1), at(kInterval - 1ms)));
  EXPECT_TRUE(reachability_.should_ask(peer(2), at(1s)));  // another peer is its own
  EXPECT_TRUE(reachability_.should_ask(peer(1), at(kInterval)));
  reachability_.asked(peer(1), at(kInterval));
  EXPECT_FALSE(reachability_.should_ask(peer(1), at(2 * kInterval - 1ms)));
  EXPECT_TRUE(reachability_.should_ask(peer(1), at(2 * kInterval)));
}

TEST_F(ReachabilityTest, AnAnswerFromAPeerNeverAskedStillCountsAndHoldsOffTheNextAsk) {
  EXPECT_TRUE(reachability_.record(peer(1), true, "203.0.113.5:9000", at(0ms)));
  EXPECT_EQ(reachability_.status(at(0ms)), Status::Reachable);
  EXPECT_FALSE(reachability_.should_ask(peer(1), at(1s)));
}

TEST_F(ReachabilityTest, OneFreshSuccessAmongFailuresIsReachable) {
  reachability_.record(peer(1), false, "203.0.113.5:9000", at(0ms));
  reachability_.record(peer(2), false, "203.0.113.5:9000", at(1s));
  EXPECT_EQ(reachability_.status(at(2s)), Status::Unreachable);
  reachability_.record(peer(3), true, "203.0.113.5:9000", at(2s));
  EXPECT_EQ(reachability_.status(at(3s)), Status::Reachable);
  reachability_.record(peer(4), false, "203.0.113.5:9000", at(4s));
  EXPECT_EQ(reachability_.status(at(5s)), Status::Reachable);  // a later failure does not undo it
  EXPECT_EQ(reachability_.answers(at(5s)), 4u);
}

TEST_F(ReachabilityTest, FailuresAloneAreUnreachable) {
  for (std::uint8_t n = 1; n <= 5; ++n) reachability_.record(peer(n), false, "203.0.113.5:9000", at(n * 1s));
  EXPECT_EQ(reachability_.status(at(10s)), Status::Unreachable);
  EXPECT_THAT(reachability_.reachable_addresses(at(10s)), IsEmpty());
}

TEST_F(ReachabilityTest, APeersNewAnswerReplacesItsOld) {
  reachability_.record(peer(1), true, "203.0.113.5:9000", at(0ms));
  EXPECT_EQ(reachability_.status(at(1s)), Status::Reachable);
  reachability_.record(peer(1), false, "203.0.113.5:9000", at(kInterval));
  EXPECT_EQ(reachability_.status(at(kInterval)), Status::Unreachable);
  EXPECT_EQ(reachability_.answers(at(kInterval)), 1u);
}

TEST_F(ReachabilityTest, AnswersOlderThanTwoIntervalsNoLongerCount) {
  reachability_.record(peer(1), true, "203.0.113.5:9000", at(0ms));
  EXPECT_EQ(reachability_.status(at(2 * kInterval - 1ms)), Status::Reachable);
  EXPECT_EQ(reachability_.status(at(2 * kInterval)), Status::Unknown);
  EXPECT_EQ(reachability_.answers(at(2 * kInterval)), 0u);
  EXPECT_THAT(reachability_.reachable_addresses(at(2 * kInterval)), IsEmpty());

  // A stale success beside a fresh failure: unreachable.
  reachability_.record(peer(2), false, "203.0.113.5:9000", at(kInterval));
  EXPECT_EQ(reachability_.status(at(2 * kInterval)), Status::Unreachable);
  // And once the failure is stale too, nothing is known.
  EXPECT_EQ(reachability_.status(at(3 * kInterval)), Status::Unknown);
}

TEST_F(ReachabilityTest, RecordSaysWhenTheStatusChanged) {
  EXPECT_TRUE(reachability_.record(peer(1), false, "203.0.113.5:9000", at(0ms)));   // unknown → unreachable
  EXPECT_FALSE(reachability_.record(peer(2), false, "203.0.113.5:9000", at(1s)));   // still unreachable
  EXPECT_TRUE(reachability_.record(peer(3), true, "203.0.113.5:9000", at(2s)));     // → reachable
  EXPECT_FALSE(reachability_.record(peer(4), true, "203.0.113.5:9000", at(3s)));    // still reachable
  EXPECT_FALSE(reachability_.record(peer(3), false, "203.0.113.5:9000", at(4s)));   // peer 4 still got through
  EXPECT_TRUE(reachability_.record(peer(4), false, "203.0.113.5:9000", at(5s)));    // → unreachable
  // After everything went stale the node is unknown again, so any answer is a change.
  EXPECT_TRUE(reachability_.record(peer(1), true, "203.0.113.5:9000", at(10 * kInterval)));
}

TEST_F(ReachabilityTest, ReachableAddressesAreTheFreshSuccessesSortedOnce) {
  reachability_.record(peer(1), true, "203.0.113.9:9000", at(0ms));
  reachability_.record(peer(2), true, "203.0.113.5:9000", at(kInterval));
  reachability_.record(peer(3), true, "203.0.113.5:9000", at(kInterval));
  reachability_.record(peer(4), false, "198.51.100.1:9000", at(kInterval));
  EXPECT_THAT(reachability_.reachable_addresses(at(kInterval)),
              ElementsAre("203.0.113.5:9000", "203.0.113.9:9000"));
  // Peer 1's success goes stale first.
  EXPECT_THAT(reachability_.reachable_addresses(at(2 * kInterval)), ElementsAre("203.0.113.5:9000"));
}

TEST_F(ReachabilityTest, ManyPeersAreRememberedOnlyUpToABound) {
  // Peers come and go; the node keeps a bounded memory of who it asked.
  for (int n = 0; n < 200; ++n) {
    NodeId id = peer(static_cast<std::uint8_t>(n));
    if (n >= 100) {
      std::array<std::uint8_t, NodeId::kSize> bytes{};
      bytes.fill(static_cast<std::uint8_t>(n));
      bytes[0] = 0xee;
      id = NodeId{bytes};
    }
    reachability_.record(id, false, "203.0.113.5:9000", at(n * 10ms));
  }
  EXPECT_LE(reachability_.answers(at(3s)), 64u);
  EXPECT_GT(reachability_.answers(at(3s)), 0u);
  EXPECT_EQ(reachability_.status(at(3s)), Status::Unreachable);
}

TEST(ReachabilityStatus, HasAName) {
  EXPECT_EQ(to_string(Status::Unknown), "unknown");
  EXPECT_EQ(to_string(Status::Reachable), "reachable");
  EXPECT_EQ(to_string(Status::Unreachable), "unreachable");
}

}  // namespace
}  // namespace datafold::net::detail
