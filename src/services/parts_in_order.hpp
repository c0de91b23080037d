// The asker's check of an answer that comes in parts (PROTOCOL.md section 7.4):
// each reply must be a QueryResponse numbered as due. Shared by QueryStream (parts
// handed to a reader) and WholeAnswer (parts joined into one answer).
#pragma once

#include <cstdint>

#include "datafold/net/connection.hpp"
#include "datafold/net/error.hpp"
#include "datafold/net/message.hpp"

namespace datafold::net::detail {

// The part `reply` holds if it is part number `due`; or why the answer ends here:
// the reply's own error, another kind of message, or a part out of order.
NetworkResult<QueryResponseMessage*> part_in_order(NetworkResult<Message>& reply, std::uint32_t due);

// Tells the answerer of `query_id` it may send `parts` more, or (`cancel`) to stop.
void send_query_credit(Connection& connection, const Uuid& query_id, std::uint32_t parts, bool cancel);

}  // namespace datafold::net::detail
