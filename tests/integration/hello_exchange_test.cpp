// Two TlsConnections over real loopback TCP: each side's Hello tells the other
// where its connection came from (observed_address), over IPv4, IPv6 and a
// dual-stack listener, and IPv4 peers of a dual-stack listener read as IPv4.
#include "transport/tls_connection.hpp"

#include <future>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/strand.hpp>
#include <asio/use_future.hpp>
#include <gtest/gtest.h>

#include "core/endpoint.hpp"
#include "core/ip_address.hpp"
#include "transport/listener.hpp"
#include "transport/tls_context.hpp"

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;

struct Side {
  Identity identity = Identity::generate().value();
  std::shared_ptr<asio::ssl::context> tls = make_tls_context(identity).value();
  HandshakeParams params() const {
    HandshakeParams p;
    p.local_id = identity.node_id();
    p.network_name = "hello-test";
    p.agent = "hello-test";
    p.listen_port = 9000;
    p.timeout = 5s;
    return p;
  }
};

struct Exchange {
  std::shared_ptr<TlsConnection> client;  // dialled
  std::shared_ptr<TlsConnection> server;  // accepted
  tcp::endpoint client_local;             // the client socket's own address, as the OS gave it
  tcp::endpoint server_local;
};

class HelloExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // Listens on listen_ip (port 0), dials it at dial_ip, runs both handshakes.
  // nullopt (with the test failed) when a step fails.
  std::optional<Exchange> exchange(const std::string& listen_ip, const std::string& dial_ip) {
    tcp::acceptor acceptor(asio::make_strand(io_));
    auto opened = open_listener(acceptor, listen_ip, 0);
    if (!opened) {
      ADD_FAILURE() << opened.error().to_string();
      return std::nullopt;
    }
    const auto port = acceptor.local_endpoint().port();

    tcp::socket client_socket(asio::make_strand(io_));
    auto accepted = acceptor.async_accept(asio::make_strand(io_), asio::use_future);
    std::error_code ec;
    client_socket.connect(tcp::endpoint(asio::ip::make_address(dial_ip), port), ec);
    if (ec) {
      ADD_FAILURE() << "connect to " << dial_ip << ": " << ec.message();
      return std::nullopt;
    }
    if (accepted.wait_for(5s) != std::future_status::ready) {
      ADD_FAILURE() << "accept did not finish";
      return std::nullopt;
    }
    Exchange out;
    out.client_local = client_socket.local_endpoint();
    auto server_socket = accepted.get();
    out.server_local = server_socket.local_endpoint();
    out.client = std::make_shared<TlsConnection>(std::move(client_socket), *client_side_.tls, false, ConnectionLimits{});
    out.server = std::make_shared<TlsConnection>(std::move(server_socket), *server_side_.tls, true, ConnectionLimits{});

    auto client_done = asio::co_spawn(out.client->executor(), out.client->handshake(client_side_.params()), asio::use_future);
    auto server_done = asio::co_spawn(out.server->executor(), out.server->handshake(server_side_.params()), asio::use_future);
    if (client_done.wait_for(10s) != std::future_status::ready || server_done.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "handshake did not finish";
      return std::nullopt;
    }
    auto client_ok = client_done.get();
    auto server_ok = server_done.get();
    if (!client_ok || !server_ok) {
      ADD_FAILURE() << "handshake failed: " << (client_ok ? server_ok.error() : client_ok.error()).to_string();
      return std::nullopt;
    }
    return out;
  }

  static bool ipv6_loopback_available() {
    asio::io_context io;
    tcp::acceptor probe(io);
    std::error_code ec;
    probe.open(tcp::v6(), ec);
    if (!ec) probe.bind(tcp::endpoint(asio::ip::address_v6::loopback(), 0), ec);
    return !ec;
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{asio::make_work_guard(io_)};
  std::thread thread_;
  Side client_side_;
  Side server_side_;
};

TEST_F(HelloExchangeTest, EachSideLearnsWhereItsConnectionComesFromOverIpv4) {
  auto x = exchange("127.0.0.1", "127.0.0.1");
  ASSERT_TRUE(x);
  // The server saw the client's ephemeral port; the client saw the server's listen port.
  EXPECT_EQ(x->client->peer_hello().observed_address, format_endpoint(x->client_local));
  EXPECT_EQ(x->server->peer_hello().observed_address, format_endpoint(x->server_local));
  EXPECT_EQ(x->server->remote_address(), format_endpoint(x->client_local));
  EXPECT_EQ(x->client->remote_address(), format_endpoint(x->server_local));
}

TEST_F(HelloExchangeTest, EachSideLearnsWhereItsConnectionComesFromOverIpv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback on this host";
  auto x = exchange("::1", "::1");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->client->peer_hello().observed_address, "[::1]:" + std::to_string(x->client_local.port()));
  EXPECT_EQ(x->server->peer_hello().observed_address, "[::1]:" + std::to_string(x->server_local.port()));
}

TEST_F(HelloExchangeTest, ADualStackListenerTakesIpv4PeersAndWritesThemAsIpv4) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 on this host";
  auto x = exchange("::", "127.0.0.1");
  ASSERT_TRUE(x);
  ASSERT_TRUE(x->server_local.address().is_v6()) << "the listener is an IPv6 socket";
  // Not "[::ffff:127.0.0.1]:port": per-IP limits, loopback exemption and observed
  // addresses must see the same IPv4 peer whichever socket took it.
  EXPECT_EQ(x->server->remote_address(), "127.0.0.1:" + std::to_string(x->client_local.port()));
  EXPECT_EQ(x->client->peer_hello().observed_address, "127.0.0.1:" + std::to_string(x->client_local.port()));
  EXPECT_EQ(x->server->peer_hello().observed_address, "127.0.0.1:" + std::to_string(x->server_local.port()));
}

TEST_F(HelloExchangeTest, ADualStackListenerTakesIpv6PeersToo) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 on this host";
  auto x = exchange("::", "::1");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->server->remote_address(), "[::1]:" + std::to_string(x->client_local.port()));
}

TEST_F(HelloExchangeTest, AnIpv4OnlyListenerRefusesIpv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 on this host";
  tcp::acceptor acceptor(io_);
  ASSERT_TRUE(open_listener(acceptor, "0.0.0.0", 0));
  tcp::socket socket(io_);
  std::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::address_v6::loopback(), acceptor.local_endpoint().port()), ec);
  EXPECT_TRUE(ec) << "\"0.0.0.0\" must mean IPv4 only";
}

TEST_F(HelloExchangeTest, ASpecificIpv6ListenerIsIpv6Only) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 on this host";
  tcp::acceptor acceptor(io_);
  ASSERT_TRUE(open_listener(acceptor, "::1", 0));
  asio::ip::v6_only v6_only;
  acceptor.get_option(v6_only);
  EXPECT_TRUE(v6_only.value());
}

TEST_F(HelloExchangeTest, ListenerAddressMustBeAnIp) {
  tcp::acceptor acceptor(io_);
  auto opened = open_listener(acceptor, "localhost", 0);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, ErrorKind::Config);
  EXPECT_FALSE(acceptor.is_open());
}

TEST_F(HelloExchangeTest, ListenerInUseIsAConnectionError) {
  tcp::acceptor first(io_);
  ASSERT_TRUE(open_listener(first, "127.0.0.1", 0));
  // SO_REUSEADDR lets a TCP listener reuse a port in TIME_WAIT, never one that is listening.
  tcp::acceptor second(io_);
  auto opened = open_listener(second, "127.0.0.1", first.local_endpoint().port());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, ErrorKind::Connection);
  EXPECT_FALSE(second.is_open());
}

}  // namespace
}  // namespace datafold::net::detail
