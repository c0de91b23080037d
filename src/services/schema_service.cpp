#include "datafold/net/schema_service.hpp"

#include <exception>
#include <mutex>

namespace datafold::net {

SchemaService::SchemaService(TrustLookup trust_lookup) : trust_lookup_(std::move(trust_lookup)) {}

void SchemaService::set_schema_list_callback(std::function<std::vector<SchemaInfo>()> callback) {
  if (!callback) return set_schema_list_callback(Callback{});
  set_schema_list_callback([cb = std::move(callback)](const RequestContext&) { return cb(); });
}

void SchemaService::set_schema_list_callback(Callback callback) {
  std::unique_lock lock(mutex_);
  callback_ = std::move(callback);
}

NetworkResult<std::vector<SchemaInfo>> SchemaService::list_schemas(const RequestContext& context) const {
  Callback callback;
  {
    std::shared_lock lock(mutex_);
    callback = callback_;
  }
  if (!callback) return std::vector<SchemaInfo>{};
  try {
    return callback(context);
  } catch (const std::exception&) {
    return make_error(ErrorKind::Message, "schema listing failed", ErrorCode::InternalError);
  }
}

void SchemaService::list_remote_schemas(Connection& connection, std::chrono::milliseconds timeout,
                                        std::function<void(NetworkResult<std::vector<SchemaInfo>>)> done) {
  ListSchemasRequestMessage request;
  request.request_id = Uuid::random();
  connection.request(
      std::move(request),
      [done = std::move(done)](NetworkResult<Message> reply) {
        if (!reply) return done(std::move(reply).error());
        auto* response = std::get_if<SchemaListResponseMessage>(&*reply);
        if (response == nullptr)
          return done(make_error(ErrorKind::Protocol, "peer answered a schema listing with another message kind",
                                 ErrorCode::ProtocolError));
        done(std::move(response->schemas));
      },
      timeout);
}

NetworkResult<std::optional<Message>> SchemaService::handle(const Message& message,
                                                            const RequestContext& context) {
  const auto* request = std::get_if<ListSchemasRequestMessage>(&message);
  if (request == nullptr)
    return make_error(ErrorKind::Protocol, "not a schema listing request", ErrorCode::InvalidMessage);
  RequestContext verified = context;
  verified.trust_distance = trust_lookup_ ? trust_lookup_(context.public_key) : 0xFFFFFFFFu;
  auto schemas = list_schemas(verified);
  if (!schemas) return std::move(schemas).error();
  SchemaListResponseMessage response;
  response.message_id = Uuid::random();
  response.request_id = request->request_id;
  response.schemas = std::move(*schemas);
  return std::optional<Message>(std::move(response));
}

}  // namespace datafold::net
