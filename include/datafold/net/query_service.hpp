// QueryService: answers queries from peers (server side) and sends queries to
// peers (client side).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>

#include "datafold/net/connection.hpp"
#include "datafold/net/identity.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/message_handler.hpp"
#include "datafold/net/query.hpp"
#include "datafold/net/request_context.hpp"

namespace datafold::net {

namespace detail {
class ReplayCache;  // src/trust_proof.hpp
}

class QueryService : public MessageHandler {
 public:
  using Callback = std::function<QueryResult(Query, const RequestContext&)>;
  // The distance this node's trust store gives a key.
  using TrustLookup = std::function<std::uint32_t(const PublicKey&)>;
  // Unix time in milliseconds. The system clock unless a test supplies its own.
  using Clock = std::function<std::int64_t()>;

  // How far a signed proof's timestamp may be from this node's clock, either way.
  static constexpr std::chrono::milliseconds kMaxProofSkew{60'000};
  // How long a query id is remembered. Two skew windows: a proof accepted at the
  // edge of one window stays refusable until its timestamp is out of the other.
  static constexpr std::chrono::milliseconds kReplayRetention = 2 * kMaxProofSkew;
  // At most this many ids are remembered (about 6 MiB); past it the oldest go first.
  static constexpr std::size_t kReplayCacheCapacity = 65'536;

  explicit QueryService(TrustLookup trust_lookup, Clock clock = {});
  ~QueryService() override;

  void set_query_callback(std::function<QueryResult(Query)> callback);
  void set_query_callback(Callback callback);

  // Runs the local callback: QueryFailed if none is set, InternalError if it throws.
  NetworkResult<QueryResult> execute_query(Query query, const RequestContext& context) const;

  // Client side: sends `query` with `proof` over `connection`. `done` runs on the
  // connection's I/O thread with the result, the peer's error, a Timeout or a
  // Connection error.
  static void query_node(Connection& connection, Query query, TrustProof proof,
                         std::chrono::milliseconds timeout,
                         std::function<void(NetworkResult<QueryResult>)> done);
  // The same for a request built by the caller, e.g. one whose proof was signed
  // (make_trust_proof) over its query id by another node.
  static void send_query(Connection& connection, QueryMessage request, std::chrono::milliseconds timeout,
                         std::function<void(NetworkResult<QueryResult>)> done);

  // Server side (DESIGN.md section 9). The proof is checked before the callback
  // runs; every failure is TrustValidationFailed:
  //  - proof key == the connection's proven key: a signature is optional (the TLS
  //    session proves possession) but must verify if present;
  //  - any other key (a query relayed on that key's behalf): a signature is
  //    required and must verify, and the timestamp must be within kMaxProofSkew;
  //  - a query id seen in the last kReplayRetention is refused (after the
  //    signature check, so a forgery cannot burn a genuine id).
  // The requester is then the proof's key; the callback sees it (Query::pub_key,
  // RequestContext public_key and node_id) and the effective distance, the largest
  // of both claimed distances and the trust store's distance for that key.
  NetworkResult<std::optional<Message>> handle(const Message& message,
                                               const RequestContext& context) override;
  std::vector<MessageType> message_types() const override { return {MessageType::Query}; }

 private:
  NetworkResult<RequestContext> verify_requester(const QueryMessage& request, const RequestContext& context);

  mutable std::shared_mutex mutex_;
  Callback callback_;
  TrustLookup trust_lookup_;
  Clock clock_;
  std::unique_ptr<detail::ReplayCache> replay_;
};

// Builds the trust proof for sending `query` under `query_id`, claiming
// `claimed_distance`, stamped `now_ms` (Unix ms). With `sign`, the proof carries
// `identity`'s signature over the canonical bytes (src/trust_proof.hpp,
// docs/PROTOCOL.md 7.2), which a node needs to accept it from any connection but
// `identity`'s own. Without, it costs no public-key operation: enough on a direct
// connection.
TrustProof make_trust_proof(const Identity& identity, const Uuid& query_id, const Query& query,
                            std::uint32_t claimed_distance, std::int64_t now_ms, bool sign);

}  // namespace datafold::net
