// The NAT testbed itself: each gateway kind translates and filters as its kind
// does, observed with plain TCP sockets opened inside the namespaces, and nothing
// of the testbed is left once it is gone.
#include "support/nat_testbed.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <gtest/gtest.h>

#include "support/in_netns.hpp"

namespace datafold::net::testing {
namespace {

constexpr int kTestbedPort = 7000;

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

sockaddr_in endpoint(const std::string& ip, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
  return address;
}

// A listener on ip:port made inside `netns` (the socket stays there).
Fd listen_in(const std::string& netns, const std::string& ip, int port) {
  Fd out;
  std::string why_not;
  run_in_netns(
      netns,
      [&] {
        Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        const int on = 1;
        ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        const auto address = endpoint(ip, port);
        if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 && ::listen(s.fd, 8) == 0)
          out = std::move(s);
      },
      why_not);
  return out;
}

struct Dialled {
  Fd socket;
  int error = 0;  // errno of a failed connect; ETIMEDOUT when nothing came back in time
};

// Connects from inside `netns`, from local port `local_port` (0: any), waiting at most 2 s.
Dialled dial_in(const std::string& netns, int local_port, const std::string& ip, int port) {
  Dialled out;
  std::string why_not;
  run_in_netns(
      netns,
      [&] {
        Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        const int on = 1;
        ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (local_port != 0) {
          const auto local = endpoint("0.0.0.0", local_port);
          if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
            out.error = errno;
            return;
          }
        }
        const auto remote = endpoint(ip, port);
        if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0 && errno != EINPROGRESS) {
          out.error = errno;
          return;
        }
        pollfd p{s.fd, POLLOUT, 0};
        if (::poll(&p, 1, 2000) != 1) {
          out.error = ETIMEDOUT;
          return;
        }
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        out.error = error;
        if (error == 0) out.socket = std::move(s);
      },
      why_not);
  if (!why_not.empty()) out.error = EINVAL;
  return out;
}

// Accepts one connection within 2 s: "ip:port" it came from, "" if none came.
std::string accept_from(const Fd& listener) {
  pollfd p{listener.fd, POLLIN, 0};
  if (::poll(&p, 1, 2000) != 1) return "";
  sockaddr_in peer{};
  socklen_t length = sizeof peer;
  Fd accepted(::accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC));
  if (accepted.fd < 0) return "";
  char ip[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(peer.sin_port));
}

TEST(NatTestbed, EachGatewayKindTranslatesAndFiltersAsItsKind) {
  std::string why_not;
  if (!NatTestbed::available(false, why_not)) GTEST_SKIP() << why_not;
  auto bed = NatTestbed::create(1, {{.kind = GatewayKind::None, .hosts = 1},
                                    {.kind = GatewayKind::PortPreserving, .hosts = 1},
                                    {.kind = GatewayKind::Symmetric, .hosts = 1}},
                                why_not);
  ASSERT_TRUE(bed) << why_not;
  const int server = bed->public_hosts().front();
  const Fd first = listen_in(bed->netns(server), bed->ip(server), kTestbedPort);
  const Fd second = listen_in(bed->netns(server), bed->ip(server), kTestbedPort + 1);
  ASSERT_GE(first.fd, 0);
  ASSERT_GE(second.fd, 0);

  // Two connections from local port 7000 of a host of `network`, to two ports of the
  // server: where the server sees each come from.
  auto seen_from = [&](int network) {
    const int host = bed->hosts_in(network).front();
    std::vector<std::string> seen;
    std::vector<Dialled> open;
    for (const Fd* listener : {&first, &second}) {
      const int port = listener == &first ? kTestbedPort : kTestbedPort + 1;
      open.push_back(dial_in(bed->netns(host), kTestbedPort, bed->ip(server), port));
      EXPECT_EQ(open.back().error, 0) << "network " << network << " to port " << port;
      seen.push_back(accept_from(*listener));
    }
    return seen;
  };

  // None: the host is on the public segment itself.
  const int public_host = bed->hosts_in(0).front();
  EXPECT_EQ(seen_from(0), (std::vector<std::string>{bed->ip(public_host) + ":7000", bed->ip(public_host) + ":7000"}));
  // Port-preserving masquerade: the gateway's address, the same port.
  const std::string preserved = bed->gateway_public_ip(1) + ":7000";
  EXPECT_EQ(seen_from(1), (std::vector<std::string>{preserved, preserved}));
  // Symmetric: the gateway's address, a port of its own choosing per connection.
  const auto symmetric = seen_from(2);
  ASSERT_EQ(symmetric.size(), 2u);
  for (const auto& from : symmetric) EXPECT_EQ(from.substr(0, from.find(':')), bed->gateway_public_ip(2)) << from;
  EXPECT_TRUE(symmetric[0] != bed->gateway_public_ip(2) + ":7000" || symmetric[1] != bed->gateway_public_ip(2) + ":7000")
      << symmetric[0] << " " << symmetric[1];

  // Unsolicited inbound: a SYN to a gateway vanishes (no reset: a timeout, not a
  // refusal), though the private host listens on that port; the private network
  // itself is not routed from the public segment at all.
  for (int network : {1, 2}) {
    const int host = bed->hosts_in(network).front();
    const Fd inner = listen_in(bed->netns(host), "0.0.0.0", kTestbedPort + 2);
    ASSERT_GE(inner.fd, 0);
    EXPECT_EQ(dial_in(bed->netns(server), 0, bed->gateway_public_ip(network), kTestbedPort + 2).error, ETIMEDOUT)
        << "network " << network;
    EXPECT_NE(dial_in(bed->netns(server), 0, bed->ip(host), kTestbedPort + 2).error, 0) << "network " << network;
    EXPECT_EQ(accept_from(inner), "") << "network " << network;
  }

  // Gone with the testbed: every namespace (and with them every veth and bridge).
  std::vector<std::string> names;
  for (int h = 0; h < bed->size(); ++h) names.push_back(bed->netns(h));
  for (int n = 1; n < bed->network_count(); ++n) names.push_back(bed->gateway_netns(n));
  bed.reset();
  for (const auto& name : names) EXPECT_FALSE(std::filesystem::exists("/run/netns/" + name)) << name;
}

}  // namespace
}  // namespace datafold::net::testing
