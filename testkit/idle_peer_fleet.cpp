#include "testkit/idle_peer_fleet.hpp"

#include <openssl/ssl.h>

#include <stdexcept>
#include <unordered_set>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "datafold/net/message.hpp"
#include "datafold/net/message_codec.hpp"
#include "transport/tls_context.hpp"

namespace datafold::testkit {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;

// The node's Hello is a few hundred bytes; anything bigger is not a Hello.
constexpr std::size_t kMaxHelloFrameBytes = 64 * 1024;
constexpr std::size_t kReadChunkBytes = 4 * 1024;
// After the deadline, closing what is still connecting ends it within this.
constexpr auto kCancelGrace = std::chrono::seconds(5);

}  // namespace

// Workers started by one open() call, and what they need to be stopped at its deadline.
struct IdlePeerFleet::Run {
  std::size_t workers_left = 0;
  bool deadline_passed = false;
  std::unordered_set<asio::ip::tcp::socket*> connecting;
  asio::steady_timer deadline;
  explicit Run(asio::io_context& io) : deadline(io) {}
};

IdlePeerFleet::IdlePeerFleet(std::size_t size) {
  identities_.reserve(size);
  certificates_.reserve(size);
  for (std::size_t i = 0; i < size; ++i) {
    auto identity = net::Identity::generate();
    if (!identity) throw std::runtime_error("cannot make an identity: " + identity.error().message);
    auto certificate = net::detail::make_self_signed_certificate(*identity);
    if (!certificate) throw std::runtime_error("cannot make a certificate: " + certificate.error().message);
    identities_.push_back(std::move(*identity));
    certificates_.push_back(std::move(*certificate));
  }
  connected_.assign(size, false);
  if (size > 0) {
    // One context for all; each connection then presents its own peer's certificate.
    auto tls = net::detail::make_tls_context(identities_.front());
    if (!tls) throw std::runtime_error("cannot make a TLS context: " + tls.error().message);
    tls_ = std::move(*tls);
  }
}

IdlePeerFleet::~IdlePeerFleet() { close_all(); }

std::size_t IdlePeerFleet::open(std::uint16_t port, const std::string& network_name,
                                std::chrono::milliseconds deadline, std::size_t parallel) {
  const asio::ip::tcp::endpoint node(asio::ip::make_address("127.0.0.1"), port);
  // Shared with the workers: one still suspended after this call returns keeps it.
  auto run = std::make_shared<Run>(io_);
  next_ = 0;
  run->workers_left = std::max<std::size_t>(parallel, 1);
  run->deadline.expires_after(deadline);
  run->deadline.async_wait([run](std::error_code ec) {
    if (ec) return;  // every worker finished first
    run->deadline_passed = true;
    for (auto* socket : run->connecting) {
      std::error_code ignored;
      socket->close(ignored);
    }
  });
  for (std::size_t i = 0; i < run->workers_left; ++i)
    asio::co_spawn(io_, open_next(run, node, network_name), asio::detached);
  io_.restart();
  io_.run_for(deadline + kCancelGrace);
  return open_count();
}

asio::awaitable<void> IdlePeerFleet::open_next(std::shared_ptr<Run> run, asio::ip::tcp::endpoint node,
                                               std::string network_name) {
  while (!run->deadline_passed && next_ < size()) {
    const std::size_t peer = next_++;
    if (connected_[peer]) continue;
    connected_[peer] = co_await open_one(peer, *run, node, network_name);
  }
  if (--run->workers_left == 0) run->deadline.cancel();
}

asio::awaitable<bool> IdlePeerFleet::open_one(std::size_t peer, Run& run, asio::ip::tcp::endpoint node,
                                              const std::string& network_name) {
  asio::ssl::stream<asio::ip::tcp::socket> stream(io_, *tls_);
  auto fail = [&](std::string why) {
    last_failure_ = std::move(why);
    run.connecting.erase(&stream.next_layer());
    return false;
  };
  SSL* ssl = stream.native_handle();
  net::detail::configure_client(ssl);
  if (SSL_use_certificate(ssl, certificates_[peer].get()) != 1 ||
      SSL_use_PrivateKey(ssl, identities_[peer].native_handle()) != 1)
    co_return fail("cannot install a peer's certificate");
  run.connecting.insert(&stream.next_layer());

  auto [connect_ec] = co_await stream.next_layer().async_connect(node, as_tuple(use_awaitable));
  if (connect_ec) co_return fail("connect: " + connect_ec.message());
  auto [tls_ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, as_tuple(use_awaitable));
  if (tls_ec) co_return fail("TLS handshake: " + tls_ec.message());

  net::HelloMessage hello;
  hello.message_id = net::Uuid::random();
  hello.node_id = identities_[peer].node_id();
  hello.agent = "idle-peer";
  hello.network_name = network_name;
  std::string frame;
  net::append_frame(hello, frame);
  auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(frame), as_tuple(use_awaitable));
  if (write_ec) co_return fail("sending Hello: " + write_ec.message());

  net::FrameDecoder decoder(kMaxHelloFrameBytes);
  std::span<const std::uint8_t> payload;
  for (;;) {
    const auto status = decoder.next(payload);
    if (status == net::FrameDecoder::Status::Frame) break;
    if (status == net::FrameDecoder::Status::TooLarge) co_return fail("node's first frame is too large");
    auto buffer = decoder.prepare(kReadChunkBytes);
    auto [read_ec, n] =
        co_await stream.async_read_some(asio::buffer(buffer.data(), buffer.size()), as_tuple(use_awaitable));
    if (read_ec) co_return fail("waiting for the node's Hello: " + read_ec.message());
    decoder.commit(n);
  }
  auto reply = net::decode_envelope(payload);
  if (!reply || !std::holds_alternative<net::HelloMessage>(*reply))
    co_return fail("node did not answer with a Hello");

  // The connection is established on both sides; keep the socket, drop our TLS state.
  run.connecting.erase(&stream.next_layer());
  std::error_code ec;
  const auto fd = stream.next_layer().release(ec);
  if (ec) co_return fail("keeping the socket: " + ec.message());
  sockets_.emplace_back(io_, node.protocol(), fd);
  co_return true;
}

void IdlePeerFleet::close_all() {
  for (auto& socket : sockets_) {
    std::error_code ignored;
    socket.close(ignored);
  }
  sockets_.clear();
  connected_.assign(connected_.size(), false);
}

}  // namespace datafold::testkit
