#include "services/parts_in_order.hpp"

#include <string>
#include <utility>

namespace datafold::net::detail {

NetworkResult<QueryResponseMessage*> part_in_order(NetworkResult<Message>& reply, std::uint32_t due) {
  if (!reply) return std::move(reply).error();
  auto* response = std::get_if<QueryResponseMessage>(&*reply);
  if (response == nullptr)
    return make_error(ErrorKind::Protocol, "peer answered a query with another message kind",
                      ErrorCode::ProtocolError);
  if (response->part != due)
    return make_error(ErrorKind::Protocol,
                      "peer sent part " + std::to_string(response->part) + " where part " +
                          std::to_string(due) + " was due",
                      ErrorCode::ProtocolError);
  return response;
}

void send_query_credit(Connection& connection, const Uuid& query_id, std::uint32_t parts, bool cancel) {
  QueryCreditMessage credit;
  credit.message_id = Uuid::random();
  credit.query_id = query_id;
  credit.parts = parts;
  credit.cancel = cancel;
  connection.send_message(std::move(credit));
}

}  // namespace datafold::net::detail
