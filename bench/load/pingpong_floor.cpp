#include "load/pingpong_floor.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "load/latency_recorder.hpp"
#include "load/measured_window.hpp"

namespace datafold::bench {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeaderBytes = 4;
constexpr std::size_t kReadChunkBytes = 64 * 1024;
constexpr std::size_t kMaxFrameBytes = 16 * 1024 * 1024;
// How often a client checks its deadlines; a stall is noticed within this of stall_timeout.
constexpr auto kWatchdogTick = 50ms;
// Slack for the main thread to start the load once connections are up, and for io threads
// to wind down after the drain, so neither races a watchdog.
constexpr std::chrono::milliseconds kGrace{1000};
constexpr std::uint8_t kFill = 0x5a;
// The first bytes of a request carry its sequence number and the server echoes them, so the
// client can tell a response was matched to the right request.
constexpr std::size_t kSeqBytes = sizeof(std::uint64_t);

void put_u32_be(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

std::uint32_t get_u32_be(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// With one thread every handler is already serialised; a strand would only add locking.
asio::any_io_executor connection_executor(asio::io_context& io, std::size_t threads) {
  if (threads <= 1) return io.get_executor();
  return asio::make_strand(io);
}

std::string openssl_error(const char* what) {
  char buf[256] = {};
  const unsigned long code = ERR_get_error();
  if (code != 0) ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + (code != 0 ? buf : "unknown OpenSSL error");
}

// What the clients share with the main thread. Counters are only touched at a connection's
// start and end, never per request.
struct RunState {
  LoadSpec spec;
  FloorOptions options;
  tcp::endpoint endpoint;
  std::vector<std::uint8_t> request_payload;
  std::vector<std::uint8_t> response_payload;
  bool check_seq = false;

  LatencyAggregator latencies;
  // Every response taken, whenever: read as the measured window opens and closes.
  std::atomic<std::uint64_t> answered{0};
  std::atomic<std::uint64_t> errors{0};

  std::mutex mutex;
  std::condition_variable changed;
  std::size_t settled = 0;  // connections that got up, or failed before they did
  std::size_t done = 0;
  std::string first_error;

  void note_error(std::uint64_t count, const std::string& why) {
    errors += count;
    std::lock_guard lock(mutex);
    if (first_error.empty()) first_error = why;
  }
  void mark_settled() {
    {
      std::lock_guard lock(mutex);
      ++settled;
    }
    changed.notify_all();
  }
  void mark_done(const LatencyRecorder& recorder) {
    latencies.add(recorder);
    {
      std::lock_guard lock(mutex);
      ++done;
    }
    changed.notify_all();
  }
  template <class Pred>
  bool wait_until(Clock::time_point until, Pred pred) {
    std::unique_lock lock(mutex);
    return changed.wait_until(lock, until, [&] { return pred(*this); });
  }
};

// A stream with the framing both sides share: a read buffer decoded frame by frame, and a
// double-buffered write queue drained by one writer coroutine. Every member is touched only
// on the connection's executor.
template <class Stream>
struct FramedStream {
  FramedStream(Stream s, std::size_t out_reserve)
      : stream(std::move(s)),
        wake(stream.get_executor()),
        watchdog(stream.get_executor()),
        in(kReadChunkBytes) {
    // The writer sleeps on `wake` forever; cancel() is the doorbell.
    wake.expires_at(Clock::time_point::max());
    pending.reserve(out_reserve);
    writing.reserve(out_reserve);
  }

  asio::mutable_buffer read_space() noexcept {
    return asio::buffer(in.data() + in_end, in.size() - in_end);
  }

  // Calls on_frame(payload, size) for every whole frame buffered and keeps the partial
  // tail at the front. Returns false when a frame is longer than max_len or on_frame
  // rejects one.
  template <class OnFrame>
  bool take_frames(std::size_t max_len, OnFrame&& on_frame) {
    std::size_t pos = 0;
    bool ok = true;
    while (in_end - pos >= kHeaderBytes) {
      const std::size_t len = get_u32_be(in.data() + pos);
      if (len > max_len) {
        ok = false;
        break;
      }
      if (in_end - pos - kHeaderBytes < len) break;
      if (!on_frame(in.data() + pos + kHeaderBytes, len)) {
        ok = false;
        break;
      }
      pos += kHeaderBytes + len;
    }
    if (!ok) return false;
    const std::size_t rest = in_end - pos;
    if (rest > 0 && pos > 0) std::memmove(in.data(), in.data() + pos, rest);
    in_end = rest;
    // A frame bigger than the buffer: grow once so it fits (bounded by max_len).
    if (rest >= kHeaderBytes) {
      const std::size_t need = kHeaderBytes + get_u32_be(in.data());
      if (need > in.size()) in.resize(need);
    }
    return true;
  }

  void wake_writer() {
    if (writer_waiting) wake.cancel();
  }

  asio::awaitable<void> write_loop() {
    while (!closed) {
      if (pending.empty()) {
        writer_waiting = true;
        co_await wake.async_wait(kUseTuple);
        writer_waiting = false;
        continue;
      }
      // Everything queued since the last write goes out in one call.
      pending.swap(writing);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(writing), kUseTuple);
      writing.clear();
      if (ec) {
        if (!write_error) write_error = ec;
        close();
        co_return;
      }
    }
  }

  void close() noexcept {
    if (closed) return;
    closed = true;
    std::error_code ignored;
    stream.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream.lowest_layer().close(ignored);
    wake.cancel();
    watchdog.cancel();
  }

  Stream stream;
  asio::steady_timer wake;
  asio::steady_timer watchdog;
  std::vector<std::uint8_t> in;
  std::size_t in_end = 0;
  std::vector<std::uint8_t> pending;
  std::vector<std::uint8_t> writing;
  std::error_code write_error;
  bool writer_waiting = false;
  bool closed = false;
};

// ---------------------------------------------------------------------------------------
// Transports

struct TcpPolicy {
  using Stream = tcp::socket;
  static constexpr const char* kName = "tcp_floor";

  struct Context {
    std::string init() { return {}; }
  };

  static Stream client_stream(const asio::any_io_executor& ex, Context&) { return Stream(ex); }
  static Stream server_stream(tcp::socket socket, Context&) { return socket; }
  static asio::awaitable<std::error_code> handshake(Stream&, bool /*server*/) {
    co_return std::error_code{};
  }
};

struct TlsPolicy {
  using Stream = asio::ssl::stream<tcp::socket>;
  static constexpr const char* kName = "tls_floor";

  struct Context {
    asio::ssl::context server{asio::ssl::context::tls_server};
    asio::ssl::context client{asio::ssl::context::tls_client};

    // Makes the throwaway certificate and configures both sides; returns why it failed.
    std::string init() {
      using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
      using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;
      KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free);
      if (!key) return openssl_error("Ed25519 key generation");
      CertPtr cert(X509_new(), &X509_free);
      if (!cert) return openssl_error("X509_new");
      X509_NAME* name = X509_get_subject_name(cert.get());
      const auto* cn = reinterpret_cast<const unsigned char*>("datafold-bench-floor");
      if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
          ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) != 1 ||
          X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
          X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) == nullptr ||
          X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1 ||
          X509_set_issuer_name(cert.get(), name) != 1 ||
          X509_set_pubkey(cert.get(), key.get()) != 1) {
        return openssl_error("building the certificate");
      }
      // Ed25519 signs the whole message: no separate digest.
      if (X509_sign(cert.get(), key.get(), nullptr) <= 0) return openssl_error("X509_sign");

      for (SSL_CTX* ctx : {server.native_handle(), client.native_handle()}) {
        if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
            SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
          return openssl_error("restricting to TLS 1.3");
        }
      }
      SSL_CTX* s = server.native_handle();
      if (SSL_CTX_use_certificate(s, cert.get()) != 1 ||
          SSL_CTX_use_PrivateKey(s, key.get()) != 1 || SSL_CTX_check_private_key(s) != 1) {
        return openssl_error("loading the server certificate");
      }
      // Nothing resumes in a floor run; tickets would only add post-handshake traffic.
      SSL_CTX_set_num_tickets(s, 0);
      SSL_CTX* c = client.native_handle();
      if (X509_STORE_add_cert(SSL_CTX_get_cert_store(c), cert.get()) != 1) {
        return openssl_error("trusting the server certificate");
      }
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
      return {};
    }
  };

  static Stream client_stream(const asio::any_io_executor& ex, Context& ctx) {
    return Stream(ex, ctx.client);
  }
  static Stream server_stream(tcp::socket socket, Context& ctx) {
    return Stream(std::move(socket), ctx.server);
  }
  static asio::awaitable<std::error_code> handshake(Stream& stream, bool server) {
    auto [ec] = co_await stream.async_handshake(
        server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client, kUseTuple);
    co_return ec;
  }
};

// ---------------------------------------------------------------------------------------
// Server: echoes one response frame per request frame.

template <class Policy>
class ServerSession : public std::enable_shared_from_this<ServerSession<Policy>> {
 public:
  ServerSession(const RunState& state, typename Policy::Stream stream)
      : state_(state), io_(std::move(stream), kReadChunkBytes) {}

  asio::any_io_executor executor() { return io_.stream.get_executor(); }

  asio::awaitable<void> run(Clock::time_point hard_deadline) {
    auto self = this->shared_from_this();
    // The server has nothing to time per request; one deadline bounds the whole session.
    io_.watchdog.expires_at(hard_deadline);
    asio::co_spawn(
        executor(),
        [self]() -> asio::awaitable<void> {
          co_await self->io_.watchdog.async_wait(kUseTuple);
          self->io_.close();
        },
        asio::detached);

    if (auto ec = co_await Policy::handshake(io_.stream, true); ec) {
      io_.close();
      co_return;
    }
    asio::co_spawn(
        executor(), [self]() -> asio::awaitable<void> { co_await self->io_.write_loop(); },
        asio::detached);

    for (;;) {
      auto [ec, n] = co_await io_.stream.async_read_some(io_.read_space(), kUseTuple);
      // EOF, reset or our own close: the client decides when a run ends.
      if (ec) break;
      io_.in_end += n;
      bool any = false;
      const bool ok = io_.take_frames(kMaxFrameBytes, [&](const std::uint8_t* p, std::size_t len) {
        append_response(p, len);
        any = true;
        return true;
      });
      if (!ok) break;
      if (any) io_.wake_writer();
    }
    io_.close();
  }

 private:
  void append_response(const std::uint8_t* request, std::size_t request_len) {
    const auto& payload = state_.response_payload;
    std::uint8_t header[kHeaderBytes];
    put_u32_be(header, static_cast<std::uint32_t>(payload.size()));
    const std::size_t at = io_.pending.size() + kHeaderBytes;
    io_.pending.insert(io_.pending.end(), header, header + kHeaderBytes);
    io_.pending.insert(io_.pending.end(), payload.begin(), payload.end());
    const std::size_t echo = std::min({kSeqBytes, request_len, payload.size()});
    std::memcpy(io_.pending.data() + at, request, echo);
  }

  const RunState& state_;
  FramedStream<typename Policy::Stream> io_;
};

template <class Policy>
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, asio::io_context& io,
                                  std::size_t threads, typename Policy::Context& ctx,
                                  const RunState& state, Clock::time_point hard_deadline) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(connection_executor(io, threads), kUseTuple);
    if (ec) {
      // A client that gave up mid-accept is harmless; anything else (closed acceptor,
      // descriptor exhaustion) ends accepting rather than spinning.
      if (ec == asio::error::connection_aborted) continue;
      co_return;
    }
    std::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<ServerSession<Policy>>(
        state, Policy::server_stream(std::move(socket), ctx));
    asio::co_spawn(
        session->executor(),
        [session, hard_deadline]() -> asio::awaitable<void> { co_await session->run(hard_deadline); },
        asio::detached);
  }
}

// ---------------------------------------------------------------------------------------
// Client: keeps in_flight requests pipelined and times each one.

template <class Policy>
class ClientConnection : public std::enable_shared_from_this<ClientConnection<Policy>> {
 public:
  ClientConnection(RunState& state, typename Policy::Stream stream)
      : state_(state),
        io_(std::move(stream), state.spec.in_flight * (kHeaderBytes + state.spec.request_bytes)),
        sent_at_(state.spec.in_flight) {}

  asio::any_io_executor executor() { return io_.stream.get_executor(); }

  // Connects and handshakes by setup_deadline, then reads until the load is over or the
  // connection fails; reports to the RunState either way.
  asio::awaitable<void> run(Clock::time_point setup_deadline) {
    auto self = this->shared_from_this();
    hard_deadline_ = setup_deadline;
    asio::co_spawn(
        executor(), [self]() -> asio::awaitable<void> { co_await self->watch(); },
        [self](std::exception_ptr e) { self->on_exception(e); });

    auto [ec] = co_await io_.stream.lowest_layer().async_connect(state_.endpoint, kUseTuple);
    if (!ec) io_.stream.lowest_layer().set_option(tcp::no_delay(true), ec);
    if (!ec) ec = co_await Policy::handshake(io_.stream, false);
    if (ec || io_.closed) {
      fail("setup: " + ec.message());
      state_.mark_settled();
      finish();
      co_return;
    }
    // Until begin() arrives the connection only has to stay up.
    hard_deadline_ = setup_deadline + kGrace;
    ready_ = true;
    state_.mark_settled();

    asio::co_spawn(
        executor(), [self]() -> asio::awaitable<void> { co_await self->io_.write_loop(); },
        [self](std::exception_ptr e) { self->on_exception(e); });
    co_await read_loop();
    finish();
  }

  // Starts the load; must run on executor().
  void begin(Clock::time_point deadline, Clock::time_point hard_deadline) {
    if (!ready_ || io_.closed) return;
    deadline_ = deadline;
    hard_deadline_ = hard_deadline;
    const auto now = Clock::now();
    last_progress_ = now;
    started_ = true;
    if (now >= deadline_) {
      finished_ = true;
      io_.close();
      return;
    }
    for (std::size_t i = 0; i < state_.spec.in_flight; ++i) enqueue_request(now);
    io_.wake_writer();
  }

 private:
  asio::awaitable<void> read_loop() {
    const std::size_t response_len = state_.spec.response_bytes;
    for (;;) {
      auto [ec, n] = co_await io_.stream.async_read_some(io_.read_space(), kUseTuple);
      if (ec) {
        if (io_.write_error) fail("write: " + io_.write_error.message());
        else fail("read: " + ec.message());
        co_return;
      }
      io_.in_end += n;
      // One clock read per chunk: every frame in it arrived together.
      const auto now = Clock::now();
      last_progress_ = now;
      // Replies after the deadline drain the pipe but fall outside the measured window.
      const bool counting = now <= deadline_;
      const bool refill = now < deadline_;
      bool queued = false;
      std::uint64_t taken = 0;
      const bool ok = io_.take_frames(response_len, [&](const std::uint8_t* p, std::size_t len) {
        if (!started_ || len != response_len || outstanding_ == 0) return false;
        if (state_.check_seq) {
          std::uint64_t seq = 0;
          std::memcpy(&seq, p, kSeqBytes);
          if (seq != expect_seq_) return false;
        }
        ++expect_seq_;
        ++taken;
        const auto sent_at = pop_sent();
        if (counting) latencies_.record(now - sent_at);
        if (refill) {
          enqueue_request(now);
          queued = true;
        }
        return true;
      });
      // Once a chunk: the count is shared by every connection's thread.
      state_.answered.fetch_add(taken, std::memory_order_relaxed);
      if (!ok) {
        fail("protocol: unexpected response frame");
        co_return;
      }
      if (queued) io_.wake_writer();
      if (!refill && outstanding_ == 0) {
        finished_ = true;
        io_.close();
        co_return;
      }
    }
  }

  asio::awaitable<void> watch() {
    while (!io_.closed) {
      io_.watchdog.expires_after(kWatchdogTick);
      co_await io_.watchdog.async_wait(kUseTuple);
      if (io_.closed) co_return;
      const auto now = Clock::now();
      if (now >= hard_deadline_) {
        fail(started_ ? "replies still missing after drain_timeout"
                      : (ready_ ? "load never started" : "setup timed out"));
        co_return;
      }
      if (started_ && outstanding_ > 0 && now - last_progress_ > state_.options.stall_timeout) {
        fail("stalled: nothing received for stall_timeout with requests in flight");
        co_return;
      }
    }
  }

  void enqueue_request(Clock::time_point now) {
    const auto& payload = state_.request_payload;
    std::uint8_t header[kHeaderBytes];
    put_u32_be(header, static_cast<std::uint32_t>(payload.size()));
    const std::size_t at = io_.pending.size() + kHeaderBytes;
    io_.pending.insert(io_.pending.end(), header, header + kHeaderBytes);
    io_.pending.insert(io_.pending.end(), payload.begin(), payload.end());
    if (state_.check_seq) std::memcpy(io_.pending.data() + at, &next_seq_, kSeqBytes);
    ++next_seq_;

    std::size_t slot = oldest_ + outstanding_;
    if (slot >= sent_at_.size()) slot -= sent_at_.size();
    sent_at_[slot] = now;
    ++outstanding_;
  }

  Clock::time_point pop_sent() noexcept {
    const auto t = sent_at_[oldest_];
    if (++oldest_ == sent_at_.size()) oldest_ = 0;
    --outstanding_;
    return t;
  }

  void fail(std::string why) {
    if (!failed_ && !finished_) {
      failed_ = true;
      reason_ = std::move(why);
    }
    io_.close();
  }

  void on_exception(std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      fail(std::string("exception: ") + ex.what());
    } catch (...) {
      fail("unknown exception");
    }
  }

  // Requests still outstanding were lost; a connection that failed with none outstanding
  // (e.g. during setup) counts once.
  void finish() {
    io_.close();
    if (!finished_) {
      state_.note_error(std::max<std::uint64_t>(outstanding_, 1),
                        reason_.empty() ? std::string("connection failed") : reason_);
    }
    state_.mark_done(latencies_);
  }

  RunState& state_;
  FramedStream<typename Policy::Stream> io_;
  LatencyRecorder latencies_;
  // When each outstanding request was queued, oldest first: responses come back in order.
  std::vector<Clock::time_point> sent_at_;
  std::size_t oldest_ = 0;
  std::size_t outstanding_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint64_t expect_seq_ = 0;
  Clock::time_point deadline_{};
  Clock::time_point hard_deadline_{};
  Clock::time_point last_progress_{};
  bool ready_ = false;
  bool started_ = false;
  bool finished_ = false;
  bool failed_ = false;
  std::string reason_;
};

// Runs an io_context on n threads; the destructor stops and joins them, so an early return
// or exception never leaves a thread touching objects being destroyed.
class IoThreads {
 public:
  IoThreads(asio::io_context& io, std::size_t n) : io_(io), guard_(asio::make_work_guard(io)) {
    threads_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;
  ~IoThreads() { stop(); }

  void stop() {
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  asio::io_context& io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

template <class Policy>
LoadReport run_floor(const LoadSpec& spec, const FloorOptions& options) {
  const auto failed = [&](std::string why) { return failed_report(Policy::kName, spec, std::move(why)); };
  if (spec.connections == 0 || spec.in_flight == 0) {
    return failed("connections and in_flight must be at least 1");
  }
  if (spec.request_bytes > kMaxFrameBytes || spec.response_bytes > kMaxFrameBytes) {
    return failed("payloads are limited to 16 MiB");
  }
  const std::size_t server_threads = std::max<std::size_t>(options.server_threads, 1);
  const std::size_t client_threads = std::max<std::size_t>(options.client_threads, 1);

  try {
    // Declaration order is destruction order in reverse: threads are joined first, then
    // clients, acceptor and contexts go, and the state and TLS contexts they refer to last.
    RunState state;
    state.spec = spec;
    state.options = options;
    state.request_payload.assign(spec.request_bytes, kFill);
    state.response_payload.assign(spec.response_bytes, kFill);
    state.check_seq = spec.request_bytes >= kSeqBytes && spec.response_bytes >= kSeqBytes;

    typename Policy::Context ctx;
    if (auto why = ctx.init(); !why.empty()) return failed(why);

    asio::io_context server_io(static_cast<int>(server_threads));
    asio::io_context client_io(static_cast<int>(client_threads));
    tcp::acceptor acceptor(server_io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    state.endpoint = acceptor.local_endpoint();

    const auto setup_deadline = Clock::now() + options.setup_timeout;
    const auto server_deadline =
        setup_deadline + kGrace + spec.duration + options.drain_timeout + kGrace;
    asio::co_spawn(server_io,
                   accept_loop<Policy>(acceptor, server_io, server_threads, ctx, state,
                                       server_deadline),
                   asio::detached);

    using Client = ClientConnection<Policy>;
    std::vector<std::shared_ptr<Client>> clients;
    clients.reserve(spec.connections);
    for (std::size_t i = 0; i < spec.connections; ++i) {
      auto client = std::make_shared<Client>(
          state, Policy::client_stream(connection_executor(client_io, client_threads), ctx));
      asio::co_spawn(
          client->executor(),
          [client, setup_deadline]() -> asio::awaitable<void> { co_await client->run(setup_deadline); },
          asio::detached);
      clients.push_back(std::move(client));
    }

    IoThreads server_threads_run(server_io, server_threads);
    IoThreads client_threads_run(client_io, client_threads);

    const std::size_t n = spec.connections;
    state.wait_until(setup_deadline + kGrace / 2, [n](RunState& s) { return s.settled >= n; });

    const auto answered = [&state] { return state.answered.load(std::memory_order_relaxed); };
    const auto opened = open_measured_window(answered);
    const auto start = Clock::now();
    const auto deadline = start + spec.duration;
    const auto hard_deadline = deadline + options.drain_timeout;
    for (auto& client : clients) {
      asio::post(client->executor(),
                 [client, deadline, hard_deadline] { client->begin(deadline, hard_deadline); });
    }
    // The measured window is fixed; clients stop refilling at `deadline` on their own.
    std::this_thread::sleep_until(deadline);
    const auto closed = close_measured_window(answered);

    state.wait_until(hard_deadline + kGrace, [n](RunState& s) { return s.done >= n; });
    client_threads_run.stop();
    server_threads_run.stop();
    clients.clear();

    std::uint64_t errors = state.errors.load();
    std::string first_error;
    {
      std::lock_guard lock(state.mutex);
      first_error = state.first_error;
      if (state.done < n) {
        // Connections that never reported were cut off by the stop: count them too.
        errors += n - state.done;
        if (first_error.empty()) first_error = "connections did not finish in time";
      }
    }
    LoadReport report = make_report(Policy::kName, spec, state.latencies.snapshot(), errors, opened, closed);
    if (errors > 0) report.error = first_error;
    return report;
  } catch (const std::exception& e) {
    return failed(e.what());
  }
}

}  // namespace

LoadReport run_tcp_floor(const LoadSpec& spec, const FloorOptions& options) {
  return run_floor<TcpPolicy>(spec, options);
}

LoadReport run_tls_floor(const LoadSpec& spec, const FloorOptions& options) {
  return run_floor<TlsPolicy>(spec, options);
}

}  // namespace datafold::bench
