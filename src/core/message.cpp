#include "datafold/net/message.hpp"

#include <type_traits>

namespace datafold::net {

std::string_view to_string(MessageType type) noexcept {
  switch (type) {
    case MessageType::Hello: return "Hello";
    case MessageType::Query: return "Query";
    case MessageType::QueryResponse: return "QueryResponse";
    case MessageType::ListSchemasRequest: return "ListSchemasRequest";
    case MessageType::SchemaListResponse: return "SchemaListResponse";
    case MessageType::NodeAnnouncement: return "NodeAnnouncement";
    case MessageType::Error: return "Error";
    case MessageType::Ping: return "Ping";
    case MessageType::Pong: return "Pong";
    case MessageType::DialBackRequest: return "DialBackRequest";
    case MessageType::DialBackResponse: return "DialBackResponse";
    case MessageType::RelayRequest: return "RelayRequest";
    case MessageType::RelayResponse: return "RelayResponse";
    case MessageType::HolePunch: return "HolePunch";
    case MessageType::HolePunchResponse: return "HolePunchResponse";
    case MessageType::QueryCredit: return "QueryCredit";
    case MessageType::Unknown: return "Unknown";
  }
  return "Invalid";
}

std::string_view to_string(SchemaError::Kind kind) noexcept {
  switch (kind) {
    case SchemaError::Kind::NotFound: return "NotFound";
    case SchemaError::Kind::InvalidField: return "InvalidField";
    case SchemaError::Kind::InvalidPermission: return "InvalidPermission";
    case SchemaError::Kind::InvalidTransform: return "InvalidTransform";
    case SchemaError::Kind::InvalidData: return "InvalidData";
    case SchemaError::Kind::InvalidDSL: return "InvalidDSL";
    case SchemaError::Kind::MappingError: return "MappingError";
  }
  return "Invalid";
}

Uuid message_id(const Message& m) noexcept {
  return std::visit(
      [](const auto& msg) -> Uuid {
        using T = std::decay_t<decltype(msg)>;
        // Requests name their own id after what it identifies.
        if constexpr (std::is_same_v<T, QueryMessage>)
          return msg.query_id;
        else if constexpr (std::is_same_v<T, ListSchemasRequestMessage> ||
                           std::is_same_v<T, DialBackRequestMessage> || std::is_same_v<T, RelayRequestMessage> ||
                           std::is_same_v<T, HolePunchMessage>)
          return msg.request_id;
        else
          return msg.message_id;
      },
      m);
}

std::optional<Uuid> related_message_id(const Message& m) noexcept {
  return std::visit(
      [](const auto& msg) -> std::optional<Uuid> {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, QueryResponseMessage> || std::is_same_v<T, QueryCreditMessage>)
          return msg.query_id;
        else if constexpr (std::is_same_v<T, SchemaListResponseMessage> ||
                           std::is_same_v<T, DialBackResponseMessage> || std::is_same_v<T, RelayResponseMessage> ||
                           std::is_same_v<T, HolePunchResponseMessage>)
          return msg.request_id;
        else if constexpr (std::is_same_v<T, ErrorMessage>)
          return msg.related_message_id;
        else if constexpr (std::is_same_v<T, PongMessage>)
          return msg.ping_id;
        else
          return std::nullopt;
      },
      m);
}

}  // namespace datafold::net
