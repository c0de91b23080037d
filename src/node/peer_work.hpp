// What the node's handler pool takes from its RoundRobinQueue of peers' work: a request
// read on an I/O thread (IncomingRequest), or other work (a part of a long answer).
//
// A request travels in a slot reused from one request to the next (RequestSlots). Handed
// over in a closure of its own, each took an allocation on the I/O thread and its free on
// a handler thread, where glibc's free takes the I/O thread's arena lock: contended, those
// were most of a store node's futex calls under load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "datafold/net/message.hpp"
#include "transport/tls_connection.hpp"

namespace datafold::net::detail {

struct IncomingRequest {
  // An envelope longer than this is not kept for the next request's.
  static constexpr std::size_t kKeptEnvelopeBytes = 4096;

  std::shared_ptr<TlsConnection> connection;
  Message message;
  // A query as it came (ConnectionEvents::on_incoming_query), decoded by the handler
  // thread that answers it; empty when `message` holds the request. Its buffer is kept
  // from one request to the next.
  std::vector<std::uint8_t> envelope;
  bool in_parts = false;  // answered as a stream of parts (NetworkNode::start_answer_stream)

  // Lets go of the connection and of what the message held, so that an idle slot keeps
  // neither a closed connection nor a large query alive.
  void clear() {
    connection.reset();
    message = Message{};
    envelope.clear();
    if (envelope.capacity() > kKeptEnvelopeBytes) std::vector<std::uint8_t>().swap(envelope);
  }
};

struct PeerWork {
  std::unique_ptr<IncomingRequest> request;  // a request to answer, or else
  std::function<void()> work;                // work to run
};

// Emptied IncomingRequests kept for the next requests, up to kMaxSpare (a burst's worth:
// a turn takes at most a few dozen). Not thread-safe: the node's peer_work_mutex_ guards
// it, as it guards the queue the slots travel in.
class RequestSlots {
 public:
  static constexpr std::size_t kMaxSpare = 256;

  std::unique_ptr<IncomingRequest> take() {
    if (spare_.empty()) return std::make_unique<IncomingRequest>();
    auto slot = std::move(spare_.back());
    spare_.pop_back();
    return slot;
  }

  // `slot` must be clear()ed (outside the lock: that frees what the request held).
  void give_back(std::unique_ptr<IncomingRequest> slot) {
    if (slot && spare_.size() < kMaxSpare) spare_.push_back(std::move(slot));
  }

  std::size_t spare() const noexcept { return spare_.size(); }

 private:
  std::vector<std::unique_ptr<IncomingRequest>> spare_;
};

}  // namespace datafold::net::detail
