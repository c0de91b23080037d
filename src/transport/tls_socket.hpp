// TlsSocket: TLS 1.3 on a TCP socket, for coroutines on one strand.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <system_error>
#include <tuple>

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>

namespace datafold::net::detail {

// TLS on a TCP socket, with OpenSSL reading and writing the socket itself.
// asio::ssl::stream keeps about 70 KiB of buffers per connection for as long as the
// connection lives, busy or not; this keeps none of its own, and with
// SSL_MODE_RELEASE_BUFFERS OpenSSL frees its record buffers whenever they are
// empty, so an idle connection holds no buffer at all. Use on one strand; one
// reader and one writer may be outstanding at once.
class TlsSocket {
 public:
  TlsSocket(asio::ip::tcp::socket socket, asio::ssl::context& tls);

  asio::ip::tcp::socket& lowest_layer() noexcept { return socket_; }
  asio::any_io_executor get_executor() noexcept { return socket_.get_executor(); }
  // Null only if OpenSSL could not make the session (then handshake() fails).
  SSL* native_handle() const noexcept { return ssl_.get(); }

  asio::awaitable<std::error_code> handshake(bool server);
  // Waits until a read would find something: received bytes OpenSSL holds, or the
  // socket readable. Needs no buffer, so a reader can wait without one.
  asio::awaitable<std::error_code> wait_readable();
  // Reads at least one byte. End of stream: asio::error::eof after the peer's
  // close_notify, asio::ssl::error::stream_truncated without one.
  asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(std::span<std::uint8_t> into);
  // Writes every byte unless an error comes first.
  asio::awaitable<std::tuple<std::error_code, std::size_t>> write_all(std::span<const std::uint8_t> bytes);

 private:
  struct SslFree {
    void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
  };
  enum class Want { Nothing, Read, Write };
  // What an SSL call that returned `result` needs next, or the error it ended in.
  Want want_after(int result, std::error_code& error) const;
  asio::awaitable<std::error_code> wait(Want want);

  asio::ip::tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

}  // namespace datafold::net::detail
