// About how many bytes a query's answer takes on the wire: what an answer being
// joined is held to, and what parts waiting for their reader are charged to the
// node's memory budget. Cheaper than encoding it, and close enough for both.
#pragma once

#include <cstddef>

#include "datafold/net/query.hpp"

namespace datafold::net::detail {

std::size_t approximate_bytes(const Json& value);
std::size_t approximate_bytes(const QueryResult& result);

}  // namespace datafold::net::detail
