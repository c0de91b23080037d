// Scale: one node holds 5,000 idle connections, each a real peer (its own Ed25519
// identity, TLS 1.3 with mutual authentication, the Hello exchange), and still
// answers a query from a peer that arrives after them. bench/idle measures what
// each of those connections costs in memory.
#include "datafold/net/network_core.hpp"

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

#include "datafold/net/message_codec.hpp"
#include "support/test_nodes.hpp"
#include "tls_certificate.hpp"
#include "tls_context.hpp"

namespace datafold::net {
namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;
using namespace std::chrono_literals;

constexpr std::size_t kIdleConnections = 5000;
// Both ends of every connection live in this process, plus the node's listener,
// epoll and the test's own descriptors.
constexpr std::size_t kDescriptorsNeeded = 2 * kIdleConnections + 256;
// Handshakes in flight at once: enough to keep the node busy, few enough that none
// waits long in the accept queue.
constexpr std::size_t kParallelHandshakes = 32;
constexpr auto kOpenDeadline = 90s;

// Raises the soft descriptor limit to the hard one; the limit now in force.
rlim_t raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

// Peers that connect as a node does, then stay silent. Once the node's Hello is in,
// a peer keeps only its socket (the node's side is what is under test), so 5,000
// of them cost this process little; they cannot answer the node's pings.
class IdlePeers {
 public:
  explicit IdlePeers(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      auto identity = Identity::generate();
      auto certificate = detail::make_self_signed_certificate(*identity);
      identities_.push_back(std::move(*identity));
      certificates_.push_back(std::move(*certificate));
    }
    tls_ = *detail::make_tls_context(identities_.front());
  }

  // Connects every peer to the node at `port`; returns how many are open.
  std::size_t open(std::uint16_t port, const std::string& network_name) {
    const asio::ip::tcp::endpoint node(asio::ip::make_address("127.0.0.1"), port);
    for (std::size_t i = 0; i < kParallelHandshakes; ++i)
      asio::co_spawn(io_, open_next(node, network_name), asio::detached);
    // A peer still handshaking at the deadline is abandoned with the io_context.
    io_.run_for(kOpenDeadline);
    return sockets_.size();
  }

  void close_all() {
    for (auto& socket : sockets_) socket.close();
    sockets_.clear();
  }

  const std::string& last_failure() const { return last_failure_; }

 private:
  asio::awaitable<void> open_next(asio::ip::tcp::endpoint node, std::string network_name) {
    while (next_ < identities_.size()) {
      const std::size_t peer = next_++;
      if (auto failure = co_await open_one(peer, node, network_name); !failure.empty()) last_failure_ = failure;
    }
  }

  // Empty on success, else what went wrong.
  asio::awaitable<std::string> open_one(std::size_t peer, asio::ip::tcp::endpoint node,
                                        const std::string& network_name) {
    asio::ssl::stream<asio::ip::tcp::socket> stream(io_, *tls_);
    SSL* ssl = stream.native_handle();
    detail::configure_client(ssl);
    SSL_use_certificate(ssl, certificates_[peer].get());
    SSL_use_PrivateKey(ssl, identities_[peer].native_handle());
    if (auto [ec] = co_await stream.next_layer().async_connect(node, as_tuple(use_awaitable)); ec)
      co_return "connect: " + ec.message();
    if (auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, as_tuple(use_awaitable)); ec)
      co_return "TLS: " + ec.message();

    HelloMessage hello;
    hello.message_id = Uuid::random();
    hello.node_id = identities_[peer].node_id();
    hello.agent = "idle-peer";
    hello.network_name = network_name;
    std::string frame;
    append_frame(hello, frame);
    if (auto [ec, n] = co_await asio::async_write(stream, asio::buffer(frame), as_tuple(use_awaitable)); ec)
      co_return "Hello: " + ec.message();
    FrameDecoder decoder(64 * 1024);
    std::span<const std::uint8_t> payload;
    while (decoder.next(payload) == FrameDecoder::Status::NeedMore) {
      auto buffer = decoder.prepare(4096);
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(buffer.data(), buffer.size()), as_tuple(use_awaitable));
      if (ec) co_return "node's Hello: " + ec.message();
      decoder.commit(n);
    }
    auto reply = decode_envelope(payload);
    if (!reply || !std::holds_alternative<HelloMessage>(*reply)) co_return "the node did not answer with a Hello";

    sockets_.emplace_back(io_, node.protocol(), stream.next_layer().release());
    co_return "";
  }

  std::vector<Identity> identities_;
  std::vector<detail::X509Ptr> certificates_;
  std::shared_ptr<asio::ssl::context> tls_;
  asio::io_context io_;
  std::size_t next_ = 0;
  std::vector<asio::ip::tcp::socket> sockets_;
  std::string last_failure_;
};

QueryResult answer_greeting(const Query& query) {
  QueryResult result;
  for (const auto& field : query.fields) result.results.push_back({field, Json("hello, " + field)});
  return result;
}

TEST(IdleConnections, FiveThousandIdlePeersAndTheNodeStillAnswersANewOne) {
  const rlim_t limit = raise_descriptor_limit();
  if (limit < kDescriptorsNeeded)
    GTEST_SKIP() << "needs " << kDescriptorsNeeded << " file descriptors; the hard limit (ulimit -Hn) allows "
                 << limit;

  auto config = testing::loopback_config();
  config.max_connections = kIdleConnections + 16;
  // The idle peers never answer a ping, and three missed pongs close a connection:
  // on a slow machine the test could outlast that at the default 30 s interval.
  config.ping_interval = 10min;
  auto node = testing::start_node(config);
  ASSERT_TRUE(node);
  node->set_query_callback([](Query query) { return answer_greeting(query); });

  IdlePeers idle(kIdleConnections);
  const std::size_t opened = idle.open(node->listen_port(), config.network_name);
  ASSERT_EQ(opened, kIdleConnections) << "last failure: " << idle.last_failure();
  // The node adopts a connection just after answering its Hello.
  ASSERT_TRUE(testing::eventually([&] { return node->stats().open_connections == kIdleConnections; }, 30s))
      << node->stats().open_connections << " open";

  auto newcomer = testing::start_node();
  ASSERT_TRUE(newcomer);
  testing::introduce(*newcomer, *node);
  auto answer = newcomer->query_node(node->local_node_id(), Query{"Greeting", {"world"}, "", 0, std::nullopt});
  ASSERT_TRUE(answer) << answer.error().to_string();
  ASSERT_EQ(answer->results.size(), 1u);
  EXPECT_EQ(answer->results[0].value(), Json("hello, world"));

  const auto stats = node->stats();
  EXPECT_EQ(stats.open_connections, kIdleConnections + 1);
  EXPECT_EQ(stats.inbound_accepted, kIdleConnections + 1);
  EXPECT_EQ(stats.handshake_failures, 0u);
  EXPECT_EQ(stats.queries_answered, 1u);

  // The idle peers hang up; the node lets every connection go and keeps the newcomer.
  idle.close_all();
  EXPECT_TRUE(testing::eventually([&] { return node->stats().open_connections == 1; }, 30s))
      << node->stats().open_connections << " open";
  auto again = newcomer->query_node(node->local_node_id(), Query{"Greeting", {"again"}, "", 0, std::nullopt});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->results[0].value(), Json("hello, again"));
  EXPECT_TRUE(newcomer->stop());
  EXPECT_TRUE(node->stop());
}

}  // namespace
}  // namespace datafold::net
