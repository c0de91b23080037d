#include "datafold/net/query_service.hpp"

#include <algorithm>
#include <exception>
#include <limits>
#include <mutex>

#include <spdlog/spdlog.h>

#include "datafold/net/query_refusal.hpp"
#include "core/coarse_clock.hpp"
#include "services/query_cursor.hpp"
#include "services/replay_cache.hpp"
#include "services/trust_proof.hpp"
#include "services/whole_answer.hpp"

namespace datafold::net {

namespace {

// Read per query, for the replay window (120 s) and a relayed proof's skew (minutes):
// the coarse clock is right enough.
std::int64_t system_now_ms() { return detail::coarse_system_now_ms(); }

NetworkError refuse(const RequestContext& context, std::string why) {
  spdlog::debug("query from {} refused: {}", context.node_id.short_string(), why);
  return make_error(ErrorKind::Trust, std::move(why), ErrorCode::TrustValidationFailed);
}

// The rows a whole-answer callback returned: the length of its value arrays.
std::size_t rows_in(const QueryResult& result) {
  for (const auto& field : result.results)
    if (field.ok() && field.value().is_array()) return field.value().size();
  return 0;
}

}  // namespace

QueryService::QueryService(TrustLookup trust_lookup, Clock clock)
    : trust_lookup_(std::move(trust_lookup)),
      clock_(clock ? std::move(clock) : Clock(system_now_ms)),
      replay_(std::make_unique<detail::ReplayCache>(kReplayRetention, kReplayCacheCapacity)),
      cursors_(std::make_unique<detail::QueryCursors>()) {}

QueryService::~QueryService() = default;

void QueryService::set_query_callback(std::function<QueryResult(Query)> callback) {
  auto shared = callback ? std::make_shared<const WholeCallback>(WholeCallback{std::move(callback), {}}) : nullptr;
  std::unique_lock lock(mutex_);
  callback_ = std::move(shared);
  page_callback_ = {};
}

void QueryService::set_query_callback(Callback callback) {
  auto shared = callback ? std::make_shared<const WholeCallback>(WholeCallback{{}, std::move(callback)}) : nullptr;
  std::unique_lock lock(mutex_);
  callback_ = std::move(shared);
  page_callback_ = {};
}

void QueryService::set_page_callback(PageCallback callback) {
  auto shared = callback ? std::make_shared<const PageCallback>(std::move(callback)) : nullptr;
  std::unique_lock lock(mutex_);
  page_callback_ = std::move(shared);
  callback_ = {};
}

NetworkResult<QueryResult> QueryService::execute_query(Query query, const RequestContext& context) const {
  Admitted admitted{Uuid::random(), std::move(query), context, {}};
  if (!admitted.query.cursor.empty()) {
    auto position = cursors_->open(context.public_key, admitted.query, admitted.query.cursor);
    if (!position) return make_error(ErrorKind::Message, "the cursor was not made for this query", ErrorCode::PermissionDenied);
    admitted.position = std::move(*position);
  }
  return whole_answer(std::move(admitted));
}

NetworkResult<QueryResult> QueryService::whole_answer(Admitted&& admitted) const {
  const std::size_t limit = admitted.query.limit;
  auto page = make_part(admitted, &admitted.query, admitted.position,
                        limit == 0 ? std::numeric_limits<std::size_t>::max() : limit, kMaxWholeAnswerBytes);
  if (!page) return std::move(page).error();
  if (limit == 0 && !page->next_position.empty())
    return make_error(ErrorKind::ResourceExhausted,
                      "the answer is larger than " + std::to_string(kMaxWholeAnswerBytes >> 20) +
                          " MiB: ask for it in parts or with a limit",
                      ErrorCode::ResourceExhausted);
  return std::move(page->result);
}

NetworkResult<QueryPage> QueryService::next_part(const Admitted& admitted, const std::string& position,
                                                 std::size_t max_rows, std::size_t max_bytes) const {
  return make_part(admitted, nullptr, position, max_rows, max_bytes);
}

NetworkResult<QueryPage> QueryService::make_part(const Admitted& admitted, Query* spent_query,
                                                 const std::string& position, std::size_t max_rows,
                                                 std::size_t max_bytes) const {
  // Shared, not copied: a copy of a callback is a copy of all it holds, per part.
  std::shared_ptr<const WholeCallback> callback;
  std::shared_ptr<const PageCallback> page_callback;
  {
    std::shared_lock lock(mutex_);
    callback = callback_;
    page_callback = page_callback_;
  }
  if (!callback && !page_callback)
    return make_error(ErrorKind::Message, "this node serves no queries", ErrorCode::QueryFailed);
  QueryPage page;
  try {
    if (page_callback) {
      page = (*page_callback)(admitted.query, PageRequest{position, max_rows, max_bytes}, admitted.context);
    } else {
      // A whole-answer callback knows no positions: its answer is one part, and
      // nothing is sealed after it, so a spent query can be its own.
      page.result = spent_query != nullptr ? (*callback)(std::move(*spent_query), admitted.context)
                                           : (*callback)(Query(admitted.query), admitted.context);
      page.rows = rows_in(page.result);
    }
  } catch (const std::exception&) {
    return make_error(ErrorKind::Message, "query handler failed", ErrorCode::InternalError);
  }
  // A reason every field shares is about the query: one Error, not one per slot.
  if (auto refused = refusal_of(page.result)) return std::move(*refused);
  if (!page.next_position.empty()) {
    page.result.cursor = cursors_->seal(admitted.context.public_key, admitted.query, page.next_position);
    if (page.result.cursor.empty())
      return make_error(ErrorKind::Message, "query handler returned a position too long to seal",
                        ErrorCode::InternalError);
  }
  return page;
}

NetworkResult<QueryService::Admitted> QueryService::admit(const QueryMessage& request, const RequestContext& context) {
  return admit(QueryMessage(request), context);
}

NetworkResult<QueryService::Admitted> QueryService::admit(QueryMessage&& request, const RequestContext& context) {
  Admitted admitted;
  if (auto refused = admit_into(admitted, std::move(request), context)) return std::move(*refused);
  return admitted;
}

namespace {

// The requester's key as a query's pub_key carries it. Requests come in runs from one
// connection (the frames of one read), so the text of the last key a thread encoded
// is kept: most queries skip the base64 encoding.
const std::string& key_text(const PublicKey& key) {
  thread_local std::optional<std::pair<PublicKey, std::string>> last;
  if (!last || last->first != key) last.emplace(key, key.to_string());
  return last->second;
}

}  // namespace

void QueryService::expect(const Uuid& query_id) const noexcept { replay_->prefetch(query_id); }

std::optional<NetworkError> QueryService::admit_into(Admitted& admitted, QueryMessage&& request,
                                                     const RequestContext& context) {
  auto verified = verify_requester(request, context);
  if (!verified) return std::move(verified).error();
  admitted.query_id = request.query_id;
  admitted.query = std::move(request.query);
  admitted.context = std::move(*verified);
  admitted.query.pub_key = key_text(admitted.context.public_key);
  admitted.query.trust_distance = admitted.context.trust_distance;
  if (!admitted.query.cursor.empty()) {
    // Opened against the requester's verified key: a cursor another key was given
    // opens to nothing here. (A cursor is bound to the schema, fields and filter,
    // which admission leaves as the requester sent them.)
    auto position = cursors_->open(admitted.context.public_key, admitted.query, admitted.query.cursor);
    if (!position)
      return make_error(ErrorKind::Message, "the cursor was not made for this requester and query",
                        ErrorCode::PermissionDenied);
    admitted.position = std::move(*position);
  }
  return std::nullopt;
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
  ask_once(connection, Message(std::move(request)), timeout,
           [done = std::move(done)](NetworkResult<QueryResult>&& outcome) { done(std::move(outcome)); });
}

void QueryService::ask_once(Connection& connection, const Message& request, std::chrono::milliseconds timeout,
                            Outcome done) {
  connection.request(
      request,
      [done = std::move(done)](NetworkResult<Message>&& reply) {
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
  auto admitted = admit(*request, context);
  if (!admitted) return std::move(admitted).error();
  return reply_whole(std::move(*admitted));
}

NetworkResult<std::optional<Message>> QueryService::answer(QueryMessage&& request, const RequestContext& context) {
  Admitted admitted;
  if (auto refused = admit_into(admitted, std::move(request), context)) return std::move(*refused);
  return reply_whole(std::move(admitted));
}

NetworkResult<std::optional<Message>> QueryService::reply_whole(Admitted&& admitted) const {
  const Uuid query_id = admitted.query_id;
  auto result = whole_answer(std::move(admitted));
  if (!result) return std::move(result).error();

  QueryResponseMessage response;
  response.message_id = Uuid::random();
  response.query_id = query_id;
  response.result = std::move(*result);
  return std::optional<Message>(std::move(response));
}

void QueryService::send_query_whole(const std::shared_ptr<Connection>& connection, bool peer_streams,
                                    QueryMessage&& request, std::chrono::milliseconds timeout,
                                    std::function<void(NetworkResult<QueryResult>)> done) {
  Message message(std::move(request));
  send_query_whole(connection, peer_streams, message, timeout,
                   [done = std::move(done)](NetworkResult<QueryResult>&& outcome) { done(std::move(outcome)); });
}

void QueryService::send_query_whole(const std::shared_ptr<Connection>& connection, bool peer_streams,
                                    Message& request, std::chrono::milliseconds timeout, Outcome done) {
  auto& query = std::get<QueryMessage>(request);
  query.stream_window = peer_streams ? kDefaultStreamWindow : 0;
  if (!peer_streams) return ask_once(*connection, request, timeout, std::move(done));
  detail::WholeAnswer::ask(connection, query.query_id, request, timeout, std::move(done));
}

}  // namespace datafold::net
