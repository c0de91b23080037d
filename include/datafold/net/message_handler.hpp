// MessageHandler: a service that answers some kinds of request.
#pragma once

#include <optional>
#include <vector>

#include "datafold/net/error.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/request_context.hpp"

namespace datafold::net {

class MessageHandler {
 public:
  virtual ~MessageHandler() = default;

  // Handles one request from the verified peer in `context`; returns the reply,
  // or nothing for a one-way message. An error is sent back to the peer as an
  // Error message with the error's code. Runs on the node's handler pool.
  virtual NetworkResult<std::optional<Message>> handle(const Message& message,
                                                       const RequestContext& context) = 0;
  // The message types this handler answers.
  virtual std::vector<MessageType> message_types() const = 0;
};

}  // namespace datafold::net
