// Queries answered in parts (PROTOCOL.md section 7.8): the node's side of
// services/answer_stream.hpp, and asking peers for answers in parts.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "node/network_node.hpp"
#include "core/coarse_clock.hpp"
#include "services/answer_stream.hpp"
#include "services/released_values.hpp"

namespace datafold::net {

void NetworkNode::start_answer_stream(const ConnectionPtr& connection, Message message) {
  RequestContext context{connection->node_id(), connection->peer_public_key(), config_.unknown_trust_distance};
  // The query is moved into the admission (its id, window and limit are read before); the
  // message left behind still tells record_reply what kind of request this was.
  auto& query = std::get<QueryMessage>(message);
  const Uuid query_id = query.query_id;
  const std::uint32_t window = query.stream_window;
  const std::uint32_t limit = query.query.limit;
  auto admitted = query_service_->admit(std::move(query), context);
  if (!admitted) {
    std::optional<Message> reply = make_error_reply(message, admitted.error());
    record_reply(connection, message, reply);
    connection->respond(std::move(*reply));
    return;
  }
  record_reply(connection, message, std::nullopt);

  // The first part is made before any stream exists: most answers are that one part,
  // sent as the reply with nothing set up or registered for it.
  detail::AnswerParts parts({
      .query_id = query_id,
      .limit = limit,
      .position = admitted->position,
  });
  auto first_page = query_service_->next_part(*admitted, parts.position(), parts.next_rows(), QueryService::kPartBytes);
  if (!first_page) return connection->respond(parts.failure(first_page.error()));
  QueryResponseMessage first = parts.make(std::move(*first_page));
  if (parts.over()) {
    Message reply(std::move(first));
    connection->respond(reply);
    return detail::release_values(reply);  // sent: its rows are freed the cheap way
  }

  auto shared = std::make_shared<QueryService::Admitted>(std::move(*admitted));
  auto stream = std::make_shared<detail::AnswerStream>(
      std::move(parts), std::min(window, QueryService::kMaxStreamWindow),
      [service = query_service_, shared](const std::string& position, std::size_t max_rows) {
        return service->next_part(*shared, position, max_rows, QueryService::kPartBytes);
      },
      [connection](Message message, bool last) {
        if (last)
          connection->respond(message);
        else
          connection->send_part(message);
        detail::release_values(message);
      },
      // Each part waits its turn with other peers' requests: a long answer does not
      // hold a handler thread, nor starve anyone else's.
      [weak = weak_from_this(), peer = connection->node_id()](std::function<void()> work) {
        if (auto self = weak.lock()) self->post_peer_request(peer, std::move(work));
      },
      [weak = weak_from_this(), id = query_id]() {
        if (auto self = weak.lock()) self->forget_answer_stream(id);
      });
  // In before the first part goes: the asker's credit for it must find the stream.
  {
    std::lock_guard lock(answer_streams_mutex_);
    answer_streams_[query_id] = AnswerStreamEntry{connection.get(), stream};
  }
  // The connection may have closed before the entry was in: its cancel missed it.
  if (connection->state() == ConnectionState::Closed) return stream->cancel("connection closed");
  stream->start(std::move(first));
}

void NetworkNode::on_query_credit(const ConnectionPtr& connection, const QueryCreditMessage& credit) {
  std::shared_ptr<detail::AnswerStream> stream;
  {
    std::lock_guard lock(answer_streams_mutex_);
    auto it = answer_streams_.find(credit.query_id);
    // Credit for an answer already over (or never begun, or someone else's) is dropped.
    if (it == answer_streams_.end() || it->second.connection != connection.get()) return;
    stream = it->second.stream;
  }
  if (credit.cancel)
    stream->cancel("cancelled by the asker");
  else
    stream->credit(credit.parts);
}

void NetworkNode::cancel_answer_streams(const detail::TlsConnection* connection) {
  std::vector<std::shared_ptr<detail::AnswerStream>> ending;
  {
    std::lock_guard lock(answer_streams_mutex_);
    for (const auto& [id, entry] : answer_streams_)
      if (entry.connection == connection) ending.push_back(entry.stream);
  }
  // Outside the lock: each one's end removes its entry.
  for (auto& stream : ending) stream->cancel("connection closed");
}

void NetworkNode::forget_answer_stream(const Uuid& query_id) {
  std::lock_guard lock(answer_streams_mutex_);
  answer_streams_.erase(query_id);
}

void NetworkNode::async_stream_query(const NodeId& id, Query query, QueryStream::Options options,
                                     QueryStream::PartHandler on_part,
                                     std::function<void(NetworkResult<std::shared_ptr<QueryStream>>)> started) {
  if (id == identity_.node_id())
    return started(make_error(ErrorKind::Config, "answers in parts come from peers; query this node's data directly"));
  counters_.requests_sent++;
  async_connection(id, [self = shared_from_this(), query = std::move(query), options, on_part = std::move(on_part),
                        started = std::move(started)](NetworkResult<ConnectionPtr> connection) mutable {
    if (!connection) {
      self->counters_.requests_failed++;
      return started(std::move(connection).error());
    }
    // A peer without streamed_answers ignores the window and answers in one
    // QueryResponse, which the stream takes as its only (last) part.
    started(QueryStream::start(*connection, self->make_query_request(std::move(query)), options, std::move(on_part)));
  });
}

QueryMessage NetworkNode::make_query_request(Query&& query) const {
  QueryMessage request;
  request.query = std::move(query);
  stamp_query_request(request);
  return request;
}

void NetworkNode::stamp_query_request(QueryMessage& request) const {
  request.query_id = Uuid::random();
  request.trust_proof.public_key = identity_.public_key();
  request.trust_proof.trust_distance = request.query.trust_distance;
  // Checked against the answerer's clock only to minutes (kMaxProofSkew): coarse is right enough.
  request.trust_proof.timestamp_ms = detail::coarse_system_now_ms();
  if (request.query.pub_key.empty()) request.query.pub_key = public_key_text_;
}

}  // namespace datafold::net
