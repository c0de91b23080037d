// ConnectionHealth with a fake clock: when a connection pings, when missed pongs
// kill it, when it is closed for idleness, what RTT it reports.
#include "transport/connection_health.hpp"

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using Action = ConnectionHealth::Action;

constexpr ConnectionHealth::Settings kSettings{.ping_interval = 30s, .idle_timeout = 300s};

class ConnectionHealthTest : public ::testing::Test {
 protected:
  ConnectionHealth::TimePoint t0_{std::chrono::hours(1)};
  ConnectionHealth health_{kSettings, t0_};
  ConnectionHealth::TimePoint at(std::chrono::milliseconds offset) const { return t0_ + offset; }
};

TEST_F(ConnectionHealthTest, TicksComeOnePingIntervalApart) {
  EXPECT_EQ(health_.next_tick(at(5s)), at(35s));
}

TEST_F(ConnectionHealthTest, NoPingWhileThePeerIsHeardFromWithinTheInterval) {
  EXPECT_EQ(health_.on_tick(at(29'999ms), false), Action::None);
  health_.on_received(at(20s));
  EXPECT_EQ(health_.on_tick(at(49s), false), Action::None) << "heard 29 s ago";
  EXPECT_FALSE(health_.ping_outstanding());
}

TEST_F(ConnectionHealthTest, PingsAfterAnIntervalOfSilence) {
  EXPECT_EQ(health_.on_tick(at(30s), false), Action::SendPing);
  EXPECT_TRUE(health_.ping_outstanding());
}

TEST_F(ConnectionHealthTest, OnePingAtATime) {
  ASSERT_EQ(health_.on_tick(at(30s), false), Action::SendPing);
  EXPECT_EQ(health_.on_tick(at(45s), false), Action::None) << "the first has not come back";
  health_.on_received(at(46s));  // the pong's bytes
  health_.on_pong(at(30s), at(46s));
  EXPECT_EQ(health_.on_tick(at(60s), false), Action::None) << "the pong was heard at 46 s";
  EXPECT_EQ(health_.on_tick(at(76s), false), Action::SendPing);
}

TEST_F(ConnectionHealthTest, APongGivesTheRoundTripTime) {
  EXPECT_FALSE(health_.last_rtt());
  ASSERT_EQ(health_.on_tick(at(30s), false), Action::SendPing);
  health_.on_pong(at(30s), at(30s) + 1234us);
  ASSERT_TRUE(health_.last_rtt());
  EXPECT_EQ(*health_.last_rtt(), 1234us);
}

TEST_F(ConnectionHealthTest, ThreeMissedPongsInARowMakeTheConnectionDead) {
  for (int miss = 1; miss <= 3; ++miss) {
    ASSERT_EQ(health_.on_tick(at(miss * 30s), false), Action::SendPing) << "miss " << miss;
    const bool dead = health_.on_pong_missed();
    EXPECT_EQ(dead, miss == 3) << "miss " << miss;
  }
  EXPECT_EQ(health_.missed_pongs(), 3u);
}

TEST_F(ConnectionHealthTest, APongInBetweenStartsTheCountAgain) {
  ASSERT_EQ(health_.on_tick(at(30s), false), Action::SendPing);
  EXPECT_FALSE(health_.on_pong_missed());
  ASSERT_EQ(health_.on_tick(at(60s), false), Action::SendPing);
  EXPECT_FALSE(health_.on_pong_missed());
  ASSERT_EQ(health_.on_tick(at(90s), false), Action::SendPing);
  health_.on_pong(at(90s), at(91s));
  EXPECT_EQ(health_.missed_pongs(), 0u);
  for (int miss = 1; miss <= 2; ++miss) {
    ASSERT_EQ(health_.on_tick(at(91s + miss * 30s), false), Action::SendPing);
    EXPECT_FALSE(health_.on_pong_missed()) << "only " << miss << " since the pong";
  }
}

TEST_F(ConnectionHealthTest, AnAbandonedPingIsNeitherAMissNorAnAnswer) {
  ASSERT_EQ(health_.on_tick(at(30s), false), Action::SendPing);
  health_.on_ping_abandoned();
  EXPECT_FALSE(health_.ping_outstanding());
  EXPECT_EQ(health_.missed_pongs(), 0u);
  EXPECT_FALSE(health_.last_rtt());
}

TEST_F(ConnectionHealthTest, ClosedWhenUnusedForTheIdleTimeout) {
  health_.on_activity(at(100s));
  EXPECT_NE(health_.on_tick(at(399s), false), Action::CloseIdle);
  EXPECT_EQ(health_.on_tick(at(400s), false), Action::CloseIdle);
}

TEST_F(ConnectionHealthTest, NotClosedForIdlenessWhileRequestsAreInFlight) {
  EXPECT_NE(health_.on_tick(at(600s), true), Action::CloseIdle);
  EXPECT_EQ(health_.on_tick(at(600s), false), Action::CloseIdle);
}

TEST_F(ConnectionHealthTest, PingsAndPongsAreNotUse) {
  // Everything received keeps the peer alive, but only requests and replies keep
  // the connection from being closed as unused.
  for (auto t = 30s; t < 300s; t += 30s) {
    if (health_.on_tick(at(t), false) == Action::SendPing) health_.on_pong(at(t), at(t + 10ms));
    health_.on_received(at(t + 10ms));
  }
  EXPECT_EQ(health_.on_tick(at(300s), false), Action::CloseIdle);
}

TEST_F(ConnectionHealthTest, TimeGoingBackwardsChangesNothing) {
  health_.on_received(at(50s));
  health_.on_received(at(10s));
  EXPECT_EQ(health_.last_received(), at(50s));
  health_.on_activity(at(50s));
  health_.on_activity(at(10s));
  EXPECT_EQ(health_.last_activity(), at(50s));
  ASSERT_EQ(health_.on_tick(at(80s), false), Action::SendPing);
  health_.on_pong(at(80s), at(79s));
  EXPECT_EQ(*health_.last_rtt(), 0us) << "never a negative round trip";
}

TEST_F(ConnectionHealthTest, HealthyUntilFourIntervalsOfSilence) {
  EXPECT_EQ(health_.silence_limit(), 120s);
  EXPECT_TRUE(health_.healthy(at(0s), at(119'999ms)));
  EXPECT_FALSE(health_.healthy(at(0s), at(120s)));
}

TEST(ConnectionHealth, AZeroPingIntervalIsTakenAsOneMillisecond) {
  const ConnectionHealth::TimePoint t0{};
  ConnectionHealth health({.ping_interval = 0ms, .idle_timeout = 300s}, t0);
  EXPECT_EQ(health.ping_interval(), 1ms);
  EXPECT_EQ(health.next_tick(t0), t0 + 1ms);
}

}  // namespace
}  // namespace datafold::net::detail
