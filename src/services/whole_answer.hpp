// The asker's side of a query wanted whole from a peer that answers in parts
// (QueryService::send_query_whole): each part is checked (part_in_order), joined to
// those before it within QueryService::kMaxWholeAnswerBytes and the node's memory
// budget, and credited back; the caller hears once, with the whole answer or why
// there is none. Most answers are one part, handed over as it came.
// It lives on the connection's I/O thread, where the replies arrive: no lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "datafold/net/connection.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/query.hpp"
#include "transport/memory_budget.hpp"

namespace datafold::net::detail {

class WholeAnswer {
 public:
  using Done = std::function<void(NetworkResult<QueryResult>&&)>;

  // Sends `request` (a QueryMessage with id `query_id` and a stream_window) on
  // `connection`, asking for its answer in parts; `part_timeout` bounds the wait for
  // each. `done` runs on the connection's I/O thread.
  static void ask(const std::shared_ptr<Connection>& connection, const Uuid& query_id, const Message& request,
                  std::chrono::milliseconds part_timeout, Done done);

  WholeAnswer(const std::shared_ptr<Connection>& connection, const Uuid& query_id, Done done);

 private:
  void on_reply(NetworkResult<Message>&& reply);
  // The answer ends with `outcome`. The answerer is told to stop unless it has sent
  // its last part (`answerer_done`).
  void finish(NetworkResult<QueryResult>&& outcome, bool answerer_done);
  // Sends QueryCredit: `parts` more, or cancel.
  void send_credit(std::uint32_t parts, bool cancel);

  std::weak_ptr<Connection> connection_;
  const Uuid query_id_;
  Done done_;  // empty once the answer has ended: what still arrives is dropped
  std::optional<QueryResult> joined_;  // the parts so far, once there are two
  BudgetHold held_;                    // the bytes of joined_
  std::uint32_t due_ = 0;              // the number of the next part
};

}  // namespace datafold::net::detail
