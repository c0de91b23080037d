// RelayedAddress: "relay:<relay id prefix>@<host:port>" parses back to what was
// formatted, always fits an announcement's 64-byte address limit, and anything short
// of an 8-character id prefix and a dialable host:port is refused, so a node never
// dials half an address.
#include "core/relayed_address.hpp"

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

NodeId relay_id(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(n + i);
  return NodeId{bytes};
}

bool same(const RelayedAddress& a, const RelayedAddress& b) {
  return a.relay == b.relay && a.address.host == b.address.host && a.address.port == b.address.port;
}

TEST(RelayedAddress, FormatsAsPrefixIdAtHostPortAndParsesBack) {
  const auto address = RelayedAddress::of(relay_id(7), HostPort{"198.51.100.7", 9000});
  const std::string text = address.to_string();
  EXPECT_EQ(text, "relay:" + relay_id(7).to_string().substr(0, 8) + "@198.51.100.7:9000");
  EXPECT_TRUE(is_relayed_address(text));
  auto parsed = parse_relayed_address(text);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(same(*parsed, address));
  EXPECT_TRUE(parsed->names(relay_id(7)));
  EXPECT_FALSE(parsed->names(relay_id(8)));
  EXPECT_EQ(parsed->address.host, "198.51.100.7");
  EXPECT_EQ(parsed->address.port, 9000);
  EXPECT_EQ(parsed->to_string(), text);
}

TEST(RelayedAddress, AHostNameRoundTrips) {
  const auto address = RelayedAddress::of(relay_id(1), HostPort{"relay.example.org", 443});
  auto parsed = parse_relayed_address(address.to_string());
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(same(*parsed, address));
}

TEST(RelayedAddress, TheLongestFitsAnAnnouncementsAddressLimit) {
  const auto longest =
      RelayedAddress::of(relay_id(9), HostPort{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535}).to_string();
  EXPECT_LE(longest.size(), 64u) << longest;
}

TEST(RelayedAddress, AWholeIdIsAcceptedToo) {
  auto parsed = parse_relayed_address("relay:" + relay_id(3).to_string() + "@198.51.100.7:9000");
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->names(relay_id(3)));
}

TEST(RelayedAddress, TheBracketedIpv6FormIsAcceptedAndFormattedBack) {
  const std::string text = "relay:" + relay_id(3).to_string() + "@[::1]:9000";
  auto parsed = parse_relayed_address(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->address.host, "::1");  // brackets off, as HostPort keeps IPv6
  EXPECT_EQ(parsed->address.port, 9000);
  EXPECT_EQ(parsed->to_string(), text);  // and back on when formatted
  const RelayedAddress made{relay_id(3).to_string(), HostPort{"::1", 9000}};
  EXPECT_EQ(made.to_string(), text);
}

TEST(RelayedAddress, AnIpv6HostWithoutBracketsIsRefused) {
  EXPECT_FALSE(parse_relayed_address("relay:" + relay_id(3).to_string() + "@::1:9000"));
}

TEST(RelayedAddress, WithoutTheAtSignItIsMeantAsOneButRefused) {
  const std::string text = "relay:" + relay_id(2).to_string() + "198.51.100.7:9000";
  EXPECT_TRUE(is_relayed_address(text));  // skipped as malformed, not dialled as host:port
  EXPECT_FALSE(parse_relayed_address(text));
  EXPECT_FALSE(parse_relayed_address("relay:" + relay_id(2).to_string()));
}

TEST(RelayedAddress, AnIdPrefixShorterThanEightIsRefused) {
  const std::string id = relay_id(4).to_string();
  for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    const std::string text = "relay:" + id.substr(0, length) + "@198.51.100.7:9000";
    EXPECT_FALSE(parse_relayed_address(text)) << text;
  }
}

TEST(RelayedAddress, AnIdThatIsNotBase32OrTooLongIsRefused) {
  std::string id = relay_id(5).to_string();
  EXPECT_FALSE(parse_relayed_address("relay:" + id + "a@198.51.100.7:9000"));
  id[10] = '!';
  EXPECT_FALSE(parse_relayed_address("relay:" + id + "@198.51.100.7:9000"));
}

TEST(RelayedAddress, ABadHostPortIsRefused) {
  const std::string head = "relay:" + relay_id(6).to_string() + "@";
  for (const char* bad : {"", "198.51.100.7", "198.51.100.7:", ":9000", "198.51.100.7:0", "198.51.100.7:65536",
                          "198.51.100.7:90x0", "[::1]9000", "[::1:9000"}) {
    EXPECT_FALSE(parse_relayed_address(head + bad)) << "'" << bad << "'";
  }
}

TEST(RelayedAddress, TextWithoutThePrefixIsNotARelayedAddress) {
  const std::string body = relay_id(8).to_string() + "@198.51.100.7:9000";
  EXPECT_FALSE(is_relayed_address(body));
  EXPECT_FALSE(parse_relayed_address(body));
  EXPECT_FALSE(is_relayed_address("198.51.100.7:9000"));
  EXPECT_FALSE(parse_relayed_address("RELAY:" + body));
  EXPECT_FALSE(parse_relayed_address(""));
}

}  // namespace
}  // namespace datafold::net::detail
