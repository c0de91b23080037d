#include "core/endpoint.hpp"

namespace datafold::net::detail {

std::string format_endpoint(const asio::ip::tcp::endpoint& endpoint) {
  return format_host_port(endpoint.address().to_string(), endpoint.port());
}

}  // namespace datafold::net::detail
