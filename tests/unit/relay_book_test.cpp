// RelayBook with a fake clock: reservations (renewed, moved to a newer connection,
// limited in all and per IP, released with their connection), circuits (refused
// without a reservation, to oneself, past each limit, on a reused token), joins
// (first, second, nothing after), and circuits that are never joined expiring.
#include "relay/relay_book.hpp"

#include <string>

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using ResponseStatus = RelayResponseMessage::Status;
using Join = RelayBook::Join;

NodeId relay_node(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes{};
  bytes.fill(n);
  return NodeId{bytes};
}

RelayToken token(std::uint8_t n) {
  RelayToken out{};
  out.fill(n);
  return out;
}

std::string ip(int n) { return "198.51.100." + std::to_string(n); }

RelayLimits small_limits() {
  RelayLimits limits;
  limits.max_reservations = 4;
  limits.max_reservations_per_ip = 2;
  limits.max_circuits = 4;
  limits.max_circuits_per_peer = 2;
  limits.join_timeout = 10s;
  return limits;
}

class RelayBookTest : public ::testing::Test {
 protected:
  // Node n reserves from IP n on connection (holder) n.
  bool reserve(std::uint8_t n) { return book_.reserve(relay_node(n), ip(n), n).ok; }
  RelayBook::Offer open(std::uint8_t caller, std::uint8_t target, std::uint8_t t,
                        std::chrono::milliseconds at = 0ms) {
    return book_.open_circuit(relay_node(caller), relay_node(target), token(t), t0_ + at);
  }

  const RelayBook::Clock::time_point t0_ = RelayBook::Clock::time_point{} + 1h;
  RelayBook book_{small_limits()};
};

// ------------------------------------------------------------------ reservations

TEST_F(RelayBookTest, AReservationIsHeldOnTheConnectionThatAskedForIt) {
  EXPECT_EQ(book_.reservations(), 0u);
  EXPECT_FALSE(book_.holder_of(relay_node(1)));
  EXPECT_TRUE(reserve(1));
  EXPECT_EQ(book_.reservations(), 1u);
  ASSERT_TRUE(book_.holder_of(relay_node(1)));
  EXPECT_EQ(*book_.holder_of(relay_node(1)), 1u);
}

TEST_F(RelayBookTest, AskingAgainRenewsWithoutTakingASecondSlot) {
  ASSERT_TRUE(reserve(1));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(reserve(1)) << i;
  EXPECT_EQ(book_.reservations(), 1u);
  EXPECT_EQ(book_.counters().reservations_refused, 0u);
}

TEST_F(RelayBookTest, ANewerConnectionTakesTheReservationOverAndTheOldOnesCloseLeavesIt) {
  ASSERT_TRUE(book_.reserve(relay_node(1), ip(1), 100).ok);
  ASSERT_TRUE(book_.reserve(relay_node(1), ip(1), 200).ok);  // the node reconnected
  EXPECT_EQ(book_.reservations(), 1u);
  EXPECT_EQ(*book_.holder_of(relay_node(1)), 200u);
  // The old connection closing must not take the reservation with it.
  book_.release(100);
  ASSERT_TRUE(book_.holder_of(relay_node(1)));
  EXPECT_EQ(*book_.holder_of(relay_node(1)), 200u);
  book_.release(200);
  EXPECT_FALSE(book_.holder_of(relay_node(1)));
  EXPECT_EQ(book_.reservations(), 0u);
}

TEST_F(RelayBookTest, PastMaxReservationsNewNodesAreRefusedButHoldersStillRenew) {
  for (std::uint8_t n = 1; n <= 4; ++n) ASSERT_TRUE(reserve(n)) << int(n);
  auto refused = book_.reserve(relay_node(5), ip(5), 5);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.why.find("4 reservations"), std::string::npos) << refused.why;
  EXPECT_EQ(book_.reservations(), 4u);
  EXPECT_EQ(book_.counters().reservations_refused, 1u);
  EXPECT_TRUE(reserve(2));  // a holder renewing is not a new reservation
  // One leaves; a newcomer fits.
  book_.release(3);
  EXPECT_TRUE(reserve(5));
  EXPECT_EQ(book_.reservations(), 4u);
}

TEST_F(RelayBookTest, PastTheLimitPerIpMoreNodesFromThatIpAreRefusedOthersNot) {
  const std::string shared_ip = ip(9);
  EXPECT_TRUE(book_.reserve(relay_node(1), shared_ip, 1).ok);
  EXPECT_TRUE(book_.reserve(relay_node(2), shared_ip, 2).ok);
  auto refused = book_.reserve(relay_node(3), shared_ip, 3);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.why.find(shared_ip), std::string::npos) << refused.why;
  EXPECT_EQ(book_.counters().reservations_refused, 1u);
  EXPECT_TRUE(book_.reserve(relay_node(3), ip(3), 3).ok);  // the same node from another IP
  EXPECT_TRUE(book_.reserve(relay_node(1), shared_ip, 1).ok);  // a renewal from the full IP
  book_.release(2);
  EXPECT_TRUE(book_.reserve(relay_node(4), shared_ip, 4).ok);  // room again
}

// Moving a reservation to a connection from another IP must count against that
// IP: otherwise a host with two addresses fills the relay past the per-IP limit
// (reserve from A, move to B, repeat). RelayBook::reserve() replaces the entry
// without looking at the new IP (src/relay/relay_book.cpp, the renewal branch).
// Disabled until that is fixed; run with --gtest_also_run_disabled_tests.
TEST_F(RelayBookTest, AReservationMovedToAnotherIpCountsAgainstThatIpsLimit) {
  const std::string a = ip(10);
  const std::string b = ip(11);
  ASSERT_TRUE(book_.reserve(relay_node(1), b, 1).ok);
  ASSERT_TRUE(book_.reserve(relay_node(2), b, 2).ok);  // b is full
  ASSERT_TRUE(book_.reserve(relay_node(3), a, 3).ok);
  EXPECT_FALSE(book_.reserve(relay_node(3), b, 4).ok) << "a third reservation now counts from " << b;
}

TEST_F(RelayBookTest, ReleaseDropsOnlyTheReservationsOfThatConnection) {
  ASSERT_TRUE(reserve(1));
  ASSERT_TRUE(reserve(2));
  book_.release(1);
  EXPECT_FALSE(book_.holder_of(relay_node(1)));
  EXPECT_TRUE(book_.holder_of(relay_node(2)));
  book_.release(77);  // never held anything
  EXPECT_EQ(book_.reservations(), 1u);
}

// ------------------------------------------------------------------ opening circuits

TEST_F(RelayBookTest, ACircuitToANodeWithoutAReservationIsNoReservation) {
  auto offer = open(1, 2, 1);
  EXPECT_EQ(offer.status, ResponseStatus::NoReservation);
  EXPECT_FALSE(offer.why.empty());
  EXPECT_EQ(book_.circuits(), 0u);
  EXPECT_EQ(book_.counters().circuits_refused, 1u);
}

TEST_F(RelayBookTest, ACircuitToAReservedNodeNamesTheConnectionToInvite) {
  ASSERT_TRUE(book_.reserve(relay_node(2), ip(2), 42).ok);
  auto offer = open(1, 2, 1);
  EXPECT_EQ(offer.status, ResponseStatus::Ok);
  EXPECT_EQ(offer.target_holder, 42u);
  EXPECT_EQ(book_.circuits(), 1u);
  EXPECT_EQ(book_.circuits_running(), 0u);  // opened, not yet joined
  EXPECT_EQ(book_.counters().circuits_refused, 0u);
}

TEST_F(RelayBookTest, ACircuitToOneselfIsRefused) {
  ASSERT_TRUE(reserve(1));
  auto offer = open(1, 1, 1);
  EXPECT_EQ(offer.status, ResponseStatus::Refused);
  EXPECT_NE(offer.why.find("oneself"), std::string::npos) << offer.why;
  EXPECT_EQ(book_.circuits(), 0u);
  EXPECT_EQ(book_.counters().circuits_refused, 1u);
}

TEST_F(RelayBookTest, PastMaxCircuitsMoreAreRefusedUntilOneEnds) {
  for (std::uint8_t n = 1; n <= 4; ++n) ASSERT_TRUE(reserve(n));
  // Four circuits between different pairs, so no per-peer limit is reached.
  ASSERT_EQ(open(10, 1, 1).status, ResponseStatus::Ok);
  ASSERT_EQ(open(11, 2, 2).status, ResponseStatus::Ok);
  ASSERT_EQ(open(12, 3, 3).status, ResponseStatus::Ok);
  ASSERT_EQ(open(13, 4, 4).status, ResponseStatus::Ok);
  auto offer = open(14, 1, 5);
  EXPECT_EQ(offer.status, ResponseStatus::Refused);
  EXPECT_NE(offer.why.find("4 circuits"), std::string::npos) << offer.why;
  EXPECT_EQ(book_.circuits(), 4u);
  book_.end(token(2));
  EXPECT_EQ(open(14, 1, 5).status, ResponseStatus::Ok);
  EXPECT_EQ(book_.counters().circuits_refused, 1u);
}

TEST_F(RelayBookTest, PastMaxCircuitsPerPeerACallerIsRefused) {
  ASSERT_TRUE(reserve(2));
  ASSERT_TRUE(reserve(3));
  ASSERT_TRUE(reserve(4));
  ASSERT_EQ(open(1, 2, 1).status, ResponseStatus::Ok);
  ASSERT_EQ(open(1, 3, 2).status, ResponseStatus::Ok);
  auto offer = open(1, 4, 3);  // node 1's third, to a target with none
  EXPECT_EQ(offer.status, ResponseStatus::Refused);
  EXPECT_NE(offer.why.find(relay_node(1).short_string()), std::string::npos) << offer.why;
  EXPECT_EQ(open(5, 4, 4).status, ResponseStatus::Ok);  // another caller to that target is fine
}

TEST_F(RelayBookTest, PastMaxCircuitsPerPeerATargetIsRefused) {
  ASSERT_TRUE(reserve(9));
  ASSERT_EQ(open(1, 9, 1).status, ResponseStatus::Ok);
  ASSERT_EQ(open(2, 9, 2).status, ResponseStatus::Ok);
  auto offer = open(3, 9, 3);  // a fresh caller, to a target with two
  EXPECT_EQ(offer.status, ResponseStatus::Refused);
  EXPECT_NE(offer.why.find(relay_node(9).short_string()), std::string::npos) << offer.why;
  // A node's circuits as caller and as target count together: node 1 calls node 9
  // once, is called once, and a third is one too many.
  ASSERT_TRUE(reserve(1));
  EXPECT_EQ(open(4, 1, 4).status, ResponseStatus::Ok);
  EXPECT_EQ(open(5, 1, 5).status, ResponseStatus::Refused);
  book_.end(token(1));
  EXPECT_EQ(open(3, 9, 3).status, ResponseStatus::Ok);
}

TEST_F(RelayBookTest, ATokenAlreadyInUseIsRefused) {
  ASSERT_TRUE(reserve(2));
  ASSERT_TRUE(reserve(3));
  ASSERT_EQ(open(1, 2, 7).status, ResponseStatus::Ok);
  auto offer = open(4, 3, 7);
  EXPECT_EQ(offer.status, ResponseStatus::Refused);
  EXPECT_NE(offer.why.find("token"), std::string::npos) << offer.why;
  EXPECT_EQ(book_.circuits(), 1u);
  // The first circuit is untouched: both its ends can still join.
  EXPECT_EQ(book_.join(token(7)), Join::First);
  EXPECT_EQ(book_.join(token(7)), Join::Second);
}

TEST_F(RelayBookTest, ACancelledCircuitFreesItsSlotAndItsTokenJoinsNothing) {
  ASSERT_TRUE(reserve(2));
  ASSERT_EQ(open(1, 2, 1).status, ResponseStatus::Ok);
  book_.cancel(token(1));
  EXPECT_EQ(book_.circuits(), 0u);
  EXPECT_EQ(book_.join(token(1)), Join::Unknown);
}

// ------------------------------------------------------------------ joining

TEST_F(RelayBookTest, TheFirstJoinWaitsTheSecondSplicesAThirdIsUnknown) {
  ASSERT_TRUE(reserve(2));
  ASSERT_EQ(open(1, 2, 1).status, ResponseStatus::Ok);
  EXPECT_EQ(book_.join(token(1)), Join::First);
  EXPECT_EQ(book_.circuits_running(), 0u);
  EXPECT_EQ(book_.counters().circuits_opened, 0u);
  EXPECT_EQ(book_.join(token(1)), Join::Second);
  EXPECT_EQ(book_.circuits_running(), 1u);
  EXPECT_EQ(book_.counters().circuits_opened, 1u);
  EXPECT_EQ(book_.join(token(1)), Join::Unknown);
  EXPECT_EQ(book_.counters().joins_refused, 1u);
  EXPECT_EQ(book_.circuits_running(), 1u);  // the running circuit is not disturbed
  EXPECT_EQ(book_.counters().circuits_opened, 1u);
}

TEST_F(RelayBookTest, ATokenNeverIssuedIsUnknown) {
  EXPECT_EQ(book_.join(token(5)), Join::Unknown);
  EXPECT_EQ(book_.join(RelayToken{}), Join::Unknown);
  EXPECT_EQ(book_.counters().joins_refused, 2u);
  EXPECT_EQ(book_.circuits(), 0u);
}

TEST_F(RelayBookTest, EndingARunningCircuitFreesItsSlots) {
  ASSERT_TRUE(reserve(9));
  ASSERT_EQ(open(1, 9, 1).status, ResponseStatus::Ok);
  ASSERT_EQ(open(2, 9, 2).status, ResponseStatus::Ok);
  ASSERT_EQ(book_.join(token(1)), Join::First);
  ASSERT_EQ(book_.join(token(1)), Join::Second);
  ASSERT_EQ(open(3, 9, 3).status, ResponseStatus::Refused);  // target 9 is at its limit
  book_.end(token(1));
  EXPECT_EQ(book_.circuits(), 1u);
  EXPECT_EQ(book_.circuits_running(), 0u);
  EXPECT_EQ(book_.join(token(1)), Join::Unknown);  // its token is spent
  EXPECT_EQ(open(3, 9, 3).status, ResponseStatus::Ok);
  book_.end(token(42));  // unknown: nothing happens
  EXPECT_EQ(book_.circuits(), 2u);
}

// ------------------------------------------------------------------ expiry

TEST_F(RelayBookTest, CircuitsNotJoinedWithinTheJoinTimeoutExpireAndAreCounted) {
  ASSERT_TRUE(reserve(9));
  ASSERT_TRUE(reserve(8));
  ASSERT_EQ(open(1, 9, 1, 0ms).status, ResponseStatus::Ok);  // nobody joins
  ASSERT_EQ(open(2, 9, 2, 0ms).status, ResponseStatus::Ok);  // one end joins
  ASSERT_EQ(open(3, 8, 3, 0ms).status, ResponseStatus::Ok);  // both join: running
  ASSERT_EQ(open(4, 8, 4, 5s).status, ResponseStatus::Ok);   // opened later
  ASSERT_EQ(book_.join(token(2)), Join::First);
  ASSERT_EQ(book_.join(token(3)), Join::First);
  ASSERT_EQ(book_.join(token(3)), Join::Second);

  EXPECT_TRUE(book_.expire(t0_ + 9999ms).empty());  // not yet
  EXPECT_EQ(book_.counters().circuits_expired, 0u);

  auto expired = book_.expire(t0_ + 10s);
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0], token(1));  // in token order (a std::map)
  EXPECT_EQ(expired[1], token(2));
  EXPECT_EQ(book_.counters().circuits_expired, 2u);
  EXPECT_EQ(book_.circuits(), 2u);  // the running one and the later one stay
  EXPECT_EQ(book_.circuits_running(), 1u);
  EXPECT_EQ(book_.join(token(2)), Join::Unknown);  // too late

  EXPECT_TRUE(book_.expire(t0_ + 14s).empty());
  auto later = book_.expire(t0_ + 15s);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0], token(4));
  EXPECT_EQ(book_.counters().circuits_expired, 3u);

  // The running circuit is never expired, however long it runs.
  EXPECT_TRUE(book_.expire(t0_ + 24h).empty());
  EXPECT_EQ(book_.circuits_running(), 1u);
}

TEST_F(RelayBookTest, ExpiredCircuitsFreeTheirSlots) {
  ASSERT_TRUE(reserve(9));
  ASSERT_EQ(open(1, 9, 1).status, ResponseStatus::Ok);
  ASSERT_EQ(open(2, 9, 2).status, ResponseStatus::Ok);
  ASSERT_EQ(open(3, 9, 3, 1s).status, ResponseStatus::Refused);
  ASSERT_EQ(book_.expire(t0_ + 10s).size(), 2u);
  EXPECT_EQ(open(3, 9, 3, 10s).status, ResponseStatus::Ok);
}

// ------------------------------------------------------------------ counters

TEST_F(RelayBookTest, CountersAddUpOverAMixedRun) {
  ASSERT_TRUE(book_.reserve(relay_node(1), ip(9), 1).ok);
  ASSERT_TRUE(book_.reserve(relay_node(2), ip(9), 2).ok);
  EXPECT_FALSE(book_.reserve(relay_node(3), ip(9), 3).ok);  // per IP
  EXPECT_EQ(open(5, 6, 1).status, ResponseStatus::NoReservation);
  EXPECT_EQ(open(1, 1, 2).status, ResponseStatus::Refused);  // oneself
  ASSERT_EQ(open(5, 1, 3).status, ResponseStatus::Ok);
  ASSERT_EQ(open(6, 2, 4).status, ResponseStatus::Ok);
  EXPECT_EQ(book_.join(token(3)), Join::First);
  EXPECT_EQ(book_.join(token(3)), Join::Second);
  EXPECT_EQ(book_.join(token(3)), Join::Unknown);
  EXPECT_EQ(book_.join(token(99)), Join::Unknown);
  EXPECT_EQ(book_.expire(t0_ + 1min).size(), 1u);  // token 4, never joined

  const auto& c = book_.counters();
  EXPECT_EQ(c.reservations_refused, 1u);
  EXPECT_EQ(c.circuits_refused, 2u);
  EXPECT_EQ(c.circuits_opened, 1u);
  EXPECT_EQ(c.joins_refused, 2u);
  EXPECT_EQ(c.circuits_expired, 1u);
  EXPECT_EQ(book_.reservations(), 2u);
  EXPECT_EQ(book_.circuits(), 1u);
  EXPECT_EQ(book_.circuits_running(), 1u);
}

TEST(RelayBook, KeepsTheLimitsItWasGiven) {
  const auto limits = small_limits();
  RelayBook book(limits);
  EXPECT_EQ(book.limits().max_reservations, limits.max_reservations);
  EXPECT_EQ(book.limits().max_circuits_per_peer, limits.max_circuits_per_peer);
  EXPECT_EQ(book.limits().join_timeout, limits.join_timeout);
}

}  // namespace
}  // namespace datafold::net::detail
