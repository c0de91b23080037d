// MessageRouter: sends each incoming request to the handler registered for its type.
#pragma once

#include <array>
#include <memory>
#include <optional>

#include "datafold/net/message.hpp"
#include "datafold/net/message_handler.hpp"
#include "datafold/net/request_context.hpp"

namespace datafold::net {

class MessageRouter {
 public:
  // Registers `handler` for each of its message_types(), replacing any earlier one.
  // Not thread-safe: register before the node starts.
  void register_handler(std::shared_ptr<MessageHandler> handler);
  MessageHandler* handler_for(MessageType type) const noexcept;

  // Runs the handler for `request`. A handler error, a throwing handler or a
  // type nobody handles becomes an Error reply that names the request.
  std::optional<Message> route(const Message& request, const RequestContext& context) const;

 private:
  static constexpr std::size_t kTypes = static_cast<std::size_t>(MessageType::Unknown) + 1;
  std::array<std::shared_ptr<MessageHandler>, kTypes> handlers_{};
};

// An Error reply to `request` carrying `error`'s code (InternalError when it has none).
ErrorMessage make_error_reply(const Message& request, const NetworkError& error);

}  // namespace datafold::net
