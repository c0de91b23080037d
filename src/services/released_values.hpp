// Freeing an answer's values when it has been sent. nlohmann's destructor moves the
// elements of an array into a vector of its own before freeing them (so that deep
// nesting cannot overflow the stack): for the flat arrays of a page of rows, an
// allocation and a move per value, about as much as encoding them cost. Clearing a
// value's array first frees its elements directly; a nested one is still freed by
// nlohmann's own means, so nothing recurses deeper than before.
#pragma once

#include "datafold/net/message.hpp"
#include "datafold/net/query.hpp"

namespace datafold::net::detail {

// Empties `result`'s value arrays (their fields and errors stay).
void release_values(QueryResult& result) noexcept;
// The same for a reply that is a QueryResponseMessage; any other is left as it is.
void release_values(Message& reply) noexcept;

}  // namespace datafold::net::detail
