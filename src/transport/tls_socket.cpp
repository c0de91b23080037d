#include "transport/tls_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

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
  // No read-ahead: OpenSSL reads each handshake record's header, then its body,
  // never a byte past the handshake, so whatever follows is the record layer's.
  secrets_ = std::make_unique<TrafficSecrets>();
  capture_traffic_secrets(ssl_.get(), secrets_.get());
}

TlsSocket::~TlsSocket() {
  if (ssl_) capture_traffic_secrets(ssl_.get(), nullptr);
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

bool TlsSocket::take_over_records(bool server, std::string& why) {
  if (!ssl_ || SSL_is_init_finished(ssl_.get()) != 1) {
    why = "the TLS handshake has not finished";
    return false;
  }
  // The records start at sequence 0 both ways: OpenSSL must have sealed nothing
  // under the application keys (a server's session tickets would be), and opened
  // nothing past the handshake (read-ahead is off).
  if (server && SSL_get_num_tickets(ssl_.get()) != 0) {
    why = "TLS session tickets are on";
    return false;
  }
  if (SSL_has_pending(ssl_.get()) == 1) {
    why = "the peer sent records OpenSSL has buffered";
    return false;
  }
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get());
  records_ = cipher == nullptr ? nullptr
                               : TlsRecordLayer::create(SSL_CIPHER_get_protocol_id(cipher), *secrets_, server, why);
  if (!records_) {
    if (cipher == nullptr) why = "the TLS handshake agreed no cipher";
    return false;
  }
  capture_traffic_secrets(ssl_.get(), nullptr);
  secrets_.reset();  // wiped
  ssl_.reset();
  // From here the records' reads are this socket's own (receive): each is told how
  // much is left, which is what lets a read know it emptied the socket. Without it
  // (a kernel before 4.18) every wait re-arms, as correct and a system call dearer.
  const int on = 1;
  inq_hints_ = ::setsockopt(socket_.native_handle(), SOL_TCP, TCP_INQ, &on, sizeof on) == 0;
  return true;
}

namespace {

// Where a read's records land and a write's are sealed, one per thread: a
// connection keeps nothing of it across a wait, so idle connections hold no buffer.
constexpr std::size_t kScratchBytes = 64 * 1024;
// A read takes from the socket about what the reader's span can hold once opened:
// more would only be kept aside for the next read.
constexpr std::size_t kReadSlack = 2 * 1024;

// Not inlined, and called again after every wait: a coroutine may resume on
// another thread, and compilers have kept a thread-local's address across a
// suspension (LLVM issues 47179, 63022), which would share one buffer between
// two connections.
[[gnu::noinline]] std::vector<std::uint8_t>& read_scratch() {
  thread_local std::vector<std::uint8_t> scratch(kScratchBytes + kTlsRecordHeaderBytes + kTlsMaxCiphertext);
  return scratch;
}

[[gnu::noinline]] SealedBytes& write_scratch() {
  thread_local SealedBytes scratch;
  return scratch;
}

// Keeps `bytes` in `into` (not much more capacity than they need), or frees
// `into` when there are none.
void keep(std::vector<std::uint8_t>& into, std::span<const std::uint8_t> bytes) {
  if (bytes.empty() || into.capacity() > 2 * bytes.size() + 4096) std::vector<std::uint8_t>().swap(into);
  into.assign(bytes.begin(), bytes.end());
}

std::error_code socket_error() { return {errno, asio::error::get_system_category()}; }

}  // namespace

asio::awaitable<std::error_code> TlsSocket::wait_readable() {
  if (!socket_.is_open()) co_return std::error_code(asio::error::operation_aborted);
  if (peer_closed_) co_return std::error_code{};  // the read that follows ends
  const std::size_t first = TlsRecordLayer::record_size(received_);
  if (first != 0 && received_.size() >= first) co_return std::error_code{};
  co_return co_await wait_to_read();
}

asio::awaitable<std::error_code> TlsSocket::wait_to_read() {
  // Asio's async_wait re-arms the socket in epoll (an epoll_ctl) every time; after a
  // dry read, DryReadWait needs no system call, so a wake costs the one receive.
  // Dry is proven, not guessed: a short read is not enough, since a FIN or RST that
  // came with the last bytes raises no edge of its own (PeerHangUp.* in
  // tests/integration/peer_hang_up_test.cpp sends exactly that). Receiving through
  // Asio instead (async_receive into a buffer of the connection's) was tried: Asio 1.22
  // then tries a receive before every wait, which finds nothing as often, and the
  // connection would hold a buffer while idle.
  const bool dry = std::exchange(read_dry_, false);  // the next wait is measured from this one
  if (!dry || dry_read_wait_.take_hang_up_report()) co_return co_await wait(Want::Read);
  auto [ec] = co_await dry_read_wait_.async_wait(as_tuple(use_awaitable));
  if (!ec && !socket_.is_open()) ec = asio::error::operation_aborted;
  co_return ec;
}

ssize_t TlsSocket::receive(std::uint8_t* data, std::size_t size) noexcept {
  const int fd = socket_.native_handle();
  if (!inq_hints_) {
    const auto n = ::recv(fd, data, size, 0);
    read_dry_ = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    return n;
  }
  iovec bytes{data, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr message{};
  message.msg_iov = &bytes;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  const auto n = ::recvmsg(fd, &message, 0);
  if (n < 0) {
    read_dry_ = errno == EAGAIN || errno == EWOULDBLOCK;  // (not EINTR: that says nothing)
    return n;
  }
  // Bytes left, as of the receive; a FIN counts as one, so that it is read too.
  read_dry_ = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int left = 0;
      std::memcpy(&left, CMSG_DATA(c), sizeof left);
      read_dry_ = left == 0;
    }
  }
  return n;
}

asio::awaitable<IoResult> TlsSocket::read_some(std::span<std::uint8_t> into) {
  if (!records_) co_return IoResult{asio::error::operation_not_supported, 0};
  if (into.size() < kTlsMaxPlaintext) co_return IoResult{asio::error::invalid_argument, 0};  // a record may not fit
  for (;;) {
    if (!socket_.is_open()) co_return IoResult{asio::error::operation_aborted, 0};
    if (peer_closed_) co_return IoResult{asio::error::eof, 0};
    std::span<const std::uint8_t> records;
    const std::size_t first = TlsRecordLayer::record_size(received_);
    if (received_.empty()) {
      // The usual case: nothing kept, so the socket's bytes go to this thread's
      // scratch, and only a record left unfinished is kept.
      auto& scratch = read_scratch();
      const auto n = receive(scratch.data(), std::min(scratch.size(), into.size() + kReadSlack));
      if (n == 0) co_return IoResult{asio::ssl::error::stream_truncated, 0};  // closed without close_notify
      if (n < 0) co_return IoResult{would_block(errno) ? asio::error::would_block : socket_error(), 0};
      records = {scratch.data(), static_cast<std::size_t>(n)};
    } else if (first == 0 || received_.size() < first) {
      // A record unfinished: the rest of it joins what is kept, so a peer sending
      // it a byte at a time costs a copy of each byte once, not of the whole each time.
      const std::size_t kept = received_.size();
      const std::size_t want = (first == 0 ? kTlsRecordHeaderBytes : first) - kept;
      received_.resize(kept + want);
      const auto n = receive(received_.data() + kept, want);
      received_.resize(kept + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
      if (n == 0) co_return IoResult{asio::ssl::error::stream_truncated, 0};
      if (n < 0) co_return IoResult{would_block(errno) ? asio::error::would_block : socket_error(), 0};
      // Opened (below) as soon as its header is whole, which is checked before
      // waiting for the body; not yet whole, nothing opens and the loop reads on.
      if (TlsRecordLayer::record_size(received_) == 0) continue;
      records = received_;
    } else {
      records = received_;  // whole records kept from before
    }
    const auto opened = records_->open(records, into);
    if (records.data() == received_.data()) {
      received_.erase(received_.begin(), received_.begin() + static_cast<std::ptrdiff_t>(opened.consumed));
      if (received_.empty()) keep(received_, {});
    } else {
      keep(received_, records.subspan(opened.consumed));
    }
    switch (opened.status) {
      case TlsRecordLayer::Status::Closed:
        // The data before the close_notify first; the next read ends.
        peer_closed_ = true;
        keep(received_, {});
        if (opened.produced > 0) co_return IoResult{std::error_code{}, opened.produced};
        co_return IoResult{asio::error::eof, 0};
      case TlsRecordLayer::Status::Failed:
        keep(received_, {});
        tell_peer(opened.error);
        co_return IoResult{opened.error, 0};
      case TlsRecordLayer::Status::Open:
        if (opened.produced > 0) co_return IoResult{std::error_code{}, opened.produced};
        break;  // a record not yet whole, or only records with no data (a KeyUpdate)
    }
  }
}

void TlsSocket::tell_peer(const std::error_code& error) {
  if (error == TlsRecordError::PeerAlert) {
    spdlog::debug("TLS peer sent alert {}", records_->peer_alert());
    return;
  }
  // Only between records: a write waiting with part of one sent cannot be cut into.
  const auto alert = alert_for(error);
  if (!alert || !unsent_.empty()) return;
  auto& sealed = write_scratch();
  sealed.clear();
  std::error_code ignored;
  const std::uint8_t fatal[] = {2, *alert};
  if (records_->seal_record(21, fatal, sealed, ignored))
    (void)::send(socket_.native_handle(), sealed.data(), sealed.size(), MSG_NOSIGNAL);  // best effort: closing anyway
}

asio::awaitable<IoResult> TlsSocket::write_all(std::span<const std::uint8_t> bytes) {
  if (!records_) co_return IoResult{asio::error::operation_not_supported, 0};
  std::size_t written = 0;
  while (written < bytes.size()) {
    if (!socket_.is_open()) co_return IoResult{asio::error::operation_aborted, written};
    const std::size_t n = std::min(bytes.size() - written, kScratchBytes);
    auto& sealed = write_scratch();
    sealed.clear();
    std::error_code error;
    if (!records_->seal(bytes.subspan(written, n), sealed, error)) co_return IoResult{error, written};
    std::size_t sent = 0;
    while (sent < sealed.size()) {
      const auto s = ::send(socket_.native_handle(), sealed.data() + sent, sealed.size() - sent, MSG_NOSIGNAL);
      if (s >= 0) {
        sent += static_cast<std::size_t>(s);
      } else if (!would_block(errno)) {
        co_return IoResult{socket_error(), written};
      } else {
        break;
      }
    }
    if (sent < sealed.size()) {
      // The socket is full: what is left waits here, not in this thread's scratch,
      // which another connection may use while this one waits.
      keep(unsent_, {sealed.data() + sent, sealed.size() - sent});
      std::size_t at = 0;
      std::error_code failed;
      while (!failed && at < unsent_.size()) {
        if (auto waited = co_await wait(Want::Write)) {
          failed = waited;
          break;
        }
        const auto s = ::send(socket_.native_handle(), unsent_.data() + at, unsent_.size() - at, MSG_NOSIGNAL);
        if (s >= 0) {
          at += static_cast<std::size_t>(s);
        } else if (!would_block(errno)) {
          failed = socket_error();
        }
      }
      keep(unsent_, {});
      if (failed) co_return IoResult{failed, written};
    }
    written += n;
  }
  co_return IoResult{std::error_code{}, written};
}

}  // namespace datafold::net::detail
