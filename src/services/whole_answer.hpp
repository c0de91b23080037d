// The asker's side of a query wanted whole from a peer that answers in parts
// (QueryService::send_query_whole): each part is checked (part_in_order), joined to
// those before it within QueryService::kMaxWholeAnswerBytes and the node's memory
// budget, and credited back; the caller hears once, with the whole answer or why
// there is none. Most answers are one part, handed over as it came.
// It lives on the connection's I/O thread, where the replies arrive: no lock.
// ask() sends the request and keeps the answer itself; a caller with per-query state
// of its own keeps a WholeAnswer there instead and hands it the replies (take()),
// saving ask()'s two allocations.
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

  // The answer to the query `query_id`, asked on `connection` in parts (a
  // stream_window, Connection::request_parts).
  WholeAnswer(const std::shared_ptr<Connection>& connection, const Uuid& query_id);

  // Takes one reply to the query: the whole answer, or why there is none, when the
  // answer ends with this reply; nullopt while parts are still due (the answerer was
  // credited for the next), and for anything that arrives after the end.
  std::optional<NetworkResult<QueryResult>> take(NetworkResult<Message>&& reply);

 private:
  // The answer ends with `outcome`, returned. The answerer is told to stop unless it
  // has sent its last part (`answerer_done`).
  NetworkResult<QueryResult> finish(NetworkResult<QueryResult>&& outcome, bool answerer_done);
  // Sends QueryCredit: `parts` more, or cancel.
  void send_credit(std::uint32_t parts, bool cancel);

  std::weak_ptr<Connection> connection_;
  const Uuid query_id_;
  bool ended_ = false;  // what still arrives after is dropped
  std::optional<QueryResult> joined_;  // the parts so far, once there are two
  BudgetHold held_;                    // the bytes of joined_
  std::uint32_t due_ = 0;              // the number of the next part
};

}  // namespace datafold::net::detail
