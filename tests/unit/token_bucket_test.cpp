// TokenBucket: bursts pass, floods are cut to the rate, and it refills.
#include "core/token_bucket.hpp"

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, ABurstUpToItsSizePassesThenTheExcessIsRefused) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(10, 5, t0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.try_take(t0)) << i;
  EXPECT_FALSE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.full(t0));
}

TEST(TokenBucket, RefillsAtItsRateAndNeverAboveItsSize) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(10, 5, t0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0 + 50ms));  // half a token
  EXPECT_TRUE(bucket.try_take(t0 + 100ms));  // one
  EXPECT_FALSE(bucket.try_take(t0 + 100ms));
  EXPECT_TRUE(bucket.full(t0 + 1h));
  int taken = 0;
  while (bucket.try_take(t0 + 1h)) ++taken;
  EXPECT_EQ(taken, 5);  // an hour of quiet buys one burst, not 36 000 requests
}

TEST(TokenBucket, SustainedTrafficIsHeldToTheRate) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(100, 10, t0);
  int admitted = 0;
  for (int ms = 0; ms < 10'000; ++ms) {  // 10 requests per ms for 10 s
    for (int i = 0; i < 10; ++i) admitted += bucket.try_take(t0 + std::chrono::milliseconds(ms)) ? 1 : 0;
  }
  EXPECT_GE(admitted, 1'000);  // 100/s × 10 s, plus the first burst
  EXPECT_LE(admitted, 1'011);
}

TEST(TokenBucket, ClockGoingBackwardsGivesNothingAway) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(10, 1, t0);
  ASSERT_TRUE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0 - 10s));
  EXPECT_FALSE(bucket.try_take(t0));
}

}  // namespace
}  // namespace datafold::net::detail

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, TakeOwingServesPastTheBurstAndSaysHowLongTheDebtTakesToPay) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(10, 2, t0);
  EXPECT_EQ(bucket.take_owing(t0), TokenBucket::Clock::duration::zero());
  EXPECT_EQ(bucket.take_owing(t0), TokenBucket::Clock::duration::zero());
  EXPECT_EQ(bucket.take_owing(t0), std::chrono::duration_cast<TokenBucket::Clock::duration>(100ms));
  EXPECT_EQ(bucket.take_owing(t0), std::chrono::duration_cast<TokenBucket::Clock::duration>(200ms));
  EXPECT_FALSE(bucket.try_take(t0 + 150ms));  // still in debt
  EXPECT_TRUE(bucket.try_take(t0 + 300ms));   // paid, and one token refilled
  // The debt is bounded by the burst: a flood cannot owe for ever.
  for (int i = 0; i < 100; ++i) bucket.take_owing(t0 + 300ms);
  EXPECT_EQ(bucket.take_owing(t0 + 300ms), std::chrono::duration_cast<TokenBucket::Clock::duration>(200ms));
  EXPECT_TRUE(bucket.full(t0 + 1h));
}

}  // namespace
}  // namespace datafold::net::detail
