#include "datafold/net/query_service.hpp"

#include <algorithm>
#include <exception>
#include <mutex>

namespace datafold::net {

QueryService::QueryService(TrustLookup trust_lookup) : trust_lookup_(std::move(trust_lookup)) {}

void QueryService::set_query_callback(std::function<QueryResult(Query)> callback) {
  if (!callback) return set_query_callback(Callback{});
  set_query_callback([cb = std::move(callback)](Query q, const RequestContext&) { return cb(std::move(q)); });
}

void QueryService::set_query_callback(Callback callback) {
  std::unique_lock lock(mutex_);
  callback_ = std::move(callback);
}

NetworkResult<QueryResult> QueryService::execute_query(Query query, const RequestContext& context) const {
  Callback callback;
  {
    std::shared_lock lock(mutex_);
    callback = callback_;
  }
  if (!callback)
    return make_error(ErrorKind::Message, "this node serves no queries", ErrorCode::QueryFailed);
  try {
    return callback(std::move(query), context);
  } catch (const std::exception&) {
    return make_error(ErrorKind::Message, "query handler failed", ErrorCode::InternalError);
  }
}

void QueryService::query_node(Connection& connection, Query query, TrustProof proof,
                              std::chrono::milliseconds timeout,
                              std::function<void(NetworkResult<QueryResult>)> done) {
  QueryMessage request;
  request.query_id = Uuid::random();
  request.query = std::move(query);
  request.trust_proof = std::move(proof);
  connection.request(
      std::move(request),
      [done = std::move(done)](NetworkResult<Message> reply) {
        if (!reply) return done(std::move(reply).error());
        auto* response = std::get_if<QueryResponseMessage>(&*reply);
        if (response == nullptr)
          return done(make_error(ErrorKind::Protocol, "peer answered a query with another message kind",
                                 ErrorCode::ProtocolError));
        done(std::move(response->result));
      },
      timeout);
}

NetworkResult<std::optional<Message>> QueryService::handle(const Message& message,
                                                           const RequestContext& context) {
  const auto* request = std::get_if<QueryMessage>(&message);
  if (request == nullptr)
    return make_error(ErrorKind::Protocol, "not a query", ErrorCode::InvalidMessage);
  // On a direct connection the TLS session proved the key; a proof naming any other
  // key is someone else's word and is refused.
  if (request->trust_proof.public_key != context.public_key)
    return make_error(ErrorKind::Trust, "trust proof key is not the connection's authenticated key",
                      ErrorCode::TrustValidationFailed);

  RequestContext verified = context;
  const std::uint32_t stored = trust_lookup_ ? trust_lookup_(context.public_key) : 0xFFFFFFFFu;
  verified.trust_distance =
      std::max({request->trust_proof.trust_distance, request->query.trust_distance, stored});

  Query query = request->query;
  query.pub_key = context.public_key.to_string();
  query.trust_distance = verified.trust_distance;
  auto result = execute_query(std::move(query), verified);
  if (!result) return std::move(result).error();

  QueryResponseMessage response;
  response.message_id = Uuid::random();
  response.query_id = request->query_id;
  response.result = std::move(*result);
  return std::optional<Message>(std::move(response));
}

}  // namespace datafold::net
