// ObservedAddresses with a fake clock: an observed IP is believed only on the word
// of three peers distinct by node id and by IP, within the window; liars, key
// farms on one IP and addresses that cannot be public change nothing.
#include "peers/observed_addresses.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using Outcome = ObservedAddresses::Outcome;
using testing::ElementsAre;
using testing::IsEmpty;

NodeId node(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes{};
  bytes.fill(n);
  return NodeId{bytes};
}

std::string peer_ip(int n) { return "198.51.100." + std::to_string(n); }

class ObservedAddressesTest : public ::testing::Test {
 protected:
  ObservedAddresses::TimePoint at(std::chrono::milliseconds offset) const { return t0_ + offset; }
  // Peer n (node id n, IP 198.51.100.n) reports `observed`.
  Outcome report(int n, const std::string& observed, std::chrono::milliseconds when = 0ms) {
    return observed_.report(node(static_cast<std::uint8_t>(n)), peer_ip(n), observed, at(when));
  }

  ObservedAddresses::TimePoint t0_{std::chrono::hours(5)};
  ObservedAddresses observed_;
};

TEST_F(ObservedAddressesTest, BelievedOnlyOnceThreeDistinctPeersReportIt) {
  EXPECT_EQ(report(1, "203.0.113.7:40001"), Outcome::Counted);
  EXPECT_THAT(observed_.confirmed(at(0ms)), IsEmpty());
  EXPECT_EQ(report(2, "203.0.113.7:40002"), Outcome::Counted);
  EXPECT_THAT(observed_.confirmed(at(0ms)), IsEmpty()) << "two peers are not enough";
  EXPECT_EQ(report(3, "203.0.113.7:40003"), Outcome::Confirmed);
  EXPECT_THAT(observed_.confirmed(at(0ms)), ElementsAre("203.0.113.7"));
  EXPECT_EQ(report(4, "203.0.113.7:40004"), Outcome::Counted) << "already believed";
  EXPECT_EQ(observed_.supporters("203.0.113.7", at(0ms)), 4u);
}

TEST_F(ObservedAddressesTest, AnnouncedWithTheNodesOwnListenPortNotTheObservedOne) {
  for (int n = 1; n <= 3; ++n) report(n, "203.0.113.7:" + std::to_string(50000 + n));
  for (int n = 4; n <= 6; ++n) report(n, "[2001:db8::7]:" + std::to_string(50000 + n));
  EXPECT_THAT(observed_.confirmed_addresses(at(0ms), 9000),
              testing::UnorderedElementsAre("203.0.113.7:9000", "[2001:db8::7]:9000"));
}

TEST_F(ObservedAddressesTest, OneLyingPeerChangesNothing) {
  for (int n = 1; n <= 3; ++n) report(n, "203.0.113.7:4000" + std::to_string(n));
  // The liar reports another address, again and again.
  for (int i = 0; i < 100; ++i) report(9, "192.0.2.66:1234", std::chrono::milliseconds(i));
  EXPECT_THAT(observed_.confirmed(at(100ms)), ElementsAre("203.0.113.7"));
  EXPECT_EQ(observed_.supporters("192.0.2.66", at(100ms)), 1u);
}

TEST_F(ObservedAddressesTest, ManyKeysFromOneIpCountAsOnePeer) {
  for (std::uint8_t key = 1; key <= 50; ++key)
    EXPECT_EQ(observed_.report(node(key), "192.0.2.1", "198.18.0.5:1", at(0ms)), Outcome::Counted);
  EXPECT_THAT(observed_.confirmed(at(0ms)), IsEmpty());
  EXPECT_EQ(observed_.supporters("198.18.0.5", at(0ms)), 1u);
}

TEST_F(ObservedAddressesTest, OneKeyFromManyIpsCountsAsOnePeer) {
  for (int n = 1; n <= 50; ++n) observed_.report(node(1), peer_ip(n), "198.18.0.5:1", at(0ms));
  EXPECT_THAT(observed_.confirmed(at(0ms)), IsEmpty());
  EXPECT_EQ(observed_.supporters("198.18.0.5", at(0ms)), 1u);
}

TEST_F(ObservedAddressesTest, AnIpv4PeerSeenThroughADualStackSocketIsTheSamePeer) {
  observed_.report(node(1), "192.0.2.1", "198.18.0.5:1", at(0ms));
  observed_.report(node(2), "::ffff:192.0.2.1", "198.18.0.5:1", at(0ms));
  observed_.report(node(3), "192.0.2.3", "[::ffff:198.18.0.5]:1", at(0ms));
  EXPECT_EQ(observed_.supporters("198.18.0.5", at(0ms)), 2u);
  EXPECT_THAT(observed_.confirmed(at(0ms)), IsEmpty());
}

TEST_F(ObservedAddressesTest, APeersNewReportReplacesItsOldOne) {
  for (int n = 1; n <= 3; ++n) report(n, "203.0.113.7:1");
  ASSERT_THAT(observed_.confirmed(at(0ms)), ElementsAre("203.0.113.7"));
  // Peer 3 now sees the node elsewhere (the node moved, or the NAT changed).
  EXPECT_EQ(report(3, "203.0.113.8:1", 1s), Outcome::Counted);
  EXPECT_THAT(observed_.confirmed(at(1s)), IsEmpty());
  EXPECT_EQ(observed_.supporters("203.0.113.7", at(1s)), 2u);
}

TEST_F(ObservedAddressesTest, ReportsCountForTheWindowOnly) {
  report(1, "203.0.113.7:1", 0ms);
  report(2, "203.0.113.7:1", 60s);
  EXPECT_EQ(report(3, "203.0.113.7:1", 120s), Outcome::Confirmed);
  EXPECT_THAT(observed_.confirmed(at(599'999ms)), ElementsAre("203.0.113.7"));
  EXPECT_THAT(observed_.confirmed(at(600s)), IsEmpty()) << "peer 1's report is ten minutes old";
  // Reported too slowly to ever be three at once: never believed.
  report(4, "203.0.113.9:1", 0ms);
  report(5, "203.0.113.9:1", 600s);
  EXPECT_EQ(report(6, "203.0.113.9:1", 1200s), Outcome::Counted);
  EXPECT_THAT(observed_.confirmed(at(1200s)), IsEmpty());
}

TEST_F(ObservedAddressesTest, AddressesThatCannotBePublicAreNeverBelieved) {
  const char* never[] = {"127.0.0.1:1",      "[::1]:1",          "0.0.0.0:1",          "[::]:1",
                         "169.254.3.4:1",    "[fe80::1]:1",      "[fe80::1%lo]:1",     "224.0.0.1:1",
                         "[ff02::1]:1",      "255.255.255.255:1", "[::ffff:127.0.0.1]:1"};
  for (const char* address : never) {
    for (int n = 1; n <= 3; ++n) EXPECT_EQ(report(n, address), Outcome::NotRoutable) << address;
  }
  EXPECT_THAT(observed_.confirmed(at(0ms)), IsEmpty());
  EXPECT_EQ(observed_.candidates(), 0u);
}

TEST_F(ObservedAddressesTest, MalformedReportsAreRefused) {
  const char* bad[] = {"", "203.0.113.7", "203.0.113.7:0", "203.0.113.7:70000", "example.org:9000",
                       "[2001:db8::7]", "2001:db8::7:9000", "203.0.113.7:9000 ", "\xff\xfe:1"};
  for (const char* address : bad) EXPECT_EQ(report(1, address), Outcome::Malformed) << address;
  EXPECT_EQ(observed_.report(node(1), "not-an-ip", "203.0.113.7:1", at(0ms)), Outcome::Malformed);
  EXPECT_EQ(observed_.report(node(1), std::string(5000, '1'), "203.0.113.7:1", at(0ms)), Outcome::Malformed);
  EXPECT_EQ(observed_.candidates(), 0u);
}

TEST_F(ObservedAddressesTest, PrivateAddressesCountInARoutedPrivateNetwork) {
  for (int n = 1; n <= 3; ++n) report(n, "10.1.2.3:1");
  EXPECT_THAT(observed_.confirmed(at(0ms)), ElementsAre("10.1.2.3"));
}

TEST_F(ObservedAddressesTest, IPv6TextFormsAreOneAddress) {
  report(1, "[2001:DB8::7]:1");
  report(2, "[2001:db8:0:0::7]:1");
  report(3, "[2001:0db8::0007]:1");
  EXPECT_THAT(observed_.confirmed(at(0ms)), ElementsAre("2001:db8::7"));
}

TEST_F(ObservedAddressesTest, TheBestSupportedComesFirst) {
  for (int n = 1; n <= 3; ++n) report(n, "203.0.113.7:1");
  for (int n = 4; n <= 7; ++n) report(n, "203.0.113.8:1");
  EXPECT_THAT(observed_.confirmed(at(0ms)), ElementsAre("203.0.113.8", "203.0.113.7"));
}

TEST_F(ObservedAddressesTest, MemoryIsBoundedAndAFloodOfLiesCannotUnseatABelievedAddress) {
  ObservedAddresses observed({.confirmations = 3, .window = 600s, .max_candidates = 8, .max_reporters_per_candidate = 4});
  for (int n = 1; n <= 3; ++n) observed.report(node(static_cast<std::uint8_t>(n)), peer_ip(n), "203.0.113.7:1", at(0ms));
  // 200 distinct peers each report a different address.
  for (int n = 10; n < 210; ++n)
    observed.report(node(static_cast<std::uint8_t>(n)), "192.0.2." + std::to_string(n % 250) + "",
                    "198.18." + std::to_string(n) + ".1:1", at(1ms));
  EXPECT_LE(observed.candidates(), 8u);
  EXPECT_THAT(observed.confirmed(at(1ms)), ElementsAre("203.0.113.7"));
  // And many supporters of one address keep at most max_reporters_per_candidate reports.
  for (int n = 20; n < 40; ++n)
    observed.report(node(static_cast<std::uint8_t>(n)), peer_ip(n), "203.0.113.7:1", at(2ms));
  EXPECT_EQ(observed.supporters("203.0.113.7", at(2ms)), 4u);
}

TEST_F(ObservedAddressesTest, WhenEveryCandidateIsBelievedANewOneFindsNoRoom) {
  ObservedAddresses observed({.confirmations = 1, .window = 600s, .max_candidates = 2, .max_reporters_per_candidate = 4});
  EXPECT_EQ(observed.report(node(1), peer_ip(1), "203.0.113.1:1", at(0ms)), Outcome::Confirmed);
  EXPECT_EQ(observed.report(node(2), peer_ip(2), "203.0.113.2:1", at(0ms)), Outcome::Confirmed);
  EXPECT_EQ(observed.report(node(3), peer_ip(3), "203.0.113.3:1", at(0ms)), Outcome::NoRoom);
  EXPECT_EQ(observed.candidates(), 2u);
}

}  // namespace
}  // namespace datafold::net::detail
