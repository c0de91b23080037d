#include "support/raw_requests.hpp"

#include "datafold/net/message_codec.hpp"

namespace datafold::net::testing {

QueryMessage raw_query(const RawTlsClient& raw, std::string schema, std::optional<Json> filter) {
  QueryMessage query;
  query.query_id = Uuid::random();
  query.query.schema_name = std::move(schema);
  query.query.filter = std::move(filter);
  query.trust_proof.public_key = raw.identity().public_key();
  return query;
}

std::string frames_of(const std::vector<Message>& messages) {
  std::string bytes;
  for (const auto& message : messages) append_frame(message, bytes);
  return bytes;
}

}  // namespace datafold::net::testing
