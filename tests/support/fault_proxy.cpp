#include "support/fault_proxy.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <future>
#include <optional>
#include <span>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>

#include "core/endpoint.hpp"

namespace datafold::net::testing {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;
using asio::ip::tcp;

// The most a connection holds per direction: one read's worth, so a stall never
// buffers more than this however much the sender pushes.
constexpr std::size_t kChunkBytes = 16 * 1024;
// One bit: the smallest corruption, which TLS must still catch.
constexpr std::uint8_t kFlipMask = 0x01;
// The target is on loopback: a connect that takes this long will not succeed.
constexpr std::chrono::seconds kUpstreamConnectDeadline{5};

constexpr std::size_t kToServer = 0;
constexpr std::size_t kToClient = 1;

// What one direction of one connection does to the bytes passing through. The
// optional counts are bytes still to go before the fault strikes.
struct StreamFaults {
  std::chrono::milliseconds delay{0};
  bool stalled = false;
  std::optional<std::uint64_t> cut_after;
  std::optional<std::uint64_t> truncate_after;
  std::optional<std::uint64_t> flip_at;
  std::uint64_t flip_every = 0;
  std::uint64_t flip_counter = 0;  // bytes passed on since flip_every was set
};
using Faults = std::array<StreamFaults, 2>;  // [kToServer], [kToClient]

bool applies(FaultProxy::Direction direction, std::size_t stream) {
  return direction == FaultProxy::Direction::Both ||
         (direction == FaultProxy::Direction::ToServer) == (stream == kToServer);
}

void corrupt(std::span<std::uint8_t> chunk, StreamFaults& faults) {
  if (!faults.flip_at && faults.flip_every == 0) return;
  for (auto& byte : chunk) {
    if (faults.flip_at) {
      if (*faults.flip_at == 0) {
        byte ^= kFlipMask;
        faults.flip_at.reset();
      } else {
        --*faults.flip_at;
      }
    }
    if (faults.flip_every != 0 && ++faults.flip_counter % faults.flip_every == 0) byte ^= kFlipMask;
  }
}

}  // namespace

// Everything below runs on the proxy's one thread, except run_here() and the atomics.
struct FaultProxy::Engine {
  class Session;

  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  tcp::acceptor acceptor{io};
  tcp::endpoint target;
  std::uint16_t port = 0;
  Faults faults;  // what a connection opened from now on starts with
  std::unordered_set<std::shared_ptr<Session>> sessions;
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> accepted{0};
  std::thread thread;

  // Runs `change` on the proxy's thread; returns once it has run.
  void run_here(const std::function<void()>& change) {
    std::promise<void> done;
    asio::post(io, [&] {
      change();
      done.set_value();
    });
    done.get_future().wait();
  }
  void change_faults(Direction direction, const std::function<void(StreamFaults&)>& change);
  void close_all();
  asio::awaitable<void> accept_loop();
};

// One client connection and its connection to the target, pumped both ways.
class FaultProxy::Engine::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Engine& engine, tcp::socket client)
      : engine_(engine),
        sockets_{std::move(client), tcp::socket(engine.io)},
        faults_(engine.faults),
        wakeups_{asio::steady_timer(engine.io), asio::steady_timer(engine.io)},
        delays_{asio::steady_timer(engine.io), asio::steady_timer(engine.io)} {}

  Faults& faults() { return faults_; }

  // Connects to the target, then starts both pumps.
  asio::awaitable<void> run() {
    auto self = shared_from_this();
    if (closed_) co_return;  // cut before it began: async_connect would reopen the socket
    asio::steady_timer deadline(engine_.io, kUpstreamConnectDeadline);
    deadline.async_wait([weak = weak_from_this()](std::error_code ec) {
      if (auto session = weak.lock(); session && !ec) session->close();
    });
    auto [ec] = co_await server().async_connect(engine_.target, as_tuple(use_awaitable));
    deadline.cancel();
    if (ec || closed_) {
      close();
      co_return;
    }
    std::error_code ignored;
    for (auto& socket : sockets_) socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(engine_.io, [self] { return self->pump(kToServer); }, asio::detached);
    asio::co_spawn(engine_.io, [self] { return self->pump(kToClient); }, asio::detached);
  }

  // The faults changed: a stalled pump looks again.
  void wake() {
    for (auto& timer : wakeups_) timer.cancel();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    std::error_code ignored;
    for (auto& socket : sockets_) {
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    }
    for (auto& timer : wakeups_) timer.cancel();
    for (auto& timer : delays_) timer.cancel();
    engine_.sessions.erase(shared_from_this());
    --engine_.open;
  }

 private:
  tcp::socket& client() { return sockets_[0]; }
  tcp::socket& server() { return sockets_[1]; }

  asio::awaitable<void> wait_while_stalled(std::size_t stream) {
    while (!closed_ && faults_[stream].stalled) {
      wakeups_[stream].expires_at(asio::steady_timer::time_point::max());
      co_await wakeups_[stream].async_wait(as_tuple(use_awaitable));
    }
  }

  asio::awaitable<void> pump(std::size_t stream) {
    tcp::socket& from = stream == kToServer ? client() : server();
    tcp::socket& to = stream == kToServer ? server() : client();
    std::vector<std::uint8_t> buffer(kChunkBytes);
    while (!closed_) {
      co_await wait_while_stalled(stream);
      if (closed_) break;
      auto [read_ec, n] = co_await from.async_read_some(asio::buffer(buffer), as_tuple(use_awaitable));
      if (read_ec || closed_) break;

      StreamFaults& faults = faults_[stream];
      std::span<std::uint8_t> chunk(buffer.data(), n);
      if (faults.truncate_after) {
        chunk = chunk.first(std::min<std::uint64_t>(chunk.size(), *faults.truncate_after));
        *faults.truncate_after -= chunk.size();
      }
      bool cut_now = false;
      if (faults.cut_after) {
        if (*faults.cut_after <= chunk.size()) {
          chunk = chunk.first(*faults.cut_after);
          cut_now = true;
        }
        *faults.cut_after -= chunk.size();
      }
      corrupt(chunk, faults);
      if (faults.delay.count() > 0) {
        delays_[stream].expires_after(faults.delay);
        co_await delays_[stream].async_wait(as_tuple(use_awaitable));
      }
      co_await wait_while_stalled(stream);  // a stall set meanwhile holds this chunk too
      if (closed_) break;
      if (!chunk.empty()) {
        auto [write_ec, written] =
            co_await asio::async_write(to, asio::buffer(chunk.data(), chunk.size()), as_tuple(use_awaitable));
        if (write_ec) break;
      }
      if (cut_now) break;
    }
    close();
  }

  Engine& engine_;
  std::array<tcp::socket, 2> sockets_;  // client, server
  Faults faults_;
  std::array<asio::steady_timer, 2> wakeups_;  // per stream: cancelled when the faults change
  std::array<asio::steady_timer, 2> delays_;   // per stream
  bool closed_ = false;
};

void FaultProxy::Engine::change_faults(Direction direction, const std::function<void(StreamFaults&)>& change) {
  run_here([&] {
    for (std::size_t stream : {kToServer, kToClient}) {
      if (!applies(direction, stream)) continue;
      change(faults[stream]);
      for (const auto& session : sessions) change(session->faults()[stream]);
    }
    for (const auto& session : sessions) session->wake();
  });
}

void FaultProxy::Engine::close_all() {
  // close() removes a session from the set: walk a copy.
  const std::vector<std::shared_ptr<Session>> all(sessions.begin(), sessions.end());
  for (const auto& session : all) session->close();
}

asio::awaitable<void> FaultProxy::Engine::accept_loop() {
  for (;;) {
    auto [ec, client] = co_await acceptor.async_accept(as_tuple(use_awaitable));
    if (!acceptor.is_open()) co_return;
    if (ec == asio::error::connection_aborted) continue;  // the client gave up while queued
    if (ec) {
      ADD_FAILURE() << "fault proxy stopped accepting: " << ec.message();
      co_return;
    }
    ++accepted;
    ++open;
    auto session = std::make_shared<Session>(*this, std::move(client));
    sessions.insert(session);
    asio::co_spawn(io, [session] { return session->run(); }, asio::detached);
  }
}

std::unique_ptr<FaultProxy> FaultProxy::start(const std::string& target) {
  auto parsed = detail::parse_host_port(target);
  std::error_code ec;
  const auto address = parsed ? asio::ip::make_address(parsed->host, ec) : asio::ip::address();
  if (!parsed || ec) {
    ADD_FAILURE() << "fault proxy: target '" << target << "' is not ip:port";
    return nullptr;
  }
  auto engine = std::make_unique<Engine>();
  engine->target = tcp::endpoint(address, parsed->port);
  const tcp::endpoint local(asio::ip::make_address_v4("127.0.0.1"), 0);
  engine->acceptor.open(local.protocol(), ec);
  if (!ec) engine->acceptor.bind(local, ec);
  if (!ec) engine->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) engine->port = engine->acceptor.local_endpoint(ec).port();
  if (ec) {
    ADD_FAILURE() << "fault proxy: cannot listen on 127.0.0.1: " << ec.message();
    return nullptr;
  }
  Engine* raw = engine.get();
  asio::co_spawn(raw->io, [raw] { return raw->accept_loop(); }, asio::detached);
  raw->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(engine)));
}

FaultProxy::FaultProxy(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}

FaultProxy::~FaultProxy() {
  Engine* engine = engine_.get();
  engine->run_here([engine] {
    std::error_code ignored;
    engine->acceptor.close(ignored);
    engine->close_all();
  });
  // Every socket and timer is closed, so every coroutine ends and run() returns.
  engine->work.reset();
  engine->thread.join();
}

std::string FaultProxy::address() const { return "127.0.0.1:" + std::to_string(engine_->port); }
std::size_t FaultProxy::open_connections() const { return engine_->open.load(); }
std::size_t FaultProxy::accepted_connections() const { return engine_->accepted.load(); }

void FaultProxy::delay(Direction direction, std::chrono::milliseconds per_chunk) {
  engine_->change_faults(direction, [per_chunk](StreamFaults& f) { f.delay = per_chunk; });
}

void FaultProxy::stall(Direction direction) {
  engine_->change_faults(direction, [](StreamFaults& f) { f.stalled = true; });
}

void FaultProxy::cut() {
  Engine* engine = engine_.get();
  engine->run_here([engine] { engine->close_all(); });
}

void FaultProxy::cut_after(Direction direction, std::uint64_t bytes) {
  engine_->change_faults(direction, [bytes](StreamFaults& f) { f.cut_after = bytes; });
}

void FaultProxy::truncate_after(Direction direction, std::uint64_t bytes) {
  engine_->change_faults(direction, [bytes](StreamFaults& f) { f.truncate_after = bytes; });
}

void FaultProxy::flip_byte_at(Direction direction, std::uint64_t offset) {
  engine_->change_faults(direction, [offset](StreamFaults& f) { f.flip_at = offset; });
}

void FaultProxy::flip_every(Direction direction, std::uint64_t nth) {
  engine_->change_faults(direction, [nth](StreamFaults& f) {
    f.flip_every = nth;
    f.flip_counter = 0;
  });
}

void FaultProxy::clear() {
  engine_->change_faults(Direction::Both, [](StreamFaults& f) { f = StreamFaults{}; });
}

}  // namespace datafold::net::testing
