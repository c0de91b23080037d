// RedialBackoff: exponential waits with jitter, a ceiling, and a reset.
#include "peers/redial_backoff.hpp"

#include <set>

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;

TEST(RedialBackoff, WaitsDoubleWithEachFailureWithinFiftyPercentJitter) {
  const RedialPolicy policy{.initial = 1'000ms, .ceiling = 300'000ms};
  std::mt19937_64 random(7);
  RedialBackoff backoff;
  const auto now = RedialBackoff::Clock::time_point{} + 1h;
  auto nominal = 1'000ms;
  for (int failure = 1; failure <= 6; ++failure) {
    const auto wait = backoff.record_failure(policy, now, random);
    EXPECT_GE(wait, nominal / 2) << failure;
    EXPECT_LE(wait, nominal * 3 / 2) << failure;
    EXPECT_EQ(backoff.failures(), static_cast<std::uint32_t>(failure));
    EXPECT_EQ(backoff.next_attempt(), now + wait);
    nominal *= 2;
  }
}

TEST(RedialBackoff, NeverWaitsBeyondTheCeilingPlusJitterEvenAfterManyFailures) {
  const RedialPolicy policy{.initial = 1'000ms, .ceiling = 60'000ms};
  std::mt19937_64 random(11);
  RedialBackoff backoff;
  const auto now = RedialBackoff::Clock::time_point{} + 1h;
  for (int failure = 0; failure < 200; ++failure) {  // 2^200 would overflow any clock
    const auto wait = backoff.record_failure(policy, now, random);
    EXPECT_LE(wait, 90'000ms);
    EXPECT_GT(wait, 0ms);
  }
}

TEST(RedialBackoff, JitterSpreadsPeersThatFailedTogether) {
  const RedialPolicy policy{};
  std::mt19937_64 random(3);
  const auto now = RedialBackoff::Clock::time_point{} + 1h;
  std::set<std::chrono::milliseconds::rep> waits;
  for (int peer = 0; peer < 20; ++peer) {
    RedialBackoff backoff;
    waits.insert(backoff.record_failure(policy, now, random).count());
  }
  EXPECT_GT(waits.size(), 15u);
}

TEST(RedialBackoff, WaitingUntilTheNextAttemptAndNotAfterAResetOrBeforeAnyFailure) {
  const RedialPolicy policy{.initial = 1'000ms, .ceiling = 10'000ms};
  std::mt19937_64 random(5);
  RedialBackoff backoff;
  const auto now = RedialBackoff::Clock::time_point{} + 1h;
  EXPECT_FALSE(backoff.waiting(now));
  const auto wait = backoff.record_failure(policy, now, random);
  EXPECT_TRUE(backoff.waiting(now));
  EXPECT_TRUE(backoff.waiting(now + wait - 1ms));
  EXPECT_FALSE(backoff.waiting(now + wait));
  backoff.reset();
  EXPECT_FALSE(backoff.waiting(now));
  EXPECT_EQ(backoff.failures(), 0u);
}

}  // namespace
}  // namespace datafold::net::detail
