// QueryService: answers queries from peers (server side) and sends queries to
// peers (client side).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>

#include "datafold/net/connection.hpp"
#include "datafold/net/message_handler.hpp"
#include "datafold/net/query.hpp"
#include "datafold/net/request_context.hpp"

namespace datafold::net {

class QueryService : public MessageHandler {
 public:
  using Callback = std::function<QueryResult(Query, const RequestContext&)>;
  // The distance this node's trust store gives a key.
  using TrustLookup = std::function<std::uint32_t(const PublicKey&)>;

  explicit QueryService(TrustLookup trust_lookup);

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

  // Server side. Checks that the proof's key is the connection's proven key
  // (TrustValidationFailed otherwise), then writes the verified key and the
  // effective distance, max(claimed, trust store's), into the Query the callback sees.
  NetworkResult<std::optional<Message>> handle(const Message& message,
                                               const RequestContext& context) override;
  std::vector<MessageType> message_types() const override { return {MessageType::Query}; }

 private:
  mutable std::shared_mutex mutex_;
  Callback callback_;
  TrustLookup trust_lookup_;
};

}  // namespace datafold::net
