#include "datafold/net/message_router.hpp"

#include <exception>
#include <string>

namespace datafold::net {

void MessageRouter::register_handler(std::shared_ptr<MessageHandler> handler) {
  for (MessageType type : handler->message_types())
    handlers_[static_cast<std::size_t>(type)] = handler;
}

MessageHandler* MessageRouter::handler_for(MessageType type) const noexcept {
  return handlers_[static_cast<std::size_t>(type)].get();
}

ErrorMessage make_error_reply(const Message& request, const NetworkError& error) {
  ErrorMessage reply;
  reply.message_id = Uuid::random();
  reply.code = error.code == ErrorCode::None ? ErrorCode::InternalError : error.code;
  reply.message = error.message;
  reply.related_message_id = message_id(request);
  return reply;
}

std::optional<Message> MessageRouter::route(const Message& request, const RequestContext& context) const {
  MessageHandler* handler = handler_for(type_of(request));
  if (handler == nullptr)
    return make_error_reply(request, make_error(ErrorKind::Protocol,
                                                std::string("this node does not handle ") +
                                                    std::string(to_string(type_of(request))),
                                                ErrorCode::UnsupportedMessage));
  try {
    auto outcome = handler->handle(request, context);
    if (!outcome) return make_error_reply(request, outcome.error());
    return std::move(*outcome);
  } catch (const std::exception& e) {
    // A handler bug must not take the node down; the peer learns only that it failed.
    return make_error_reply(request, make_error(ErrorKind::Message, "internal error", ErrorCode::InternalError));
  }
}

}  // namespace datafold::net
