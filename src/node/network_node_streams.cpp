// Queries answered in parts (PROTOCOL.md section 7.8): the node's side of
// services/answer_stream.hpp, and asking peers for answers in parts.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "node/network_node.hpp"
#include "services/answer_stream.hpp"

namespace datafold::net {

void NetworkNode::start_answer_stream(const ConnectionPtr& connection, const QueryMessage& query) {
  RequestContext context{connection->node_id(), connection->peer_public_key(), config_.unknown_trust_distance};
  auto admitted = query_service_->admit(query, context);
  if (!admitted) {
    std::optional<Message> reply = make_error_reply(query, admitted.error());
    record_reply(connection, query, reply);
    connection->respond(std::move(*reply));
    return;
  }
  record_reply(connection, query, std::nullopt);

  auto shared = std::make_shared<QueryService::Admitted>(std::move(*admitted));
  detail::AnswerStream::Setup setup{
      .query_id = query.query_id,
      .window = std::min(query.stream_window, QueryService::kMaxStreamWindow),
      .limit = query.query.limit,
      .position = shared->position,
  };
  auto stream = std::make_shared<detail::AnswerStream>(
      std::move(setup),
      [service = query_service_, shared](const std::string& position, std::size_t max_rows) {
        return service->next_part(*shared, position, max_rows, QueryService::kPartBytes);
      },
      [connection](Message message, bool last) {
        if (last)
          connection->respond(std::move(message));
        else
          connection->send_part(std::move(message));
      },
      // Each part waits its turn with other peers' requests: a long answer does not
      // hold a handler thread, nor starve anyone else's.
      [weak = weak_from_this(), peer = connection->node_id()](std::function<void()> work) {
        if (auto self = weak.lock()) self->post_peer_request(peer, std::move(work));
      },
      [weak = weak_from_this(), id = query.query_id]() {
        if (auto self = weak.lock()) self->forget_answer_stream(id);
      });
  {
    std::lock_guard lock(answer_streams_mutex_);
    answer_streams_[query.query_id] = AnswerStreamEntry{connection.get(), stream};
  }
  // The connection may have closed before the entry was in: its cancel missed it.
  if (connection->state() == ConnectionState::Closed) return stream->cancel("connection closed");
  stream->start();
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

QueryMessage NetworkNode::make_query_request(Query query) const {
  QueryMessage request;
  request.query_id = Uuid::random();
  request.trust_proof.public_key = identity_.public_key();
  request.trust_proof.trust_distance = query.trust_distance;
  request.trust_proof.timestamp_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  if (query.pub_key.empty()) query.pub_key = request.trust_proof.public_key.to_string();
  request.query = std::move(query);
  return request;
}

}  // namespace datafold::net
