#include "transport/listener.hpp"

#include <asio/ip/v6_only.hpp>

#include "core/endpoint.hpp"

namespace datafold::net::detail {

namespace {

// Leaves the first failure in `ec`.
void bind_and_listen(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& endpoint, std::error_code& ec) {
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6()) {
    // Linux defaults to dual stack, but the default is a sysctl (bindv6only) and
    // other systems differ: say what we mean.
    acceptor.set_option(asio::ip::v6_only(!endpoint.address().is_unspecified()), ec);
  }
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
}

}  // namespace

NetworkResult<void> open_listener(asio::ip::tcp::acceptor& acceptor, const std::string& address, std::uint16_t port) {
  std::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) return make_error(ErrorKind::Config, "listen address '" + address + "' is not an IP address");
  asio::ip::tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (ec == asio::error::address_family_not_supported && ip.is_v6() && ip.is_unspecified()) {
    // No IPv6 on this host: "every address" can only mean every IPv4 one.
    ec.clear();
    endpoint = asio::ip::tcp::endpoint(asio::ip::address_v4::any(), port);
    acceptor.open(endpoint.protocol(), ec);
  }
  bind_and_listen(acceptor, endpoint, ec);
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
    return make_error(ErrorKind::Connection,
                      "cannot listen on " + format_host_port(address, port) + ": " + ec.message());
  }
  return {};
}

}  // namespace datafold::net::detail
