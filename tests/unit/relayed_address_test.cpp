// RelayedAddress: "relay:<relay id>@<host:port>" parses back to what was formatted,
// and anything short of a whole relay id and a dialable host:port is refused, so a
// node never dials half an address.
#include "core/relayed_address.hpp"

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

NodeId relay_id(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(n + i);
  return NodeId{bytes};
}

TEST(RelayedAddress, FormatsAsPrefixIdAtHostPortAndParsesBack) {
  const RelayedAddress address{relay_id(7), HostPort{"198.51.100.7", 9000}};
  const std::string text = address.to_string();
  EXPECT_EQ(text, "relay:" + relay_id(7).to_string() + "@198.51.100.7:9000");
  EXPECT_TRUE(is_relayed_address(text));
  auto parsed = parse_relayed_address(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, address);
  EXPECT_EQ(parsed->relay, relay_id(7));
  EXPECT_EQ(parsed->address.host, "198.51.100.7");
  EXPECT_EQ(parsed->address.port, 9000);
  EXPECT_EQ(parsed->to_string(), text);
}

TEST(RelayedAddress, AHostNameRoundTrips) {
  const RelayedAddress address{relay_id(1), HostPort{"relay.example.org", 443}};
  auto parsed = parse_relayed_address(address.to_string());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, address);
}

TEST(RelayedAddress, TheBracketedIpv6FormIsAcceptedAndFormattedBack) {
  const std::string text = "relay:" + relay_id(3).to_string() + "@[::1]:9000";
  auto parsed = parse_relayed_address(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->address.host, "::1");  // brackets off, as HostPort keeps IPv6
  EXPECT_EQ(parsed->address.port, 9000);
  EXPECT_EQ(parsed->to_string(), text);  // and back on when formatted
  const RelayedAddress made{relay_id(3), HostPort{"::1", 9000}};
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

TEST(RelayedAddress, AShortIdPrefixIsRefused) {
  // Prefixes name nodes on the command line; an address must name exactly one relay.
  const std::string id = relay_id(4).to_string();
  for (std::size_t length : {std::size_t{0}, std::size_t{8}, std::size_t{12}, id.size() - 1}) {
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
