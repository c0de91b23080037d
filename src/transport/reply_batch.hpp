// ReplyBatch: the replies one handler thread makes during one peer's turn
// (NetworkNode::run_peer_turns), held until the turn ends and then handed to each
// connection at once: one post to its strand, and so one TLS write, for the turn. Made
// one at a time from the pool, each reply would cost a post, a wakeup of the writer and
// a send of its own, which under load is most of what answering costs.
//
// While a ReplyBatch lives on a thread, TlsConnection::respond on that thread adds to
// it rather than posting. What it holds is bounded (kMaxHeldBytes): past that it hands
// over early. Replies to one connection keep their order; messages sent by other means
// meanwhile (send_part) may go before the held replies, which answer other requests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace datafold::net::detail {

class TlsConnection;

class ReplyBatch {
 public:
  // Replies held past this many bytes are handed over before the turn ends.
  static constexpr std::size_t kMaxHeldBytes = 256 * 1024;

  ReplyBatch() noexcept;  // this thread's batch until it is destroyed
  ~ReplyBatch();          // hands over what it holds
  ReplyBatch(const ReplyBatch&) = delete;
  ReplyBatch& operator=(const ReplyBatch&) = delete;

  // The batch alive on this thread, or null.
  static ReplyBatch* current() noexcept;

  // Holds an encoded reply frame for `connection`.
  void add(const std::shared_ptr<TlsConnection>& connection, std::string_view frame);

 private:
  struct Held {
    std::shared_ptr<TlsConnection> connection;
    std::string frames;                // the replies' frames, back to back
    std::vector<std::uint32_t> sizes;  // each frame's size, in order
  };
  void hand_over();

  std::vector<Held> held_;  // usually one connection: a turn is one peer's
  std::size_t held_bytes_ = 0;
  ReplyBatch* outer_;
};

}  // namespace datafold::net::detail
