// RoutedNetwork itself, with plain sockets and no node: what the wide-area tests
// rely on it for. Routed unicast in both families, the test process reaching every
// host, multicast staying in its subnet, an address moving to another host, the
// SYN black hole, and nothing left behind.
#include "support/routed_network.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>

#include <gtest/gtest.h>

#include "support/accept_counter.hpp"
#include "support/in_netns.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kRoutedPort = 7000;

sockaddr_storage address_of(const std::string& ip, int port, socklen_t& length) {
  sockaddr_storage storage{};
  if (ip.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    length = sizeof *a;
  }
  return storage;
}

// A socket made inside `netns` ("" : here): it routes as that host does.
int socket_in(const std::string& netns, int family, int type) {
  int fd = -1;
  std::string why_not;
  if (netns.empty()) return ::socket(family, type | SOCK_CLOEXEC, 0);
  run_in_netns(netns, [&] { fd = ::socket(family, type | SOCK_CLOEXEC, 0); }, why_not);
  return fd;
}

// A non-blocking connect to ip:port started from `netns`; the socket, or -1.
int start_connect(const std::string& netns, const std::string& ip, int port) {
  const int fd = socket_in(netns, ip.find(':') != std::string::npos ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  if (fd < 0) return -1;
  socklen_t length = 0;
  const auto to = address_of(ip, port, length);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), length) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// nullopt while the connect is still going; then 0 (connected) or its errno.
std::optional<int> connect_outcome(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return std::nullopt;
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  return error;
}

// Connects from `netns` to ip:port within 5 s; 0 or the errno (ETIMEDOUT if none came).
int connect_from(const std::string& netns, const std::string& ip, int port) {
  const int fd = start_connect(netns, ip, port);
  if (fd < 0) return errno != 0 ? errno : EINVAL;
  const auto outcome = connect_outcome(fd, 5s);
  ::close(fd);
  return outcome.value_or(ETIMEDOUT);
}

// The addresses on the host's interfaces, seen from inside its namespace.
std::vector<std::string> addresses_in(const std::string& netns, const std::string& interface) {
  std::vector<std::string> out;
  std::string why_not;
  run_in_netns(netns, [&] {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
      if (!i->ifa_addr || interface != i->ifa_name) continue;
      char text[INET6_ADDRSTRLEN] = {};
      if (i->ifa_addr->sa_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
      else if (i->ifa_addr->sa_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, text, sizeof text);
      else
        continue;
      out.push_back(text);
    }
    ::freeifaddrs(list);
  }, why_not);
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

class RoutedNetworkTest : public ::testing::Test {
 protected:
  // Subnet 0 dual-stack, 1 IPv4-only, 2 IPv6-only; two hosts each.
  void SetUp() override {
    std::string why_not;
    net_ = RoutedNetwork::create({{2, true, true}, {2, true, false}, {2, false, true}}, why_not);
    if (!net_) GTEST_SKIP() << "needs Linux network namespaces: " << why_not;
  }
  std::unique_ptr<AcceptCounter> listen_on(int host, const std::string& ip, int port = kRoutedPort) {
    std::string why_not;
    auto counter = AcceptCounter::start(net_->netns(host), ip, port, why_not);
    EXPECT_TRUE(counter) << why_not;
    return counter;
  }
  std::unique_ptr<RoutedNetwork> net_;
};

TEST_F(RoutedNetworkTest, HostsGetTheFamiliesOfTheirSubnet) {
  ASSERT_EQ(net_->size(), 6);
  EXPECT_EQ(net_->hosts_in(1), (std::vector<int>{2, 3}));
  for (int host = 0; host < net_->size(); ++host) {
    const auto on_eth0 = addresses_in(net_->netns(host), RoutedNetwork::interface());
    bool has_v4 = false, has_v6 = false;
    for (const auto& a : on_eth0) (a.find(':') == std::string::npos ? has_v4 : has_v6) = true;
    const int subnet = net_->subnet_of(host);
    EXPECT_EQ(has_v4, subnet != 2) << "host " << host;
    EXPECT_EQ(has_v6, subnet != 1) << "host " << host;  // IPv4-only: not even a link-local address
    if (!net_->ipv4(host).empty()) {
      EXPECT_TRUE(contains(on_eth0, net_->ipv4(host)));
    }
    if (!net_->ipv6(host).empty()) {
      EXPECT_TRUE(contains(on_eth0, net_->ipv6(host)));
    }
  }
}

TEST_F(RoutedNetworkTest, TheTestProcessAndOtherSubnetsReachEveryHostThroughTheRouter) {
  for (int host = 0; host < net_->size(); ++host) {
    for (const auto& ip : {net_->ipv4(host), net_->ipv6(host)}) {
      if (ip.empty()) continue;
      auto counter = listen_on(host, ip);
      ASSERT_TRUE(counter);
      EXPECT_EQ(connect_from("", ip, kRoutedPort), 0) << "test process -> " << ip;
      // From a host on another subnet that has the family of `ip`.
      const bool v6 = ip.find(':') != std::string::npos;
      int from = -1;
      for (int h = 0; h < net_->size() && from < 0; ++h)
        if (net_->subnet_of(h) != net_->subnet_of(host) && !(v6 ? net_->ipv6(h) : net_->ipv4(h)).empty()) from = h;
      ASSERT_GE(from, 0);
      EXPECT_EQ(connect_from(net_->netns(from), ip, kRoutedPort), 0) << "host " << from << " -> " << ip;
      EXPECT_TRUE(eventually([&] { return counter->accepted() == 2; }, 5s)) << ip;
      // The source a host sees is the other host's own address: routed, not masqueraded.
      const auto sources = counter->sources();
      ASSERT_EQ(sources.size(), 2u);
      EXPECT_TRUE(sources[1] == net_->ipv4(from) || sources[1] == net_->ipv6(from)) << sources[1];
    }
  }
}

TEST_F(RoutedNetworkTest, MulticastStaysInItsSubnet) {
  const std::string group = "239.255.77.77";
  constexpr int kUdpPort = 9999;
  // Receivers on host 1 (the sender's subnet) and host 2 (across the router).
  auto receiver = [&](int host) {
    const int fd = socket_in(net_->netns(host), AF_INET, SOCK_DGRAM);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t length = 0;
    const auto any = address_of("0.0.0.0", kUdpPort, length);
    EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&any), length), 0);
    ip_mreqn join{};
    ::inet_pton(AF_INET, group.c_str(), &join.imr_multiaddr);
    std::string why_not;
    run_in_netns(net_->netns(host), [&] { join.imr_ifindex = static_cast<int>(::if_nametoindex("eth0")); }, why_not);
    EXPECT_EQ(::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join), 0);
    return fd;
  };
  const int near = receiver(1);
  const int far = receiver(2);
  const int sender = socket_in(net_->netns(0), AF_INET, SOCK_DGRAM);
  // A TTL that could cross the router: if nothing arrives it is for want of multicast routing.
  const int ttl = 8;
  ::setsockopt(sender, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  auto send_to = [&](const std::string& ip, const std::string& text) {
    socklen_t length = 0;
    const auto to = address_of(ip, kUdpPort, length);
    return ::sendto(sender, text.data(), text.size(), 0, reinterpret_cast<const sockaddr*>(&to), length) ==
           static_cast<ssize_t>(text.size());
  };
  ASSERT_TRUE(send_to(group, "multicast"));
  // Then a unicast marker to each receiver, on the same path after the multicast:
  // whatever a receiver reads before its marker is all the multicast it got.
  ASSERT_TRUE(send_to(net_->ipv4(1), "marker"));
  ASSERT_TRUE(send_to(net_->ipv4(2), "marker"));
  auto read_until_marker = [](int fd) {
    std::vector<std::string> got;
    for (int i = 0; i < 10; ++i) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      char buffer[64];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n < 0) break;
      got.emplace_back(buffer, static_cast<std::size_t>(n));
      if (got.back() == "marker") break;
    }
    return got;
  };
  EXPECT_EQ(read_until_marker(near), (std::vector<std::string>{"multicast", "marker"}));
  EXPECT_EQ(read_until_marker(far), (std::vector<std::string>{"marker"}));
  ::close(near);
  ::close(far);
  ::close(sender);
}

TEST_F(RoutedNetworkTest, AnAddressMovesToAnotherHostAndIsReachedThere) {
  const std::string old_ip = net_->ipv4(2);
  const std::string new_ip = net_->unused_ip(2);
  // Host 0 talks to host 2 first, so the router holds host 2's MAC for old_ip.
  {
    auto counter = listen_on(2, old_ip);
    ASSERT_EQ(connect_from(net_->netns(0), old_ip, kRoutedPort), 0);
  }
  ASSERT_TRUE(net_->change_ip(2, new_ip));
  EXPECT_EQ(net_->ipv4(2), new_ip);
  const auto on_eth0 = addresses_in(net_->netns(2), RoutedNetwork::interface());
  EXPECT_TRUE(contains(on_eth0, new_ip));
  EXPECT_FALSE(contains(on_eth0, old_ip));
  auto at_new = listen_on(2, new_ip);
  ASSERT_TRUE(at_new);
  EXPECT_EQ(connect_from(net_->netns(0), new_ip, kRoutedPort), 0);  // default route still there
  EXPECT_EQ(connect_from("", new_ip, kRoutedPort), 0);

  // Host 3 takes the old address: the router reaches it there at once.
  ASSERT_TRUE(net_->change_ip(3, old_ip));
  auto at_old = listen_on(3, old_ip);
  ASSERT_TRUE(at_old);
  EXPECT_EQ(connect_from(net_->netns(0), old_ip, kRoutedPort), 0);
  EXPECT_TRUE(eventually([&] { return at_old->accepted() == 1; }, 5s));
}

TEST_F(RoutedNetworkTest, DropTcpToSwallowsSynsWithoutAReply) {
  for (const auto& [from, to] : {std::pair{0, 2}, std::pair{0, 4}}) {  // IPv4, then IPv6
    const std::string ip = net_->ip(to);
    auto dropped = listen_on(to, ip, kRoutedPort);
    auto open = listen_on(to, ip, kRoutedPort + 1);
    ASSERT_TRUE(dropped && open);
    ASSERT_TRUE(net_->drop_tcp_to(from, ip, kRoutedPort));
    const int blackholed = start_connect(net_->netns(from), ip, kRoutedPort);
    ASSERT_GE(blackholed, 0);
    // The same host, a port without the rule: connected; a port with no listener:
    // refused at once (so it is the rule, not the host, that stays silent).
    EXPECT_EQ(connect_from(net_->netns(from), ip, kRoutedPort + 1), 0) << ip;
    EXPECT_EQ(connect_from(net_->netns(from), ip, kRoutedPort + 2), ECONNREFUSED) << ip;
    EXPECT_EQ(connect_outcome(blackholed, 0ms), std::nullopt) << ip << ": the dropped connect ended";
    EXPECT_EQ(dropped->accepted(), 0);
    ::close(blackholed);
    ASSERT_TRUE(net_->clear_drops(from));
    EXPECT_EQ(connect_from(net_->netns(from), ip, kRoutedPort), 0) << ip;
  }
}

TEST(RoutedNetworkCleanup, NothingIsLeftAfterTheDestructor) {
  std::string why_not;
  auto net = RoutedNetwork::create({{1, true, true}, {1, true, false}}, why_not);
  if (!net) GTEST_SKIP() << "needs Linux network namespaces: " << why_not;
  std::vector<std::string> namespaces = {net->router_netns(), net->netns(0), net->netns(1)};
  const std::string door = net->door();
  const pid_t sleeper = net->spawn(0, {"sleep", "600"}, "");
  ASSERT_GT(sleeper, 0);
  ASSERT_TRUE(net->drop_tcp_to(0, net->ipv4(1), kRoutedPort));
  ASSERT_NE(::if_nametoindex(door.c_str()), 0u);
  net.reset();
  for (const auto& ns : namespaces) EXPECT_FALSE(std::filesystem::exists("/run/netns/" + ns)) << ns;
  EXPECT_EQ(::if_nametoindex(door.c_str()), 0u) << door;
  EXPECT_NE(::kill(sleeper, 0), 0) << "the process started in a host outlived the network";
}

}  // namespace
}  // namespace datafold::net::testing
