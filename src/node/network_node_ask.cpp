// Asking a peer: a query answered whole, and a schema listing (NetworkNode's
// async_query and async_list_schemas), each counted, sent on the pooled connection,
// sent once more if the peer closed that connection before reading the request, and
// charged to the peer if it ignored the request.
#include <cstdint>
#include <optional>
#include <utility>

#include "node/network_node.hpp"
#include "services/whole_answer.hpp"

namespace datafold::net {

namespace {

// A request caught on a connection the peer was closing to make room (PROTOCOL.md
// section 9): the peer had stopped reading, so it never ran; sending it again on a
// new connection is safe (queries and listings change nothing).
bool never_reached_peer(const NetworkError& error) {
  return error.kind == ErrorKind::Connection && error.code == ErrorCode::ResourceExhausted;
}

// While async_query runs on this thread (of any node): an outcome made then is made
// inside the call that issued the query.
class IssuingQuery {
 public:
  IssuingQuery() { ++depth_; }
  ~IssuingQuery() { --depth_; }
  IssuingQuery(const IssuingQuery&) = delete;
  IssuingQuery& operator=(const IssuingQuery&) = delete;
  static bool now() { return depth_ > 0; }

 private:
  static thread_local int depth_;
};
thread_local int IssuingQuery::depth_ = 0;

}  // namespace

// Every query a node asks goes through here, so each step it passes is a cost per
// query: the steps share this one state rather than each wrapping the caller's
// callback in its own.
struct NetworkNode::OutgoingQuery {
  NodeId peer;
  // A QueryMessage, sent from here (connections only read it): a query sent again
  // needs no copy kept of it. Each send stamps it anew.
  Message request;
  std::function<void(NetworkResult<QueryResult>)> done;
  std::optional<RunOn> run_on;  // where `done` runs; none: where the outcome is made
  std::chrono::steady_clock::time_point started;
  bool may_resend = true;
  // The connection the request went on, while it is out.
  ConnectionPtr connection;
  RequestSent sent;
  // Its answer being joined, when asked in parts; `sends` tells replies to this
  // sending from those to an earlier one.
  std::optional<detail::WholeAnswer> answer;
  std::uint32_t sends = 0;
};

void NetworkNode::async_query(const NodeId& id, Query query, std::function<void(NetworkResult<QueryResult>)> done,
                              std::optional<RunOn> run_on) {
  if (id == identity_.node_id()) {
    // Asking ourselves needs no network: run the callback as for any requester at distance 0.
    post_to_handlers([self = shared_from_this(), query = std::move(query), done = std::move(done)]() mutable {
      RequestContext context{self->identity_.node_id(), self->identity_.public_key(), 0};
      query.pub_key = self->public_key_text_;
      done(self->query_service_->execute_query(std::move(query), context));
    });
    return;
  }
  counters_.requests_sent++;
  counters_.requests_pending++;
  auto call = std::make_shared<OutgoingQuery>();
  call->peer = id;
  std::get<QueryMessage>(call->request = QueryMessage{}).query = std::move(query);
  call->done = std::move(done);
  call->run_on = run_on;
  call->started = std::chrono::steady_clock::now();
  const IssuingQuery issuing;
  send_query(std::move(call));
}

void NetworkNode::send_query(std::shared_ptr<OutgoingQuery> call) {
  // Most queries find their peer's connection open: sent at once, with no callback
  // made for the wait a dial would need.
  if (auto open = open_connection(call->peer)) return send_query_on(std::move(call), open);
  const NodeId peer = call->peer;
  async_connection(peer, [self = shared_from_this(), call = std::move(call)](NetworkResult<ConnectionPtr> connection) mutable {
    if (!connection) return self->finish_query(*call, std::move(connection).error());
    self->send_query_on(std::move(call), *connection);
  });
}

void NetworkNode::send_query_on(std::shared_ptr<OutgoingQuery> call, const ConnectionPtr& connection) {
  call->connection = connection;
  call->sent = RequestSent(*connection);
  // Named before `call` moves into the callback below.
  Message& request = call->request;
  auto& query = std::get<QueryMessage>(request);
  stamp_query_request(query);
  if (!connection->peer_hello().capabilities.streamed_answers) {
    return QueryService::send_query_whole(
        connection, false, request, config_.request_timeout,
        [self = shared_from_this(), call = std::move(call)](NetworkResult<QueryResult>&& outcome) {
          self->on_query_outcome(call, std::move(outcome));
        });
  }
  // In parts, as the peer can send them: an answer of any size then gets here (up to
  // QueryService::kMaxWholeAnswerBytes), not only one that fits a frame. This is
  // QueryService::send_query_whole's way, joined in `call`, which the query has
  // anyway, rather than in a WholeAnswer and a callback of its own.
  query.stream_window = QueryService::kDefaultStreamWindow;
  call->answer.emplace(connection, query.query_id);
  const std::uint32_t sending = ++call->sends;
  connection->request_parts(
      request,
      [self = shared_from_this(), call = std::move(call), sending](NetworkResult<Message>&& reply) {
        if (call->sends != sending) return;  // the query was sent again since
        if (auto ended = call->answer->take(std::move(reply))) self->on_query_outcome(call, std::move(*ended));
      },
      config_.request_timeout);
}

void NetworkNode::on_query_outcome(std::shared_ptr<OutgoingQuery> call, NetworkResult<QueryResult>&& outcome) {
  const auto connection = std::move(call->connection);
  if (!outcome) {
    charge_if_ignored(connection, call->sent, outcome.error());
    if (call->may_resend && never_reached_peer(outcome.error())) {
      call->may_resend = false;
      return send_query(std::move(call));
    }
  }
  finish_query(*call, std::move(outcome));
}

void NetworkNode::finish_query(OutgoingQuery& call, NetworkResult<QueryResult>&& outcome) {
  count_request_end(outcome.ok(), call.started);
  auto done = std::move(call.done);
  if (call.run_on && (*call.run_on == RunOn::HandlerPool || IssuingQuery::now())) {
    return post_to_handlers(
        [done = std::move(done), outcome = std::move(outcome)]() mutable { done(std::move(outcome)); });
  }
  done(std::move(outcome));
}

void NetworkNode::count_request_end(bool answered, std::chrono::steady_clock::time_point started) {
  if (!answered) counters_.requests_failed++;
  record_latency(started);
  counters_.requests_pending--;
}

void NetworkNode::charge_if_ignored(const ConnectionPtr& connection, const RequestSent& sent,
                                    const NetworkError& error) {
  const bool deadline_passed =
      error.kind == ErrorKind::Timeout && detail::coarse_steady_now() - sent.at >= config_.request_timeout;
  if (deadline_passed && connection->last_received_ns() > sent.heard_before)
    record_peer_event(connection, detail::PeerEvent::Timeout);
}

void NetworkNode::async_list_schemas(const NodeId& id,
                                     std::function<void(NetworkResult<std::vector<SchemaInfo>>)> done) {
  if (id == identity_.node_id()) {
    post_to_handlers([self = shared_from_this(), done = std::move(done)]() {
      RequestContext context{self->identity_.node_id(), self->identity_.public_key(), 0};
      done(self->schema_service_->list_schemas(context));
    });
    return;
  }
  counters_.requests_sent++;
  counters_.requests_pending++;
  auto counted = [self = shared_from_this(), done = std::move(done), started = std::chrono::steady_clock::now()](
                     NetworkResult<std::vector<SchemaInfo>> outcome) {
    self->count_request_end(outcome.ok(), started);
    done(std::move(outcome));
  };
  send_list_schemas(id, std::move(counted), true);
}

void NetworkNode::send_list_schemas(const NodeId& id,
                                    std::function<void(NetworkResult<std::vector<SchemaInfo>>)> done,
                                    bool may_resend) {
  async_connection(id, [self = shared_from_this(), id, done = std::move(done),
                        may_resend](NetworkResult<ConnectionPtr> connection) mutable {
    if (!connection) return done(std::move(connection).error());
    if (may_resend) {
      done = [self, id, done = std::move(done)](NetworkResult<std::vector<SchemaInfo>> outcome) mutable {
        if (!outcome && never_reached_peer(outcome.error())) return self->send_list_schemas(id, std::move(done), false);
        done(std::move(outcome));
      };
    }
    SchemaService::list_remote_schemas(**connection, self->config_.request_timeout,
                                       self->charging_timeouts(*connection, std::move(done)));
  });
}

}  // namespace datafold::net
