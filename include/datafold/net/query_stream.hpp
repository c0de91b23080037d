// QueryStream: the asker's side of an answer that arrives in parts (PROTOCOL.md
// section 7.4). The answering node sends at most `window` parts ahead of what this
// side has consumed; each consumed part is credited back, so neither side holds
// more than a window of one answer, whatever its size.
//
// Two ways to consume:
//  - a PartHandler: each part is handed over on the connection's I/O thread as it
//    comes, and credited back when the handler returns (keep it short);
//  - next(), blocking: parts wait (at most `window` of them) until taken, and a part
//    is credited back when next() takes it, so a slow reader slows the sender.
// cancel(), a timeout or the connection's end stops the sender at once: it is
// told (QueryCredit{cancel}) and sends at most the part it is making.
// Parts waiting for next() are charged to the node's memory budget until taken.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>

#include "datafold/net/connection.hpp"
#include "datafold/net/error.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/query.hpp"
#include "datafold/net/query_service.hpp"

namespace datafold::net {

namespace detail {
class BudgetHold;
}

class QueryStream : public std::enable_shared_from_this<QueryStream> {
 public:
  // A part: its rows (QueryResult holds the next rows of each field) and whether it
  // is the answer's last (then result.cursor may say where to continue); or the
  // error that ended the answer, with last set. Returning false cancels the rest.
  using PartHandler = std::function<bool(NetworkResult<QueryResult> part, bool last)>;

  struct Options {
    // Parts the answerer may send ahead (it may allow fewer).
    std::uint32_t window = QueryService::kDefaultStreamWindow;
    std::chrono::milliseconds part_timeout{30'000};  // the longest wait for a part the answerer owes
  };

  // Sends `request` on `connection`, asking for the answer in parts. With
  // `on_part`, parts go to it; without, to next().
  ~QueryStream();

  static std::shared_ptr<QueryStream> start(const std::shared_ptr<Connection>& connection, QueryMessage request,
                                            Options options, PartHandler on_part = {});

  // The next part; nullopt once the last part was taken; the error that ended the
  // answer. Blocks (not on an I/O thread) until one of those is there. Only without
  // a PartHandler.
  NetworkResult<std::optional<QueryResult>> next();

  // Stops the answer: the answerer is told, and what is still on its way is dropped.
  // next() then fails with a Message error "cancelled".
  void cancel();

  std::uint64_t parts_received() const;
  const Uuid& query_id() const noexcept { return query_id_; }

 private:
  QueryStream(const std::shared_ptr<Connection>& connection, Uuid query_id, Options options, PartHandler on_part);
  void on_reply(NetworkResult<Message> reply);
  // Sends QueryCredit: `parts` more, or cancel.
  void send_credit(std::uint32_t parts, bool cancel);
  // Ends the answer with `error` and tells the answerer to stop.
  void fail(NetworkError error, std::unique_lock<std::mutex>& lock);

  std::weak_ptr<Connection> connection_;
  const Uuid query_id_;
  const Options options_;
  PartHandler on_part_;

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  // A part not yet taken by next(), and what it is charged to the budget.
  struct Waiting {
    NetworkResult<QueryResult> part;
    bool last = false;
    std::size_t bytes = 0;
  };
  // Parts not yet taken by next(); the answer's end (last part or error) is the
  // last entry, with ended_ set. A list: empty, it allocates nothing, and a stream
  // read through a PartHandler (every whole-answer query) never fills it.
  std::list<Waiting> parts_;
  const std::unique_ptr<detail::BudgetHold> held_;  // the bytes of parts_; none with a PartHandler
  std::uint32_t expected_part_ = 0;
  std::uint64_t received_ = 0;
  bool ended_ = false;   // the last part or an error has come (or been decided)
  bool taken_end_ = false;
};

}  // namespace datafold::net
