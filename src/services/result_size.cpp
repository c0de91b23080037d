#include "services/result_size.hpp"

namespace datafold::net::detail {

std::size_t approximate_bytes(const Json& value) {
  switch (value.type()) {
    case Json::value_t::string: return value.get_ref<const std::string&>().size() + 2;
    case Json::value_t::binary: return value.get_binary().size() + 2;
    case Json::value_t::array: {
      std::size_t sum = 2;
      for (const auto& item : value) sum += approximate_bytes(item);
      return sum;
    }
    case Json::value_t::object: {
      std::size_t sum = 2;
      for (const auto& [key, item] : value.items()) sum += key.size() + 2 + approximate_bytes(item);
      return sum;
    }
    default: return 9;
  }
}

std::size_t approximate_bytes(const QueryResult& result) {
  std::size_t sum = result.cursor.size();
  for (const auto& field : result.results)
    sum += field.field.size() + (field.ok() ? approximate_bytes(field.value()) : field.error().message.size());
  return sum;
}

}  // namespace datafold::net::detail
