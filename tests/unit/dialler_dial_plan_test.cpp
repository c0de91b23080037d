#include "peers/dial_plan.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using Indices = std::vector<std::size_t>;

constexpr auto kStagger = 250ms;
constexpr auto kBudget = 20'000ms;  // connect + handshake timeout

struct DialPlanTest : ::testing::Test {
  DialPlan::TimePoint start = DialPlan::TimePoint{} + 1000h;
  DialPlan::TimePoint at(std::chrono::milliseconds offset) const { return start + offset; }
};

TEST_F(DialPlanTest, StartsTheFirstAddressAtOnceAndEachNextAStaggerAfterThePrevious) {
  DialPlan plan(3, kStagger, start, kBudget);
  EXPECT_EQ(plan.due(at(0ms)), Indices{0});
  EXPECT_EQ(plan.due(at(0ms)), Indices{}) << "each attempt is started once";
  EXPECT_EQ(plan.next_wakeup(at(0ms)), at(250ms));
  EXPECT_EQ(plan.due(at(249ms)), Indices{});
  EXPECT_EQ(plan.due(at(250ms)), Indices{1});
  EXPECT_EQ(plan.next_wakeup(at(250ms)), at(500ms));
  // Woken late: what is due starts at once.
  EXPECT_EQ(plan.due(at(600ms)), Indices{2});
  EXPECT_EQ(plan.next_wakeup(at(600ms)), at(20'000ms)) << "nothing left to start: only the deadline";
  EXPECT_EQ(plan.running(), (Indices{0, 1, 2}));
  EXPECT_FALSE(plan.finished(at(19'999ms)));
}

TEST_F(DialPlanTest, AFailureStartsTheNextAddressAtOnce) {
  DialPlan plan(3, kStagger, start, kBudget);
  ASSERT_EQ(plan.due(at(0ms)), Indices{0});
  plan.on_failed(0, make_error(ErrorKind::Connection, "connection refused"), at(10ms));
  EXPECT_EQ(plan.next_wakeup(at(10ms)), at(10ms));
  EXPECT_EQ(plan.due(at(10ms)), Indices{1});
  // Attempt 1 hangs; attempt 2 comes a stagger after it started.
  EXPECT_EQ(plan.due(at(200ms)), Indices{});
  EXPECT_EQ(plan.due(at(260ms)), Indices{2});
}

TEST_F(DialPlanTest, TheFirstSuccessWinsAndTheRestAreToBeCancelled) {
  DialPlan plan(3, kStagger, start, kBudget);
  ASSERT_EQ(plan.due(at(0ms)), Indices{0});       // a black hole
  ASSERT_EQ(plan.due(at(250ms)), Indices{1});     // good
  ASSERT_EQ(plan.due(at(500ms)), Indices{2});     // also good, slower
  EXPECT_TRUE(plan.on_succeeded(1, at(510ms)));
  EXPECT_TRUE(plan.finished(at(510ms)));
  EXPECT_EQ(plan.winner(), std::optional<std::size_t>(1));
  EXPECT_EQ(plan.running(), (Indices{0, 2}));
  EXPECT_FALSE(plan.on_succeeded(2, at(520ms))) << "decided already: close it";
  EXPECT_EQ(plan.winner(), std::optional<std::size_t>(1));
  EXPECT_EQ(plan.next_wakeup(at(520ms)), std::nullopt);
}

TEST_F(DialPlanTest, NoAddressStartsAfterTheDialIsWon) {
  DialPlan plan(3, kStagger, start, kBudget);
  ASSERT_EQ(plan.due(at(0ms)), Indices{0});
  ASSERT_TRUE(plan.on_succeeded(0, at(20ms)));
  EXPECT_EQ(plan.due(at(1'000ms)), Indices{});
}

TEST_F(DialPlanTest, AllFailedReportsTheMostInformativeError) {
  DialPlan plan(4, kStagger, start, kBudget);
  ASSERT_EQ(plan.due(at(0ms)), Indices{0});
  plan.on_failed(0, make_error(ErrorKind::Timeout, "connecting took too long", ErrorCode::Timeout), at(5ms));
  ASSERT_EQ(plan.due(at(5ms)), Indices{1});
  plan.on_failed(1, make_error(ErrorKind::Connection, "refused"), at(6ms));
  ASSERT_EQ(plan.due(at(6ms)), Indices{2});
  plan.on_failed(2, make_error(ErrorKind::Authentication, "peer is not the node expected"), at(7ms));
  ASSERT_EQ(plan.due(at(7ms)), Indices{3});
  EXPECT_FALSE(plan.finished(at(7ms)));
  plan.on_failed(3, make_error(ErrorKind::Connection, "unreachable"), at(8ms));
  EXPECT_TRUE(plan.finished(at(8ms)));
  EXPECT_FALSE(plan.winner());
  EXPECT_EQ(plan.error().kind, ErrorKind::Authentication);
  EXPECT_EQ(plan.error().message, "peer is not the node expected");
}

TEST_F(DialPlanTest, ConnectionBeatsTimeoutAndTheEarlierAddressWinsATie) {
  DialPlan plan(3, kStagger, start, kBudget);
  ASSERT_EQ(plan.due(at(0ms)), Indices{0});
  plan.on_failed(0, make_error(ErrorKind::Timeout, "slow", ErrorCode::Timeout), at(1ms));
  ASSERT_EQ(plan.due(at(1ms)), Indices{1});
  plan.on_failed(1, make_error(ErrorKind::Connection, "first refusal"), at(2ms));
  ASSERT_EQ(plan.due(at(2ms)), Indices{2});
  plan.on_failed(2, make_error(ErrorKind::Connection, "second refusal"), at(3ms));
  EXPECT_EQ(plan.error().message, "first refusal");
}

TEST_F(DialPlanTest, APeerThatAnsweredAndSaidNoBeatsAnAddressWhereNobodyWas) {
  DialPlan plan(2, kStagger, start, kBudget);
  ASSERT_EQ(plan.due(at(0ms)), Indices{0});
  plan.on_failed(0, make_error(ErrorKind::Connection, "refused"), at(1ms));
  ASSERT_EQ(plan.due(at(1ms)), Indices{1});
  plan.on_failed(1, make_error(ErrorKind::ResourceExhausted, "connection limit reached"), at(2ms));
  EXPECT_EQ(plan.error().kind, ErrorKind::ResourceExhausted);
}

TEST_F(DialPlanTest, TheBudgetEndsTheDialWithATimeout) {
  DialPlan plan(2, kStagger, start, kBudget);
  ASSERT_EQ(plan.due(at(0ms)), Indices{0});
  ASSERT_EQ(plan.due(at(250ms)), Indices{1});
  EXPECT_EQ(plan.next_wakeup(at(250ms)), at(20'000ms));
  EXPECT_TRUE(plan.finished(at(20'000ms)));
  EXPECT_FALSE(plan.on_succeeded(1, at(20'001ms))) << "too late";
  EXPECT_EQ(plan.running(), (Indices{0, 1}));
  const auto error = plan.error();
  EXPECT_EQ(error.kind, ErrorKind::Timeout);
  EXPECT_EQ(error.code, ErrorCode::Timeout);
}

TEST_F(DialPlanTest, OneAddressIsAnOrdinaryDial) {
  DialPlan plan(1, kStagger, start, kBudget);
  ASSERT_EQ(plan.due(at(0ms)), Indices{0});
  EXPECT_EQ(plan.next_wakeup(at(0ms)), at(20'000ms));
  plan.on_failed(0, make_error(ErrorKind::Connection, "cannot connect to 10.0.0.1:9000: refused"), at(3ms));
  EXPECT_TRUE(plan.finished(at(3ms)));
  EXPECT_EQ(plan.error().message, "cannot connect to 10.0.0.1:9000: refused") << "the attempt's own error, unchanged";
}

TEST_F(DialPlanTest, NoStaggerStartsEveryAddressAtOnce) {
  DialPlan plan(3, 0ms, start, kBudget);
  EXPECT_EQ(plan.due(at(0ms)), (Indices{0, 1, 2}));
}

TEST_F(DialPlanTest, NoAddressesFailsAtOnce) {
  DialPlan plan(0, kStagger, start, kBudget);
  EXPECT_TRUE(plan.finished(at(0ms)));
  EXPECT_EQ(plan.due(at(0ms)), Indices{});
  EXPECT_EQ(plan.error().kind, ErrorKind::Discovery);
}

}  // namespace
}  // namespace datafold::net::detail
