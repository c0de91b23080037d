#include "transport/tls_socket.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>

namespace datafold::net::detail {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;

using IoResult = std::tuple<std::error_code, std::size_t>;

// Every OpenSSL call starts with an empty error queue and errno, so what it leaves
// there is its own (the queue is per thread, and a strand hops threads).
void clear_errors() {
  ERR_clear_error();
  errno = 0;
}

// OpenSSL's socket BIO writes with write(2), which raises SIGPIPE (killing the
// process by default) when the peer has gone; this one sends with MSG_NOSIGNAL, as
// asio does. The BIO holds the descriptor number only: it never closes it.
int socket_of(BIO* bio) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio))); }

bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

int socket_bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const auto sent = ::send(socket_of(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (sent < 0 && would_block(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(sent);
}

int socket_bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  const auto received = ::recv(socket_of(bio), data, static_cast<std::size_t>(size), 0);
  if (received < 0 && would_block(errno)) BIO_set_retry_read(bio);
  // Remembered so OpenSSL can tell a peer that closed without close_notify.
  if (received == 0) BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
  return static_cast<int>(received);
}

long socket_bio_ctrl(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered here
    case BIO_CTRL_EOF:
      return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

const BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "datafold socket");
    if (m != nullptr) {
      BIO_meth_set_write(m, socket_bio_write);
      BIO_meth_set_read(m, socket_bio_read);
      BIO_meth_set_ctrl(m, socket_bio_ctrl);
    }
    return m;
  }();
  return method;
}

// A BIO over `socket`, or null.
BIO* make_socket_bio(int socket) {
  const BIO_METHOD* method = socket_bio_method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) return nullptr;
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(socket)));
  BIO_set_init(bio, 1);
  return bio;
}

}  // namespace

TlsSocket::TlsSocket(asio::ip::tcp::socket socket, asio::ssl::context& tls)
    : socket_(std::move(socket)), ssl_(SSL_new(tls.native_handle())) {
  std::error_code ec;
  socket_.non_blocking(true, ec);
  BIO* bio = (ec || !ssl_) ? nullptr : make_socket_bio(socket_.native_handle());
  if (bio == nullptr) {
    ssl_.reset();
    return;
  }
  SSL_set_bio(ssl_.get(), bio, bio);  // one BIO both ways; the session owns it
  // Read ahead: a read takes whatever the socket has (several records) instead of a
  // header then a body. Partial writes: each write returns once a record is out, so
  // write_all() knows how far it got when the socket is full.
  SSL_set_read_ahead(ssl_.get(), 1);
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE);
}

TlsSocket::Want TlsSocket::want_after(int result, std::error_code& error) const {
  const int socket_errno = errno;
  switch (SSL_get_error(ssl_.get(), result)) {
    case SSL_ERROR_WANT_READ:
      return Want::Read;
    case SSL_ERROR_WANT_WRITE:
      return Want::Write;
    case SSL_ERROR_ZERO_RETURN:
      error = asio::error::eof;
      break;
    case SSL_ERROR_SYSCALL:
      // No errno: the peer closed the socket without a close_notify.
      error = socket_errno != 0 ? std::error_code(socket_errno, asio::error::get_system_category())
                                : std::error_code(asio::ssl::error::stream_truncated);
      break;
    default: {
      // As asio::ssl::stream reports it, so callers can tell TLS refusals from the rest.
      const unsigned long code = ERR_get_error();
      error = ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING
                  ? std::error_code(asio::ssl::error::stream_truncated)
                  : std::error_code(static_cast<int>(code), asio::error::get_ssl_category());
      break;
    }
  }
  ERR_clear_error();
  return Want::Nothing;
}

asio::awaitable<std::error_code> TlsSocket::wait(Want want) {
  auto [ec] = co_await socket_.async_wait(
      want == Want::Read ? asio::socket_base::wait_read : asio::socket_base::wait_write, as_tuple(use_awaitable));
  // Closed while the completion was queued: the descriptor number OpenSSL holds may
  // already belong to another socket, so it must not be touched again.
  if (!ec && !socket_.is_open()) ec = asio::error::operation_aborted;
  co_return ec;
}

asio::awaitable<std::error_code> TlsSocket::handshake(bool server) {
  if (!ssl_) co_return std::error_code(asio::error::no_memory);
  if (server) {
    SSL_set_accept_state(ssl_.get());
  } else {
    SSL_set_connect_state(ssl_.get());
  }
  for (;;) {
    if (!socket_.is_open()) co_return std::error_code(asio::error::operation_aborted);
    clear_errors();
    const int result = SSL_do_handshake(ssl_.get());
    if (result == 1) co_return std::error_code{};
    std::error_code error;
    const Want want = want_after(result, error);
    if (want == Want::Nothing) co_return error;
    if (auto waited = co_await wait(want)) co_return waited;
  }
}

asio::awaitable<std::error_code> TlsSocket::wait_readable() {
  if (!socket_.is_open()) co_return std::error_code(asio::error::operation_aborted);
  if (SSL_has_pending(ssl_.get()) == 1) co_return std::error_code{};
  co_return co_await wait(Want::Read);
}

asio::awaitable<IoResult> TlsSocket::read_some(std::span<std::uint8_t> into) {
  for (;;) {
    if (!socket_.is_open()) co_return IoResult{asio::error::operation_aborted, 0};
    clear_errors();
    std::size_t n = 0;
    const int result = SSL_read_ex(ssl_.get(), into.data(), into.size(), &n);
    if (result == 1) co_return IoResult{std::error_code{}, n};
    std::error_code error;
    const Want want = want_after(result, error);
    if (want == Want::Nothing) co_return IoResult{error, 0};
    if (auto waited = co_await wait(want)) co_return IoResult{waited, 0};
  }
}

asio::awaitable<IoResult> TlsSocket::write_all(std::span<const std::uint8_t> bytes) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    if (!socket_.is_open()) co_return IoResult{asio::error::operation_aborted, written};
    clear_errors();
    std::size_t n = 0;
    const int result = SSL_write_ex(ssl_.get(), bytes.data() + written, bytes.size() - written, &n);
    if (result == 1) {
      written += n;
      continue;
    }
    std::error_code error;
    const Want want = want_after(result, error);
    if (want == Want::Nothing) co_return IoResult{error, written};
    if (auto waited = co_await wait(want)) co_return IoResult{waited, written};
  }
  co_return IoResult{std::error_code{}, written};
}

}  // namespace datafold::net::detail
