// A relay that presents itself as the far end: it answers the circuit join with TLS of
// its own instead of joining the circuit. The caller expects the target's key and
// refuses it (DESIGN.md section 10.3: the relay cannot impersonate either end).
//
// The impostor is a front in this test: connections that start with TLS go on to a
// real relay (so the caller's control connection and its Connect are genuine), and a
// circuit join is answered by the front's own TLS server, with a key of its own.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

#include "relay/circuit_join.hpp"
#include "support/test_nodes.hpp"
#include "transport/tls_context.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

int listen_on_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return -1;
  port = ntohs(address.sin_port);
  return fd;
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Copies bytes one way until either side ends; then shuts both down.
void pump(int from, int to) {
  char buffer[16 * 1024];
  for (;;) {
    const auto n = ::read(from, buffer, sizeof buffer);
    if (n <= 0 || ::write(to, buffer, static_cast<std::size_t>(n)) != n) break;
  }
  ::shutdown(from, SHUT_RDWR);
  ::shutdown(to, SHUT_RDWR);
}

class ImpostorFront {
 public:
  ImpostorFront(std::uint16_t relay_port, std::shared_ptr<asio::ssl::context> own_tls)
      : relay_port_(relay_port), tls_(std::move(own_tls)) {
    listener_ = listen_on_loopback(port_);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~ImpostorFront() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : workers_) t.join();
    for (int fd : fds_) ::close(fd);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int joins_answered() const { return joins_answered_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      fds_.push_back(client);
      std::uint8_t first = 0;
      if (::recv(client, &first, 1, MSG_PEEK) != 1) continue;
      if (detail::starts_circuit_join(first)) {
        workers_.emplace_back([this, client] { answer_join_itself(client); });
      } else {
        int relay = connect_loopback(relay_port_);
        if (relay < 0) continue;
        fds_.push_back(relay);
        workers_.emplace_back([client, relay] { pump(client, relay); });
        workers_.emplace_back([client, relay] { pump(relay, client); });
      }
    }
  }

  void answer_join_itself(int client) {
    std::uint8_t join[detail::kCircuitJoinBytes];
    if (::recv(client, join, sizeof join, MSG_WAITALL) != static_cast<ssize_t>(sizeof join)) return;
    ++joins_answered_;
    SSL* ssl = SSL_new(tls_->native_handle());
    SSL_set_fd(ssl, client);
    (void)SSL_accept(ssl);  // the caller refuses the key, so this fails: that is the point
    SSL_free(ssl);
    ::shutdown(client, SHUT_RDWR);
  }

  std::uint16_t relay_port_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> joins_answered_{0};
  std::vector<int> fds_;  // touched by the accept thread, then by the destructor after it joined
  std::vector<std::thread> workers_;
  std::thread thread_;
};

TEST(RelayImpostor, ARelayAnsweringTheCircuitAsTheFarEndIsRefused) {
  auto relay_config = loopback_config();
  relay_config.relay = true;
  relay_config.hole_punching = false;
  auto relay = start_node(relay_config);
  ASSERT_TRUE(relay);
  auto hidden_config = loopback_config();
  hidden_config.hole_punching = false;
  hidden_config.use_relays = NetworkConfig::RelayUse::Always;
  hidden_config.relays = {address_of(*relay)};
  auto hidden = start_node(hidden_config);
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query) { return QueryResult{}; });
  ASSERT_TRUE(eventually([&] { return !hidden->reachability().relayed_addresses.empty(); }, 15s));

  auto impostor_identity = Identity::generate();
  ASSERT_TRUE(impostor_identity.ok());
  auto impostor_tls = detail::make_tls_context(*impostor_identity);
  ASSERT_TRUE(impostor_tls.ok());
  ImpostorFront front(relay->listen_port(), *impostor_tls);

  // The caller is told the hidden node is reachable through the relay at the front.
  auto caller_config = loopback_config();
  caller_config.hole_punching = false;
  auto caller = start_node(caller_config);
  ASSERT_TRUE(caller);
  const std::string relayed = "relay:" + relay->local_node_id().to_string() + "@" + front.address();
  NodeInfo info;
  info.node_id = hidden->local_node_id();
  info.address = relayed;
  info.addresses.push_back(NodeAddress{relayed, AddressSource::Relay, {}, {}});
  caller->add_known_node(info);

  Query query;
  query.schema_name = "Anything";
  query.fields = {"name"};
  auto result = caller->query_node(hidden->local_node_id(), query);
  ASSERT_FALSE(result.ok()) << "a relay passed for the far end";
  EXPECT_EQ(result.error().kind, ErrorKind::Authentication) << result.error().to_string();
  EXPECT_EQ(front.joins_answered(), 1) << "the impostor never got to answer a join";
  EXPECT_TRUE(caller->connected_nodes().count(relay->local_node_id())) << "the control connection was genuine";
  EXPECT_FALSE(caller->connected_nodes().count(hidden->local_node_id()));
}

}  // namespace
}  // namespace datafold::net::testing
