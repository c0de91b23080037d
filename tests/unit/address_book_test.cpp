#include "peers/address_book.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

const AddressBook::WallTime kT0 = AddressBook::WallTime{} + std::chrono::hours(24 * 365 * 50);

Strings order(const AddressBook& book) {
  Strings out;
  for (const auto& entry : book.in_dial_order()) out.push_back(entry.address);
  return out;
}

TEST(AddressBook, OneEntryPerAddressKeepingTheSourceThatRanksHigher) {
  AddressBook book;
  EXPECT_TRUE(book.add("192.168.1.5:9000", AddressSource::Lan, kT0));
  EXPECT_FALSE(book.add("192.168.1.5:9000", AddressSource::PeerReport, kT0 + 5s));
  ASSERT_EQ(book.size(), 1u);
  auto entry = book.in_dial_order().front();
  EXPECT_EQ(entry.source, AddressSource::Lan) << "a peer's report does not demote a LAN address";
  EXPECT_EQ(entry.last_seen, kT0 + 5s);
  EXPECT_FALSE(book.add("192.168.1.5:9000", AddressSource::Lan, kT0 + 1s));
  EXPECT_EQ(book.in_dial_order().front().last_seen, kT0 + 5s) << "last seen never goes back";

  EXPECT_TRUE(book.add("10.0.0.1:9000", AddressSource::Inbound, kT0));
  EXPECT_FALSE(book.add("10.0.0.1:9000", AddressSource::Manual, kT0));
  EXPECT_EQ(book.in_dial_order().back().source, AddressSource::Manual) << "declared beats guessed";
}

TEST(AddressBook, DialsSucceededThenLanThenDeclaredThenGuessesThenRelays) {
  AddressBook book;
  book.add("10.9.0.1:9000", AddressSource::Relay, kT0);
  book.add("10.0.0.3:9000", AddressSource::Inbound, kT0);
  book.add("10.0.0.4:9000", AddressSource::PeerReport, kT0);
  book.add("10.0.0.2:9000", AddressSource::Dht, kT0);
  book.add("10.0.0.1:9000", AddressSource::Manual, kT0);
  book.add("192.168.1.5:9000", AddressSource::Lan, kT0);
  book.add("203.0.113.5:9000", AddressSource::Mapped, kT0);
  EXPECT_EQ(order(book), (Strings{"192.168.1.5:9000", "10.0.0.2:9000", "10.0.0.1:9000", "203.0.113.5:9000",
                                  "10.0.0.3:9000", "10.0.0.4:9000", "10.9.0.1:9000"}));

  // Whatever its source, an address that worked goes first; the latest success first.
  ASSERT_TRUE(book.record_success("10.9.0.1:9000", kT0 + 1s));
  ASSERT_TRUE(book.record_success("10.0.0.4:9000", kT0 + 2s));
  EXPECT_EQ(order(book), (Strings{"10.0.0.4:9000", "10.9.0.1:9000", "192.168.1.5:9000", "10.0.0.2:9000",
                                  "10.0.0.1:9000", "203.0.113.5:9000", "10.0.0.3:9000"}));
  EXPECT_FALSE(book.record_success("10.0.0.99:9000", kT0)) << "unknown addresses are not made up";
}

TEST(AddressBook, WithinASourceTheMostRecentlySeenGoesFirst) {
  AddressBook book;
  book.add("10.0.0.1:9000", AddressSource::Manual, kT0);
  book.add("10.0.0.2:9000", AddressSource::Manual, kT0 + 1s);
  EXPECT_EQ(order(book), (Strings{"10.0.0.2:9000", "10.0.0.1:9000"}));
  book.add("10.0.0.1:9000", AddressSource::Manual, kT0 + 2s);
  EXPECT_EQ(order(book), (Strings{"10.0.0.1:9000", "10.0.0.2:9000"}));
}

TEST(AddressBook, InterleavesIpv6AndIpv4StartingWithTheFirstFamily) {
  AddressBook book;
  // As one announcement lists them: all IPv6 first.
  book.replace_from(AddressSource::Lan,
                    {"[2001:db8::1]:9000", "[2001:db8::2]:9000", "[fe80::1%eth0]:9000", "192.168.1.5:9000",
                     "10.1.0.5:9000"},
                    kT0);
  EXPECT_EQ(order(book), (Strings{"[2001:db8::1]:9000", "192.168.1.5:9000", "[2001:db8::2]:9000", "10.1.0.5:9000",
                                  "[fe80::1%eth0]:9000"}));
  AddressBook v4_first;
  v4_first.replace_from(AddressSource::Lan, {"192.168.1.5:9000", "10.1.0.5:9000", "[2001:db8::1]:9000"}, kT0);
  EXPECT_EQ(order(v4_first), (Strings{"192.168.1.5:9000", "[2001:db8::1]:9000", "10.1.0.5:9000"}));
}

TEST(AddressBook, KeepsAtMostItsCapacityDroppingTheAddressSeenLongestAgo) {
  AddressBook book;  // 16
  for (int i = 0; i < 16; ++i) book.add("10.0.0." + std::to_string(i) + ":9000", AddressSource::Dht, kT0 + i * 1s);
  book.record_success("10.0.0.0:9000", kT0 + 100s);  // seen then too: it stays
  EXPECT_TRUE(book.add("10.0.1.0:9000", AddressSource::Dht, kT0 + 200s));
  EXPECT_EQ(book.size(), 16u);
  EXPECT_TRUE(book.contains("10.0.0.0:9000"));
  EXPECT_FALSE(book.contains("10.0.0.1:9000")) << "seen longest ago";
  EXPECT_TRUE(book.contains("10.0.1.0:9000"));

  AddressBook tiny(2);
  tiny.add("10.0.0.1:9000", AddressSource::Manual, kT0);
  tiny.add("10.0.0.2:9000", AddressSource::Manual, kT0);
  tiny.add("10.0.0.3:9000", AddressSource::Manual, kT0 + 1s);
  EXPECT_EQ(order(tiny), (Strings{"10.0.0.3:9000", "10.0.0.2:9000"})) << "among equals, the one given first goes";
}

TEST(AddressBook, AnAnnouncementReplacesOnlyWhatItsOwnSourceGave) {
  AddressBook book;
  book.replace_from(AddressSource::Lan, {"192.168.1.5:9000", "192.168.2.5:9000"}, kT0);
  book.add("10.0.0.1:9000", AddressSource::Manual, kT0);
  book.add("10.0.0.2:9000", AddressSource::Dht, kT0);
  EXPECT_TRUE(book.replace_from(AddressSource::Lan, {"192.168.2.5:9000", "192.168.3.5:9000"}, kT0 + 1s));
  EXPECT_EQ(order(book), (Strings{"192.168.2.5:9000", "192.168.3.5:9000", "10.0.0.1:9000", "10.0.0.2:9000"}));
  EXPECT_FALSE(book.replace_from(AddressSource::Lan, {"192.168.2.5:9000", "192.168.3.5:9000"}, kT0 + 2s));
}

TEST(AddressBook, RecognisesIpv6AndCanonicalisesMappedIpv4) {
  EXPECT_TRUE(is_ipv6_address("[::1]:9000"));
  EXPECT_TRUE(is_ipv6_address("[fe80::1%eth0]:9000"));
  EXPECT_FALSE(is_ipv6_address("127.0.0.1:9000"));
  EXPECT_FALSE(is_ipv6_address("example.org:9000"));
  EXPECT_EQ(canonical_ip("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(canonical_ip("2001:db8::7"), "2001:db8::7");
  EXPECT_EQ(canonical_ip("192.0.2.7"), "192.0.2.7");
}

}  // namespace
}  // namespace datafold::net::detail
