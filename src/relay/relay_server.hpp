// RelayServer: the relay's side of circuits (DESIGN.md section 10.3), on a node
// started with relaying on. It answers Reserve and Connect requests, invites a
// reserved node when someone asks for it, and once both ends have joined with the
// circuit's token (circuit_join.hpp) pumps bytes between their two sockets under
// the circuit limits. It never looks into those bytes: they are the ends' own TLS.
// What it has promised is RelayBook's; this class holds the sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "datafold/net/message.hpp"
#include "relay/relay_book.hpp"
#include "transport/memory_budget.hpp"
#include "transport/tls_connection.hpp"

namespace datafold::net::detail {

struct RelayServerStats {
  std::size_t reservations = 0;
  std::size_t circuits_running = 0;
  std::uint64_t circuit_bytes = 0;  // relayed so far, both directions
  RelayCounters counters;
  std::uint64_t circuits_cut = 0;   // by a byte or time limit
  std::uint64_t circuits_refused_for_memory = 0;  // joined while the node's memory budget was spent
};

class RelayServer : public std::enable_shared_from_this<RelayServer> {
 public:
  // A running circuit's pump buffers count against `budget` (may be null): a circuit
  // whose ends join while the budget is spent is closed instead of started.
  RelayServer(asio::any_io_executor executor, RelayLimits limits, std::chrono::milliseconds invite_timeout,
              std::shared_ptr<MemoryBudget> budget = nullptr);

  // A Reserve or Connect from `from`; the answer goes back on `from`.
  void handle(const std::shared_ptr<TlsConnection>& from, const RelayRequestMessage& request);
  // `connection` closed: reservations it held go.
  void on_closed(const TlsConnection* connection);
  // A connection whose first byte said "circuit join" (the listener peeked).
  asio::awaitable<void> serve_join(asio::ip::tcp::socket socket);
  // Closes every circuit, waiting or running.
  void stop();

  RelayServerStats stats() const;

  // Called (on the asker's strand) when a request is refused for a limit of the
  // asker's own: its owner tells reputation. Set before the first request.
  using AbuseFn = std::function<void(const std::shared_ptr<TlsConnection>&)>;
  void on_abuse(AbuseFn report) { report_abuse_ = std::move(report); }

 private:
  class Pipe;
  void respond(const std::shared_ptr<TlsConnection>& to, const RelayRequestMessage& request,
               RelayResponseMessage::Status status, std::string message, const RelayToken& token = {});
  void invite(const std::shared_ptr<TlsConnection>& caller, const RelayRequestMessage& request);
  void splice(const RelayToken& token, asio::ip::tcp::socket first, asio::ip::tcp::socket second);
  void expire_locked();
  void on_pipe_ended(const RelayToken& token, std::uint64_t bytes, bool cut);

  const asio::any_io_executor executor_;  // the node's: circuits take strands of it
  const std::chrono::milliseconds invite_timeout_;
  const std::shared_ptr<MemoryBudget> budget_;

  mutable std::mutex mutex_;
  RelayBook book_;
  bool stopped_ = false;
  // The connections reservations are held on, by RelayBook::Holder.
  std::unordered_map<RelayBook::Holder, std::weak_ptr<TlsConnection>> holders_;
  // The first end of a circuit, waiting for the second.
  std::map<RelayToken, std::shared_ptr<asio::ip::tcp::socket>> waiting_;
  std::map<RelayToken, std::weak_ptr<Pipe>> pipes_;
  std::uint64_t bytes_done_ = 0;  // of circuits that ended
  std::uint64_t circuits_cut_ = 0;
  std::uint64_t circuits_refused_for_memory_ = 0;
  AbuseFn report_abuse_;
};

}  // namespace datafold::net::detail
