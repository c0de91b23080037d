#include "support/raw_tls_client.hpp"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "transport/tls_context.hpp"

namespace datafold::net::testing {

namespace {
// Runs the started operation until it completes or the deadline passes; on
// timeout the socket is cancelled so nothing is left outstanding.
template <class Socket>
bool run_until(asio::io_context& io, Socket& socket, const bool& done, std::chrono::milliseconds deadline) {
  io.restart();
  io.run_for(deadline);
  if (done) return true;
  std::error_code ignored;
  socket.cancel(ignored);
  io.restart();
  io.run_for(std::chrono::seconds(1));
  return false;
}
}  // namespace

RawTlsClient::RawTlsClient()
    : identity_(*Identity::generate()), tls_(*detail::make_tls_context(identity_)) {}

bool RawTlsClient::connect_from(const std::string& source_ip, std::uint16_t port, Millis deadline) {
  // A second connection with the same identity starts clean.
  closed_ = false;
  decoder_ = FrameDecoder{};
  stream_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io_, *tls_);
  if (alpn_ == std::string(kAlpnProtocol)) {
    detail::configure_client(stream_->native_handle());
  } else if (alpn_ && !alpn_->empty()) {
    std::string wire(1, static_cast<char>(alpn_->size()));
    wire += *alpn_;
    SSL_set_alpn_protos(stream_->native_handle(), reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  bool done = false;
  std::error_code result;
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  if (!source_ip.empty()) {
    std::error_code ec;
    auto source = asio::ip::make_address(source_ip, ec);
    if (ec) return false;
    auto& socket = stream_->lowest_layer();
    socket.open(endpoint.protocol(), ec);
    if (!ec) socket.bind(asio::ip::tcp::endpoint(source, 0), ec);
    if (ec) return false;
  }
  stream_->lowest_layer().async_connect(endpoint, [&](std::error_code ec) {
    if (ec) {
      result = ec;
      done = true;
      return;
    }
    stream_->async_handshake(asio::ssl::stream_base::client, [&](std::error_code hec) {
      result = hec;
      done = true;
    });
  });
  const bool finished = run_until(io_, stream_->lowest_layer(), done, deadline);
  connect_error_ = finished ? result : std::make_error_code(std::errc::timed_out);
  return finished && !result;
}

bool RawTlsClient::exchange_hello(std::uint32_t min_version, std::uint32_t max_version,
                                  const std::string& network_name) {
  HelloMessage hello;
  hello.message_id = Uuid::random();
  hello.min_version = min_version;
  hello.max_version = max_version;
  hello.node_id = identity_.node_id();
  hello.agent = "raw-test-client";
  hello.network_name = network_name;
  if (!send(hello)) return false;
  auto reply = read_message();
  if (!reply || !std::holds_alternative<HelloMessage>(*reply)) return false;
  node_hello_ = std::get<HelloMessage>(*reply);
  return true;
}

bool RawTlsClient::write(std::string_view bytes, Millis deadline) {
  bool done = false;
  std::error_code result;
  asio::async_write(*stream_, asio::buffer(bytes.data(), bytes.size()), [&](std::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  return run_until(io_, stream_->lowest_layer(), done, deadline) && !result;
}

bool RawTlsClient::read_more(Millis deadline) {
  if (closed_) return false;
  bool done = false;
  std::error_code result;
  std::size_t got = 0;
  auto buffer = decoder_.prepare(16 * 1024);
  stream_->async_read_some(asio::buffer(buffer.data(), buffer.size()), [&](std::error_code ec, std::size_t n) {
    result = ec;
    got = n;
    done = true;
  });
  if (!run_until(io_, stream_->lowest_layer(), done, deadline)) return false;
  decoder_.commit(got);
  if (result) closed_ = true;
  return !result;
}

std::optional<Message> RawTlsClient::read_message(Millis deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::span<const std::uint8_t> payload;
  for (;;) {
    switch (decoder_.next(payload)) {
      case FrameDecoder::Status::Frame: {
        auto decoded = decode_envelope(payload);
        if (!decoded) return std::nullopt;
        return std::move(*decoded);
      }
      case FrameDecoder::Status::TooLarge:
        return std::nullopt;
      case FrameDecoder::Status::NeedMore:
        break;
    }
    const auto left = std::chrono::duration_cast<Millis>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !read_more(left)) return std::nullopt;
  }
}

bool RawTlsClient::wait_closed(Millis deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!closed_) {
    const auto left = std::chrono::duration_cast<Millis>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!read_more(left) && !closed_) return false;
  }
  return true;
}

bool RawTlsClient::wait_closed_unread(Millis deadline) {
  if (closed_ || !stream_) return true;
  // POLLRDHUP: the node's FIN arrived, whatever is still queued before it.
  pollfd p{stream_->lowest_layer().native_handle(), POLLRDHUP, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(deadline.count()));
  return ready > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

std::uint16_t RawTlsClient::local_port() const {
  std::error_code ec;
  if (!stream_) return 0;
  const auto endpoint = stream_->lowest_layer().local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void RawTlsClient::hang_up() {
  std::error_code ignored;
  if (stream_) stream_->lowest_layer().shutdown(asio::socket_base::shutdown_send, ignored);
}

void RawTlsClient::reset() {
  if (!stream_) return;
  std::error_code ignored;
  // A zero linger makes close() abort the connection: the kernel sends an RST.
  stream_->lowest_layer().set_option(asio::socket_base::linger(true, 0), ignored);
  stream_->lowest_layer().close(ignored);
  closed_ = true;
}

std::optional<std::size_t> RawTlsClient::unacknowledged() const {
  if (!stream_ || !stream_->lowest_layer().is_open()) return std::nullopt;
  int bytes = 0;
  if (::ioctl(stream_->lowest_layer().native_handle(), SIOCOUTQ, &bytes) != 0) return std::nullopt;
  return static_cast<std::size_t>(bytes);
}

}  // namespace datafold::net::testing
