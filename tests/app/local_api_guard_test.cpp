#include "local_api_guard.hpp"

#include <gtest/gtest.h>

namespace datafold::app {
namespace {

constexpr std::uint16_t kPort = 9080;
const std::string kToken(64, 'a');

LocalApiRequest get(std::string_view host) { return {"GET", host, std::nullopt, std::nullopt, std::nullopt, std::nullopt}; }

TEST(LocalApiGuard, OwnHostsAreIpLiteralsAndLocalhostWithTheApisPort) {
  EXPECT_TRUE(is_own_host("127.0.0.1:9080", kPort));
  EXPECT_TRUE(is_own_host("localhost:9080", kPort));
  EXPECT_TRUE(is_own_host("LocalHost:9080", kPort));
  EXPECT_TRUE(is_own_host("[::1]:9080", kPort));
  EXPECT_TRUE(is_own_host("10.0.0.7:9080", kPort));  // an API bound to a LAN address, asked by its IP
  EXPECT_TRUE(is_own_host("127.0.0.1", kPort));      // no port (a program's raw request): the name decides
  EXPECT_TRUE(is_own_host("[::1]", kPort));

  EXPECT_FALSE(is_own_host("evil.example:9080", kPort));  // DNS rebinding
  EXPECT_FALSE(is_own_host("localhost.evil.example:9080", kPort));
  EXPECT_FALSE(is_own_host("127.0.0.1.nip.io:9080", kPort));
  EXPECT_FALSE(is_own_host("127.0.0.1:9081", kPort));
  EXPECT_FALSE(is_own_host("evil.example", kPort));
  EXPECT_FALSE(is_own_host("127.0.0.1:", kPort));
  EXPECT_FALSE(is_own_host("127.0.0.1:9080x", kPort));
  EXPECT_FALSE(is_own_host("256.0.0.1:9080", kPort));
  EXPECT_FALSE(is_own_host("1.2.3:9080", kPort));
  EXPECT_FALSE(is_own_host("[evil]:9080", kPort));
  EXPECT_FALSE(is_own_host("", kPort));
}

TEST(LocalApiGuard, AProgramsRequestsWithoutBrowserHeadersNeedNoToken) {
  EXPECT_EQ(check_local_api_request(get("127.0.0.1:9080"), kPort, kToken), LocalApiVerdict::Allow);
  LocalApiRequest post{"POST", "127.0.0.1:9080", std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(check_local_api_request(post, kPort, kToken), LocalApiVerdict::Allow);
}

TEST(LocalApiGuard, AForeignHostGetsNothingReadsIncluded) {
  EXPECT_EQ(check_local_api_request(get("evil.example:9080"), kPort, kToken), LocalApiVerdict::ForeignHost);
  LocalApiRequest no_host{"GET", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(check_local_api_request(no_host, kPort, kToken), LocalApiVerdict::ForeignHost);
  // Even with the right token: the token proves nothing about where the page came from.
  LocalApiRequest rebound{"POST", "evil.example:9080", "http://evil.example:9080", "same-origin", std::nullopt, kToken};
  EXPECT_EQ(check_local_api_request(rebound, kPort, kToken), LocalApiVerdict::ForeignHost);
}

TEST(LocalApiGuard, AForeignOriginIsRefusedOnReadsAndWrites) {
  auto request = get("127.0.0.1:9080");
  request.origin = "http://evil.example";
  EXPECT_EQ(check_local_api_request(request, kPort, kToken), LocalApiVerdict::ForeignOrigin);
  request.method = "POST";
  request.token = kToken;
  EXPECT_EQ(check_local_api_request(request, kPort, kToken), LocalApiVerdict::ForeignOrigin);
  request.origin = "http://127.0.0.1:8000";  // another local server: another origin
  EXPECT_EQ(check_local_api_request(request, kPort, kToken), LocalApiVerdict::ForeignOrigin);
  request.origin = "null";
  EXPECT_EQ(check_local_api_request(request, kPort, kToken), LocalApiVerdict::ForeignOrigin);
  request.origin = "https://127.0.0.1:9080";  // not the scheme this API serves
  EXPECT_EQ(check_local_api_request(request, kPort, kToken), LocalApiVerdict::ForeignOrigin);
}

TEST(LocalApiGuard, ACrossSiteFetchWithoutOriginIsRefused) {
  auto request = get("127.0.0.1:9080");  // an <img src> on another site sends no Origin
  request.sec_fetch_site = "cross-site";
  EXPECT_EQ(check_local_api_request(request, kPort, kToken), LocalApiVerdict::CrossSiteFetch);
  request.sec_fetch_site = "same-site";  // another port on the same host
  EXPECT_EQ(check_local_api_request(request, kPort, kToken), LocalApiVerdict::CrossSiteFetch);
  request.sec_fetch_site = "none";  // typed into the address bar
  EXPECT_EQ(check_local_api_request(request, kPort, kToken), LocalApiVerdict::Allow);
}

TEST(LocalApiGuard, TheOwnPagesWritesNeedThisStartsToken) {
  LocalApiRequest write{"POST", "127.0.0.1:9080", "http://127.0.0.1:9080", "same-origin", std::nullopt, std::nullopt};
  EXPECT_EQ(check_local_api_request(write, kPort, kToken), LocalApiVerdict::MissingToken);
  write.token = "";
  EXPECT_EQ(check_local_api_request(write, kPort, kToken), LocalApiVerdict::MissingToken);
  const std::string other(64, 'b');
  write.token = other;
  EXPECT_EQ(check_local_api_request(write, kPort, kToken), LocalApiVerdict::WrongToken);
  write.token = std::string_view(kToken).substr(1);
  EXPECT_EQ(check_local_api_request(write, kPort, kToken), LocalApiVerdict::WrongToken);
  write.token = kToken;
  EXPECT_EQ(check_local_api_request(write, kPort, kToken), LocalApiVerdict::Allow);
  // Origin's host is compared as the Host header spells it, case aside.
  write.origin = "http://LOCALHOST:9080";
  write.host = "localhost:9080";
  EXPECT_EQ(check_local_api_request(write, kPort, kToken), LocalApiVerdict::Allow);
  // A Referer alone marks a browser too (an old one that sends no Origin).
  LocalApiRequest referred{"DELETE", "127.0.0.1:9080", std::nullopt, std::nullopt, "http://127.0.0.1:9080/", std::nullopt};
  EXPECT_EQ(check_local_api_request(referred, kPort, kToken), LocalApiVerdict::MissingToken);
  // The page's reads need no token.
  LocalApiRequest read{"GET", "127.0.0.1:9080", "http://127.0.0.1:9080", "same-origin", std::nullopt, std::nullopt};
  EXPECT_EQ(check_local_api_request(read, kPort, kToken), LocalApiVerdict::Allow);
}

TEST(LocalApiGuard, EachStartMakesADifferentTokenOf64HexDigits) {
  const auto a = make_dashboard_token(), b = make_dashboard_token();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace datafold::app
