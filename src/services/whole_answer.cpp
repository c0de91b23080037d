#include "services/whole_answer.hpp"

#include <string>
#include <utility>

#include "datafold/net/query_service.hpp"
#include "services/parts_in_order.hpp"
#include "services/result_size.hpp"

namespace datafold::net::detail {

namespace {

// Appends `part`'s rows to `whole`: each field's value array grows; a field's error
// stays as the first part said it. False if the parts do not name the same fields.
bool join_part(QueryResult& whole, QueryResult&& part) {
  if (part.results.size() != whole.results.size()) return false;
  for (std::size_t i = 0; i < part.results.size(); ++i) {
    auto& into = whole.results[i];
    auto& from = part.results[i];
    if (into.field != from.field) return false;
    if (!into.ok() || !from.ok()) continue;
    auto& rows = std::get<Json>(into.outcome);
    auto& more = std::get<Json>(from.outcome);
    if (!rows.is_array() || !more.is_array()) return false;
    for (auto& value : more) rows.push_back(std::move(value));
  }
  whole.cursor = std::move(part.cursor);
  return true;
}

}  // namespace

void WholeAnswer::ask(const std::shared_ptr<Connection>& connection, const Uuid& query_id, const Message& request,
                      std::chrono::milliseconds part_timeout, Done done) {
  struct Asked {
    Asked(const std::shared_ptr<Connection>& connection, const Uuid& query_id, Done done)
        : answer(connection, query_id), done(std::move(done)) {}
    WholeAnswer answer;
    Done done;
  };
  auto asked = std::make_shared<Asked>(connection, query_id, std::move(done));
  connection->request_parts(
      request,
      [asked](NetworkResult<Message>&& reply) {
        auto ended = asked->answer.take(std::move(reply));
        if (!ended) return;
        const auto done = std::move(asked->done);  // let go of what it holds once it has run
        done(std::move(*ended));
      },
      part_timeout);
}

// Parts are charged to the node's memory budget while they are being joined: the
// connection no longer holds them once they have arrived.
WholeAnswer::WholeAnswer(const std::shared_ptr<Connection>& connection, const Uuid& query_id)
    : connection_(connection), query_id_(query_id), held_(connection->memory_budget()) {}

std::optional<NetworkResult<QueryResult>> WholeAnswer::take(NetworkResult<Message>&& reply) {
  if (ended_) return std::nullopt;
  // A Timeout means the answerer went quiet: finish() tells it to stop in case it is only slow.
  auto taken = part_in_order(reply, due_);
  if (!taken) return finish(std::move(taken).error(), false);
  ++due_;
  const bool last = !(*taken)->more;
  QueryResult& part = (*taken)->result;
  // An answer in one part is handed over as it arrived: it would be charged only to
  // be released at once.
  if (last && !joined_) return finish(std::move(part), true);
  // Held to the bytes received, not the parts: an answerer picks their size.
  const std::size_t bytes = approximate_bytes(part);
  if (held_.held() + bytes > QueryService::kMaxWholeAnswerBytes)
    return finish(make_error(ErrorKind::ResourceExhausted,
                             "the answer is larger than " + std::to_string(QueryService::kMaxWholeAnswerBytes >> 20) +
                                 " MiB: read it with a QueryStream or ask with a limit",
                             ErrorCode::ResourceExhausted),
                  last);
  if (!held_.try_charge(bytes))
    return finish(make_error(ErrorKind::ResourceExhausted,
                             "the answer does not fit in this node's memory budget: read it with a QueryStream or "
                             "ask with a limit",
                             ErrorCode::ResourceExhausted),
                  last);
  if (!joined_) {
    joined_ = std::move(part);
  } else if (!join_part(*joined_, std::move(part))) {
    return finish(make_error(ErrorKind::Protocol, "the parts of an answer disagree on its fields",
                             ErrorCode::ProtocolError),
                  last);
  }
  if (last) return finish(std::move(*joined_), true);
  send_credit(1, false);  // joined: room for one more part on the answerer's side
  return std::nullopt;
}

NetworkResult<QueryResult> WholeAnswer::finish(NetworkResult<QueryResult>&& outcome, bool answerer_done) {
  ended_ = true;
  if (joined_) held_.release_all();  // the caller's now, or nobody's
  if (!answerer_done) send_credit(0, true);
  return std::move(outcome);
}

void WholeAnswer::send_credit(std::uint32_t parts, bool cancel) {
  if (auto connection = connection_.lock()) send_query_credit(*connection, query_id_, parts, cancel);
}

}  // namespace datafold::net::detail
