// TlsSocket: TLS 1.3 on a TCP socket, for coroutines on one strand.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include <openssl/ssl.h>
#include <sys/types.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>

#include "transport/dry_read_wait.hpp"
#include "transport/tls_records.hpp"

namespace datafold::net::detail {

// TLS on a TCP socket. OpenSSL makes the handshake, reading and writing the socket
// itself; then take_over_records() moves the connection's records to a
// TlsRecordLayer and frees the SSL session, which an idle connection would
// otherwise keep for as long as it lives (about 15 KiB: the session, the peer's
// certificate, the handshake's keys). Buffers are thread-local while a read or
// write runs; a connection keeps only a partly received record or the unsent
// part of a write, so an idle connection holds no buffer at all. Use on one
// strand; one reader and one writer may be outstanding at once.
class TlsSocket {
 public:
  TlsSocket(asio::ip::tcp::socket socket, asio::ssl::context& tls);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  asio::ip::tcp::socket& lowest_layer() noexcept { return socket_; }
  asio::any_io_executor get_executor() noexcept { return socket_.get_executor(); }
  // The handshake's session, for what it proved (ALPN, the peer's certificate).
  // Null if OpenSSL could not make it (then handshake() fails), and once the records
  // are taken over.
  SSL* native_handle() const noexcept { return ssl_.get(); }

  asio::awaitable<std::error_code> handshake(bool server);
  // After a successful handshake and before any application data: the records go
  // to a TlsRecordLayer and the SSL session is freed. False, with `why`, if that
  // cannot be (a suite it does not know, secrets missing, bytes already buffered).
  bool take_over_records(bool server, std::string& why);
  // Waits until a read would find something: a whole record already received, or
  // the socket readable. Needs no buffer, so a reader can wait without one.
  asio::awaitable<std::error_code> wait_readable();
  // Reads at least one byte, into a span of at least kTlsMaxPlaintext, or ends at
  // once with asio::error::would_block when none has come: it never waits, so a
  // reader woken by a stale readiness report can let its buffer go and wait again
  // (wait_readable) rather than park holding it. End of stream: asio::error::eof
  // after the peer's close_notify, asio::ssl::error::stream_truncated without one;
  // a record that fails is a TlsRecordError. Only after take_over_records().
  asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(std::span<std::uint8_t> into);
  // Writes every byte unless an error comes first. Only after take_over_records().
  asio::awaitable<std::tuple<std::error_code, std::size_t>> write_all(std::span<const std::uint8_t> bytes);

 private:
  struct SslFree {
    void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
  };
  enum class Want { Nothing, Read, Write };
  // Tells the peer why its records are refused (a fatal alert), if that can be
  // said between records now; a peer's own alert is logged.
  void tell_peer(const std::error_code& error);
  // What an SSL call that returned `result` needs next, or the error it ended in.
  Want want_after(int result, std::error_code& error) const;
  asio::awaitable<std::error_code> wait(Want want);
  // Waits for bytes to read: without a system call when the last receive found the
  // socket dry and no hang-up was reported since (DryReadWait), re-arming it otherwise.
  asio::awaitable<std::error_code> wait_to_read();
  // recv(2) into `size` bytes at `data`, noting whether it left the socket dry
  // (read_dry_): it would block, or the kernel's TCP_INQ hint says nothing is left.
  ssize_t receive(std::uint8_t* data, std::size_t size) noexcept;

  asio::ip::tcp::socket socket_;
  DryReadWait dry_read_wait_{socket_};
  // The last receive found nothing left to read (DryReadWait's contract).
  bool read_dry_ = false;
  // The kernel tells each receive how much is left (TCP_INQ, Linux 4.18 on).
  bool inq_hints_ = false;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::unique_ptr<TrafficSecrets> secrets_;  // filled by the handshake, gone after
  std::unique_ptr<TlsRecordLayer> records_;
  bool peer_closed_ = false;  // its close_notify came
  // Received bytes not yet opened: a record not yet whole, or whole records that
  // did not fit the last read. Empty (and unallocated) between records.
  std::vector<std::uint8_t> received_;
  // What a write could not send before the socket was full.
  std::vector<std::uint8_t> unsent_;
};

}  // namespace datafold::net::detail
