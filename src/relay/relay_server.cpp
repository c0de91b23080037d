#include "relay/relay_server.hpp"

#include <array>

#include <openssl/rand.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <spdlog/spdlog.h>

#include "datafold/net/host_port.hpp"
#include "relay/circuit_join.hpp"

namespace datafold::net::detail {

namespace {

using asio::experimental::as_tuple;
using asio::use_awaitable;

RelayBook::Holder holder_key(const TlsConnection* connection) {
  return static_cast<RelayBook::Holder>(reinterpret_cast<std::uintptr_t>(connection));
}

std::string ip_of_remote(const TlsConnection& connection) {
  auto host_port = parse_host_port(connection.remote_address());
  return host_port ? host_port->host : connection.remote_address();
}

std::optional<RelayToken> random_token() {
  RelayToken token;
  if (RAND_bytes(token.data(), static_cast<int>(token.size())) != 1) return std::nullopt;
  return token;
}

}  // namespace

// A running circuit: two sockets on one strand, a pump each way, and the limits.
// Whichever pump stops first (end of stream, error, a limit) closes both sockets,
// so the other stops too; the ends' TLS then reports the cut.
class RelayServer::Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  // What a running pipe holds: one pump buffer each way.
  static constexpr std::size_t kPumpBufferBytes = 16 * 1024;
  static constexpr std::size_t kHeldBytes = 2 * kPumpBufferBytes;

  // `account` already holds kHeldBytes; the pipe gives them back when it goes.
  Pipe(asio::any_io_executor strand, asio::ip::tcp::socket a, asio::ip::tcp::socket b, const RelayLimits& limits,
       std::unique_ptr<BudgetAccount> account, std::function<void(std::uint64_t bytes, bool cut)> ended)
      : a_(std::move(a)),
        b_(std::move(b)),
        timer_(strand),
        limits_(limits),
        account_(std::move(account)),
        ended_(std::move(ended)) {}

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(limits_.max_circuit_duration);
    timer_.async_wait([self](std::error_code ec) {
      if (!ec) self->close(true);
    });
    asio::co_spawn(timer_.get_executor(), [self] { return self->pump(self->a_, self->b_); }, asio::detached);
    asio::co_spawn(timer_.get_executor(), [self] { return self->pump(self->b_, self->a_); }, asio::detached);
  }

  // Thread-safe.
  void close_soon() {
    asio::post(timer_.get_executor(), [self = shared_from_this()] { self->close(false); });
  }

  std::uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  asio::awaitable<void> pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to) {
    auto self = shared_from_this();
    std::array<std::uint8_t, kPumpBufferBytes> buffer;
    while (!closed_) {
      auto [read_ec, n] = co_await from.async_read_some(asio::buffer(buffer), as_tuple(use_awaitable));
      if (read_ec) break;
      const auto total = bytes_.fetch_add(n, std::memory_order_relaxed) + n;
      if (total > limits_.max_circuit_bytes) {
        close(true);
        co_return;
      }
      auto [write_ec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), as_tuple(use_awaitable));
      if (write_ec) break;
    }
    close(false);
  }

  void close(bool cut) {
    if (closed_) return;
    closed_ = true;
    std::error_code ignored;
    a_.close(ignored);
    b_.close(ignored);
    timer_.cancel();
    ended_(bytes(), cut);
  }

  asio::ip::tcp::socket a_;
  asio::ip::tcp::socket b_;
  asio::steady_timer timer_;
  const RelayLimits limits_;
  const std::unique_ptr<BudgetAccount> account_;
  std::function<void(std::uint64_t, bool)> ended_;
  std::atomic<std::uint64_t> bytes_{0};
  bool closed_ = false;  // on the strand
};

RelayServer::RelayServer(asio::any_io_executor executor, RelayLimits limits, std::chrono::milliseconds invite_timeout,
                         std::shared_ptr<MemoryBudget> budget)
    : executor_(std::move(executor)), invite_timeout_(invite_timeout), budget_(std::move(budget)), book_(limits) {}

void RelayServer::respond(const std::shared_ptr<TlsConnection>& to, const RelayRequestMessage& request,
                          RelayResponseMessage::Status status, std::string message, const RelayToken& token) {
  RelayResponseMessage reply;
  reply.message_id = Uuid::random();
  reply.request_id = request.request_id;
  reply.status = status;
  reply.message = std::move(message);
  reply.token = token;
  if (request.kind == RelayRequestMessage::Kind::Reserve && status == RelayResponseMessage::Status::Ok) {
    reply.max_circuit_seconds = static_cast<std::uint32_t>(book_.limits().max_circuit_duration.count());
    reply.max_circuit_bytes = book_.limits().max_circuit_bytes;
  }
  to->respond(std::move(reply));
}

void RelayServer::handle(const std::shared_ptr<TlsConnection>& from, const RelayRequestMessage& request) {
  using Status = RelayResponseMessage::Status;
  switch (request.kind) {
    case RelayRequestMessage::Kind::Reserve: {
      RelayBook::Verdict verdict;
      {
        std::lock_guard lock(mutex_);
        if (stopped_) {
          verdict.why = "relay stopping";
        } else {
          // Relayed connections cannot hold reservations: a relay's address is not
          // a way to reach a node that only reaches it through another relay.
          verdict = from->relayed_via()
                        ? RelayBook::Verdict{false, "reserve over a direct connection"}
                        : book_.reserve(from->node_id(), ip_of_remote(*from), holder_key(from.get()));
          if (verdict.ok) holders_[holder_key(from.get())] = from;
        }
      }
      if (verdict.ok) {
        spdlog::debug("relay: reservation for {}", from->node_id().short_string());
        return respond(from, request, Status::Ok, {});
      }
      if (verdict.abuse && report_abuse_) report_abuse_(from);
      return respond(from, request, Status::Refused, verdict.why);
    }
    case RelayRequestMessage::Kind::Connect:
      return invite(from, request);
    case RelayRequestMessage::Kind::Invite:
      return respond(from, request, Status::Refused, "invitations go from a relay to a reserved node");
  }
}

void RelayServer::invite(const std::shared_ptr<TlsConnection>& caller, const RelayRequestMessage& request) {
  using Status = RelayResponseMessage::Status;
  auto token = random_token();
  if (!token) return respond(caller, request, Status::Refused, "no randomness for a circuit token");
  std::shared_ptr<TlsConnection> target;
  RelayBook::Offer offer;
  {
    std::lock_guard lock(mutex_);
    expire_locked();
    if (stopped_) {
      offer.why = "relay stopping";
    } else {
      offer = book_.open_circuit(caller->node_id(), request.node, *token, std::chrono::steady_clock::now());
      if (offer.status == Status::Ok) {
        // find, not []: a lookup must not leave an empty holder behind.
        if (auto holder = holders_.find(offer.target_holder); holder != holders_.end()) target = holder->second.lock();
        if (!target) {
          book_.cancel(*token);
          offer.status = Status::NoReservation;
          offer.why = "the reservation's connection is gone";
        }
      }
    }
  }
  if (offer.status != Status::Ok) {
    if (offer.abuse && report_abuse_) report_abuse_(caller);
    return respond(caller, request, offer.status, offer.why);
  }

  RelayRequestMessage invitation;
  invitation.request_id = Uuid::random();
  invitation.kind = RelayRequestMessage::Kind::Invite;
  invitation.node = caller->node_id();
  invitation.token = *token;
  target->request(
      std::move(invitation),
      [self = shared_from_this(), caller, request, token = *token](NetworkResult<Message> answer) {
        const auto* response = answer ? std::get_if<RelayResponseMessage>(&*answer) : nullptr;
        if (response && response->status == Status::Ok)
          return self->respond(caller, request, Status::Ok, {}, token);
        {
          std::lock_guard lock(self->mutex_);
          self->book_.cancel(token);
        }
        const std::string why = !answer ? answer.error().message : response ? response->message : "unexpected answer";
        self->respond(caller, request, Status::TargetFailed, "the target did not accept: " + why);
      },
      invite_timeout_);
}

void RelayServer::on_closed(const TlsConnection* connection) {
  std::lock_guard lock(mutex_);
  const auto key = holder_key(connection);
  if (holders_.erase(key) > 0) book_.release(key);
}

asio::awaitable<void> RelayServer::serve_join(asio::ip::tcp::socket socket) {
  auto self = shared_from_this();
  auto executor = co_await asio::this_coro::executor;
  auto shared = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
  // The join's bytes must come within the join timeout, or the socket is closed.
  asio::steady_timer watchdog(executor);
  watchdog.expires_after(book_.limits().join_timeout);
  watchdog.async_wait([shared](std::error_code ec) {
    if (ec) return;
    std::error_code ignored;
    shared->close(ignored);
  });
  std::array<std::uint8_t, kCircuitJoinBytes> preamble{};
  auto [read_ec, n] = co_await asio::async_read(*shared, asio::buffer(preamble), as_tuple(use_awaitable));
  watchdog.cancel();
  if (read_ec) co_return;
  const auto token = decode_circuit_join(preamble);
  std::shared_ptr<asio::ip::tcp::socket> first;
  {
    std::lock_guard lock(mutex_);
    expire_locked();
    const auto join = token && !stopped_ ? book_.join(*token) : RelayBook::Join::Unknown;
    switch (join) {
      case RelayBook::Join::Unknown:
        break;
      case RelayBook::Join::First:
        waiting_[*token] = shared;
        break;
      case RelayBook::Join::Second:
        if (auto it = waiting_.find(*token); it != waiting_.end()) {
          first = std::move(it->second);
          waiting_.erase(it);
        } else {
          book_.end(*token);  // its first end is gone: nothing to join
        }
        break;
    }
  }
  if (token && !first && shared->is_open()) {
    bool still_waiting = false;
    {
      std::lock_guard lock(mutex_);
      still_waiting = waiting_.count(*token) > 0;
    }
    if (still_waiting) {
      // Waits for the other end; a circuit not joined in time is dropped here.
      watchdog.expires_after(book_.limits().join_timeout);
      co_await watchdog.async_wait(as_tuple(use_awaitable));
      std::lock_guard lock(mutex_);
      expire_locked();
      co_return;
    }
  }
  if (!token || !first) {
    // Unknown: a token the relay never issued, or one of a circuit already joined by
    // both ends (whose slot stays taken: only its own pipe ends it).
    std::error_code ignored;
    shared->close(ignored);
    co_return;
  }
  splice(*token, std::move(*first), std::move(*shared));
}

void RelayServer::splice(const RelayToken& token, asio::ip::tcp::socket first, asio::ip::tcp::socket second) {
  // Both sockets onto one strand of their own: the pumps touch both.
  auto strand = asio::make_strand(executor_);
  auto rewrap = [&](asio::ip::tcp::socket& s) {
    std::error_code ec;
    const auto protocol = s.local_endpoint(ec).protocol();
    if (ec) return asio::ip::tcp::socket(strand);
    return asio::ip::tcp::socket(strand, protocol, s.release(ec));
  };
  auto account = std::make_unique<BudgetAccount>(budget_.get());
  if (!account->try_charge(Pipe::kHeldBytes)) {
    // The node holds all peers may make it hold: no new circuit until that eases.
    // Both ends see their circuit close and try another path.
    std::error_code ignored;
    first.close(ignored);
    second.close(ignored);
    std::lock_guard lock(mutex_);
    book_.end(token);
    circuits_refused_for_memory_++;
    return;
  }
  auto a = rewrap(first);
  auto b = rewrap(second);
  auto pipe = std::make_shared<Pipe>(strand, std::move(a), std::move(b), book_.limits(), std::move(account),
                                     [self = weak_from_this(), token](std::uint64_t bytes, bool cut) {
                                       if (auto relay = self.lock()) relay->on_pipe_ended(token, bytes, cut);
                                     });
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;  // the sockets close with the pipe
    pipes_[token] = pipe;
  }
  pipe->start();
}

void RelayServer::on_pipe_ended(const RelayToken& token, std::uint64_t bytes, bool cut) {
  std::lock_guard lock(mutex_);
  book_.end(token);
  pipes_.erase(token);
  bytes_done_ += bytes;
  if (cut) circuits_cut_++;
}

void RelayServer::expire_locked() {
  for (const auto& token : book_.expire(std::chrono::steady_clock::now())) {
    if (auto it = waiting_.find(token); it != waiting_.end()) {
      std::error_code ignored;
      it->second->close(ignored);
      waiting_.erase(it);
    }
  }
}

void RelayServer::stop() {
  std::map<RelayToken, std::weak_ptr<Pipe>> pipes;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    for (auto& [token, socket] : waiting_) {
      std::error_code ignored;
      socket->close(ignored);
    }
    waiting_.clear();
    pipes = pipes_;
  }
  for (auto& [token, pipe] : pipes)
    if (auto running = pipe.lock()) running->close_soon();
}

RelayServerStats RelayServer::stats() const {
  std::lock_guard lock(mutex_);
  RelayServerStats out;
  out.reservations = book_.reservations();
  out.circuits_running = book_.circuits_running();
  out.counters = book_.counters();
  out.circuit_bytes = bytes_done_;
  for (const auto& [token, pipe] : pipes_)
    if (auto running = pipe.lock()) out.circuit_bytes += running->bytes();
  out.circuits_cut = circuits_cut_;
  out.circuits_refused_for_memory = circuits_refused_for_memory_;
  return out;
}

}  // namespace datafold::net::detail
