// SchemaService: answers schema listings from peers and asks peers for theirs.
#pragma once

#include <chrono>
#include <functional>
#include <shared_mutex>
#include <vector>

#include "datafold/net/connection.hpp"
#include "datafold/net/message_handler.hpp"
#include "datafold/net/request_context.hpp"
#include "datafold/net/schema_info.hpp"

namespace datafold::net {

class SchemaService : public MessageHandler {
 public:
  using Callback = std::function<std::vector<SchemaInfo>(const RequestContext&)>;
  using TrustLookup = std::function<std::uint32_t(const PublicKey&)>;

  explicit SchemaService(TrustLookup trust_lookup);

  void set_schema_list_callback(std::function<std::vector<SchemaInfo>()> callback);
  void set_schema_list_callback(Callback callback);

  // The local listing for `context` (empty when no callback is set).
  NetworkResult<std::vector<SchemaInfo>> list_schemas(const RequestContext& context) const;

  // Client side: asks the peer on `connection` for its schemas.
  static void list_remote_schemas(Connection& connection, std::chrono::milliseconds timeout,
                                  std::function<void(NetworkResult<std::vector<SchemaInfo>>)> done);

  NetworkResult<std::optional<Message>> handle(const Message& message,
                                               const RequestContext& context) override;
  std::vector<MessageType> message_types() const override { return {MessageType::ListSchemasRequest}; }

 private:
  mutable std::shared_mutex mutex_;
  Callback callback_;
  TrustLookup trust_lookup_;
};

}  // namespace datafold::net
