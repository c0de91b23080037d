// Connection: one authenticated, encrypted connection to a peer, carrying many
// requests in flight in both directions. Obtained from NetworkCore (or, in
// tests and tools, from the transport); shared by everyone who uses it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "datafold/net/error.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/node_id.hpp"
#include "datafold/net/public_key.hpp"

namespace datafold::net {

namespace detail {
class MemoryBudget;
}

enum class ConnectionState {
  Handshaking, // TLS and Hello under way
  Open,        // handshake done, carrying messages
  Superseded,  // a duplicate of another connection to the same peer; finishing what it carries
  Closed,
};

class Connection {
 public:
  // Receives the reply, or the peer's Error reply as a NetworkError, or a Timeout
  // at the deadline, or a Connection error the moment the connection dies.
  // Called exactly once, never before request() has returned, on the
  // connection's I/O thread: keep it short, or post the work elsewhere.
  using Completion = std::function<void(NetworkResult<Message>)>;

  virtual ~Connection() = default;

  // The peer, as proven by the TLS handshake.
  virtual const NodeId& node_id() const noexcept = 0;
  virtual const PublicKey& peer_public_key() const noexcept = 0;
  virtual std::uint32_t protocol_version() const noexcept = 0;
  virtual std::string remote_address() const = 0;  // "ip:port"
  virtual bool inbound() const noexcept = 0;        // the peer dialled us

  virtual ConnectionState state() const noexcept = 0;
  // Open and heard from recently enough.
  virtual bool is_healthy() const noexcept = 0;
  virtual std::size_t pending_requests() const noexcept = 0;

  // Messages given to request(), request_parts() and send_message() are read (encoded)
  // before the call returns, never kept: the caller may change or reuse them at once.
  // Sends `request` (its id must be fresh) and waits for the reply up to `timeout`.
  // Fails at once with ResourceExhausted when the in-flight or write-queue limit is reached.
  virtual void request(const Message& request, Completion done, std::chrono::milliseconds timeout) = 0;
  // Sends `request`, whose answer may come in parts (a QueryMessage with a
  // stream_window): `on_part` runs for each part that has more to follow, then
  // exactly once more with the last part, the peer's Error, a Timeout (no part
  // within `part_timeout` of the previous one) or a Connection error. On the
  // connection's I/O thread, in order, never before this returns.
  virtual void request_parts(const Message& request, Completion on_part, std::chrono::milliseconds part_timeout) = 0;
  // Sends a message that expects no reply. Dropped if the connection is closed.
  virtual void send_message(const Message& message) = 0;
  // Closes now; pending requests fail with a Connection error.
  virtual void close() = 0;

  // The node's memory budget this connection is charged to (DESIGN section 10.5),
  // which what a reader keeps of its replies is charged to too (a QueryStream's
  // waiting parts, an answer being joined); null: nothing is counted.
  virtual std::shared_ptr<detail::MemoryBudget> memory_budget() const noexcept { return nullptr; }
};

}  // namespace datafold::net
