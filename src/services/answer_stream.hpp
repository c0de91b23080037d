// AnswerStream: the answering side of a query answered in parts (PROTOCOL.md 7.8),
// when there is more than one part.
//
// It makes a part only when the asker has credit for it: at most `window` parts
// are sent ahead of what the asker has consumed, so one answer never holds more
// than a window of parts in this node's write queue, however large it is. Each part
// after the first is made on the handler pool (the page callback may read a store),
// one at a time, each in a turn of its own. The last part, or the Error that ends
// the answer early, goes as the request's reply (Sender's `last`), which frees the
// request's in-flight slot. What each part says is AnswerParts' business.
//
// Socket-free: the node gives it how to make a part, how to send, and where to run
// work, so tests drive it directly. Thread-safe: credit and cancel come from the
// connection's I/O thread while a part is being made on the pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "datafold/net/error.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/query_service.hpp"
#include "services/answer_parts.hpp"

namespace datafold::net::detail {

class AnswerStream : public std::enable_shared_from_this<AnswerStream> {
 public:
  // Makes the part of up to `max_rows` rows after `position`.
  using Producer = std::function<NetworkResult<QueryPage>(const std::string& position, std::size_t max_rows)>;
  // Sends a part (or the Error ending the answer); `last` for the final message.
  using Sender = std::function<void(Message message, bool last)>;
  // Runs work elsewhere (the handler pool).
  using Scheduler = std::function<void(std::function<void()>)>;
  // Runs once when the answer is over (sent in full, failed or cancelled).
  using Finished = std::function<void()>;

  // `parts` has made the first part; `window`: parts allowed ahead, that one included
  // (already capped; at least 1 is allowed).
  AnswerStream(AnswerParts parts, std::uint32_t window, Producer produce, Sender send, Scheduler schedule,
               Finished finished);

  // Sends `first`, the part the caller made from the AnswerParts given to this stream
  // before the stream existed (the node makes it before knowing whether a stream is
  // needed), then schedules the rest, as the window allows.
  void start(QueryResponseMessage first);
  // The asker consumed `parts` more parts.
  void credit(std::uint32_t parts);
  // Stops: the part being made is not sent; the asker gets Error{QueryFailed} `why`
  // as the reply (it may have gone; the reply frees the request's slot either way).
  void cancel(const std::string& why);

  bool finished() const;
  std::uint32_t parts_sent() const;

 private:
  // Schedules making the next part if credit allows and none is being made.
  void pump(std::unique_lock<std::mutex>& lock);
  void make_part();
  // Sends `part`, made while `making_`, and goes on with the next if any.
  void send_made(QueryResponseMessage part, std::unique_lock<std::mutex>& lock);
  void finish_with_error(const NetworkError& error, std::unique_lock<std::mutex>& lock);

  const std::uint32_t window_;
  Producer produce_;
  Sender send_;
  Scheduler schedule_;
  Finished finished_;

  mutable std::mutex mutex_;
  AnswerParts parts_;
  std::uint32_t credit_ = 0;
  bool making_ = false;
  bool done_ = false;
};

}  // namespace datafold::net::detail
