// MappingSchedule: when a port mapping is asked for, renewed, retried and lost,
// driven by a fake clock.
#include "reachability/mapping_schedule.hpp"

#include <gtest/gtest.h>

namespace datafold::net::reachability {
namespace {

using namespace std::chrono_literals;

const ScheduleConfig kConfig{.requested_lease = 3600s, .retry_initial = 10s, .retry_max = 80s, .min_renew_gap = 2s};
const Clock::time_point kStart = Clock::time_point{} + 24h;

GrantedMapping upnp(std::uint16_t port, std::chrono::seconds lease = 3600s) {
  return {MappingProtocol::Upnp, "198.51.100.7", port, lease};
}

TEST(MappingSchedule, TheFirstAttemptIsDueAtOnceAndAsksEveryProtocol) {
  MappingSchedule schedule(kConfig, kStart);
  EXPECT_EQ(schedule.next_due(), kStart);
  const auto attempt = schedule.due(kStart);
  ASSERT_TRUE(attempt);
  EXPECT_EQ(attempt->kind, MappingSchedule::AttemptKind::Map);
  EXPECT_FALSE(attempt->protocol);
  EXPECT_FALSE(schedule.current());
}

TEST(MappingSchedule, AGrantIsRenewedAtHalfItsLeaseWithTheProtocolThatGrantedIt) {
  MappingSchedule schedule(kConfig, kStart);
  EXPECT_EQ(schedule.on_granted(upnp(9000, 600s), kStart), MappingChange::Gained);
  ASSERT_TRUE(schedule.current());
  EXPECT_EQ(schedule.current()->granted.external_address(), "198.51.100.7:9000");
  EXPECT_EQ(schedule.current()->expires, kStart + 600s);
  EXPECT_FALSE(schedule.due(kStart + 299s));
  const auto renew = schedule.due(kStart + 300s);
  ASSERT_TRUE(renew);
  EXPECT_EQ(renew->kind, MappingSchedule::AttemptKind::Renew);
  EXPECT_EQ(renew->protocol, MappingProtocol::Upnp);
  EXPECT_EQ(renew->external_port, 9000);
  // The same mapping granted again changes nothing and pushes the next renewal on.
  EXPECT_EQ(schedule.on_granted(upnp(9000, 600s), kStart + 300s), MappingChange::None);
  EXPECT_EQ(schedule.next_due(), kStart + 600s);
}

TEST(MappingSchedule, ALeaseWithoutEndIsCheckedAsOftenAsARequestedOne) {
  MappingSchedule schedule(kConfig, kStart);
  schedule.on_granted(upnp(9000, 0s), kStart);
  EXPECT_FALSE(schedule.current()->expires);
  EXPECT_EQ(schedule.next_due(), kStart + 1800s);
  EXPECT_EQ(schedule.on_tick(kStart + 1000h), MappingChange::None);
  EXPECT_TRUE(schedule.current());
}

TEST(MappingSchedule, AShortLeaseIsNotRenewedInATightLoop) {
  MappingSchedule schedule(kConfig, kStart);
  schedule.on_granted(upnp(9000, 1s), kStart);
  EXPECT_EQ(schedule.next_due(), kStart + 2s);
}

TEST(MappingSchedule, AnotherPortOrProtocolIsAChange) {
  MappingSchedule schedule(kConfig, kStart);
  schedule.on_granted(upnp(9000), kStart);
  EXPECT_EQ(schedule.on_granted(upnp(41000), kStart + 1800s), MappingChange::Changed);
  GrantedMapping natpmp{MappingProtocol::NatPmp, "198.51.100.7", 41000, 3600s};
  EXPECT_EQ(schedule.on_granted(natpmp, kStart + 3600s), MappingChange::Changed);
}

TEST(MappingSchedule, FailuresWithoutAMappingBackOffDoublingUpToTheCeiling) {
  MappingSchedule schedule(kConfig, kStart);
  auto now = kStart;
  const std::chrono::seconds expected[] = {10s, 20s, 40s, 80s, 80s};
  for (auto wait : expected) {
    EXPECT_EQ(schedule.on_failed("no gateway", now), MappingChange::None);
    EXPECT_EQ(schedule.next_due(), now + wait);
    EXPECT_FALSE(schedule.due(now + wait - 1s));
    const auto retry = schedule.due(now + wait);
    ASSERT_TRUE(retry);
    EXPECT_EQ(retry->kind, MappingSchedule::AttemptKind::Map);
    now += wait;
  }
  EXPECT_EQ(schedule.failures(), 5u);
  EXPECT_EQ(schedule.last_error(), "no gateway");
  // A grant ends the backoff and the error.
  schedule.on_granted(upnp(9000), now);
  EXPECT_EQ(schedule.consecutive_failures(), 0u);
  EXPECT_EQ(schedule.last_error(), "");
  EXPECT_EQ(schedule.failures(), 5u);  // a total, not reset
}

TEST(MappingSchedule, AFailedRenewalIsRetriedBeforeTheLeaseEndsAndTheMappingIsKeptMeanwhile) {
  MappingSchedule schedule(kConfig, kStart);
  schedule.on_granted(upnp(9000, 60s), kStart);  // renew at +30 s, lease ends at +60 s
  EXPECT_EQ(schedule.on_failed("timeout", kStart + 30s), MappingChange::None);
  EXPECT_TRUE(schedule.current());
  // The backoff (+40 s) comes before halfway to the lease's end (+45 s).
  EXPECT_EQ(schedule.next_due(), kStart + 40s);
  EXPECT_EQ(schedule.on_failed("timeout", kStart + 40s), MappingChange::None);
  EXPECT_EQ(schedule.next_due(), kStart + 50s);  // halfway to +60 s, sooner than the 20 s backoff
  EXPECT_EQ(schedule.due(kStart + 50s)->kind, MappingSchedule::AttemptKind::Renew);
}

TEST(MappingSchedule, ALeaseThatEndsUnrenewedIsLostAndTheNextAttemptAsksEveryProtocol) {
  MappingSchedule schedule(kConfig, kStart);
  schedule.on_granted(upnp(9000, 60s), kStart);
  schedule.on_failed("timeout", kStart + 30s);
  EXPECT_EQ(schedule.on_tick(kStart + 59s), MappingChange::None);
  EXPECT_EQ(schedule.on_tick(kStart + 60s), MappingChange::Lost);
  EXPECT_FALSE(schedule.current());
  EXPECT_EQ(schedule.on_tick(kStart + 61s), MappingChange::None);  // lost once
  const auto next = schedule.due(schedule.next_due());
  ASSERT_TRUE(next);
  EXPECT_EQ(next->kind, MappingSchedule::AttemptKind::Map);
}

TEST(MappingSchedule, AFailureAfterTheLeaseEndedReportsTheLoss) {
  MappingSchedule schedule(kConfig, kStart);
  schedule.on_granted(upnp(9000, 60s), kStart);
  EXPECT_EQ(schedule.on_failed("gateway gone", kStart + 61s), MappingChange::Lost);
  EXPECT_FALSE(schedule.current());
  EXPECT_EQ(schedule.next_due(), kStart + 61s + 10s);
}

}  // namespace
}  // namespace datafold::net::reachability
