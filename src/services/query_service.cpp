#include "datafold/net/query_service.hpp"

#include <algorithm>
#include <exception>
#include <mutex>

#include <spdlog/spdlog.h>

#include "services/trust_proof.hpp"

namespace datafold::net {

namespace {

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

NetworkError refuse(const RequestContext& context, std::string why) {
  spdlog::debug("query from {} refused: {}", context.node_id.short_string(), why);
  return make_error(ErrorKind::Trust, std::move(why), ErrorCode::TrustValidationFailed);
}

}  // namespace

QueryService::QueryService(TrustLookup trust_lookup, Clock clock)
    : trust_lookup_(std::move(trust_lookup)),
      clock_(clock ? std::move(clock) : Clock(system_now_ms)),
      replay_(std::make_unique<detail::ReplayCache>(kReplayRetention, kReplayCacheCapacity)) {}

QueryService::~QueryService() = default;

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
  send_query(connection, std::move(request), timeout, std::move(done));
}

void QueryService::send_query(Connection& connection, QueryMessage request, std::chrono::milliseconds timeout,
                              std::function<void(NetworkResult<QueryResult>)> done) {
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

NetworkResult<RequestContext> QueryService::verify_requester(const QueryMessage& request,
                                                             const RequestContext& context) {
  const TrustProof& proof = request.trust_proof;
  // A proof naming another key is a query relayed on that key's behalf: only
  // that key's signature can speak for it.
  const bool on_behalf = proof.public_key != context.public_key;
  if (!proof.signature.empty()) {
    if (!detail::verify_trust_proof(request.query_id, request.query, proof))
      return refuse(context, "trust proof signature does not verify");
  } else if (on_behalf) {
    return refuse(context, "a trust proof for a key other than the connection's must be signed");
  }
  const std::int64_t now = clock_();
  // Only a signed timestamp means anything, and on a direct connection the TLS
  // session already vouches for the query: the peer's clock is its own business.
  if (on_behalf) {
    const std::int64_t skew = kMaxProofSkew.count();
    if (proof.timestamp_ms < now - skew || proof.timestamp_ms > now + skew)
      return refuse(context, "trust proof timestamp is more than " + std::to_string(skew / 1000) +
                                 " s from this node's clock");
  }
  if (!replay_->remember(request.query_id, now))
    return refuse(context, "query id " + request.query_id.to_string() + " was already used");

  RequestContext verified = context;
  if (on_behalf) {
    verified.public_key = proof.public_key;
    verified.node_id = proof.public_key.node_id();
  }
  const std::uint32_t stored = trust_lookup_ ? trust_lookup_(verified.public_key) : 0xFFFFFFFFu;
  // A requester can make itself less trusted than the store says, never more.
  verified.trust_distance = std::max({proof.trust_distance, request.query.trust_distance, stored});
  return verified;
}

NetworkResult<std::optional<Message>> QueryService::handle(const Message& message,
                                                           const RequestContext& context) {
  const auto* request = std::get_if<QueryMessage>(&message);
  if (request == nullptr)
    return make_error(ErrorKind::Protocol, "not a query", ErrorCode::InvalidMessage);
  auto verified = verify_requester(*request, context);
  if (!verified) return std::move(verified).error();

  Query query = request->query;
  query.pub_key = verified->public_key.to_string();
  query.trust_distance = verified->trust_distance;
  auto result = execute_query(std::move(query), *verified);
  if (!result) return std::move(result).error();

  QueryResponseMessage response;
  response.message_id = Uuid::random();
  response.query_id = request->query_id;
  response.result = std::move(*result);
  return std::optional<Message>(std::move(response));
}

}  // namespace datafold::net
