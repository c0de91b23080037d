#include "services/released_values.hpp"

#include <variant>

namespace datafold::net::detail {

void release_values(QueryResult& result) noexcept {
  for (auto& field : result.results) {
    auto* value = std::get_if<Json>(&field.outcome);
    if (value != nullptr && value->is_array()) value->get_ref<Json::array_t&>().clear();
  }
}

void release_values(Message& reply) noexcept {
  if (auto* response = std::get_if<QueryResponseMessage>(&reply)) release_values(response->result);
}

}  // namespace datafold::net::detail
