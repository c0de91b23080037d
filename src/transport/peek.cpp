#include "transport/peek.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace datafold::net::detail {

asio::awaitable<std::optional<std::uint8_t>> peek_first_byte(asio::ip::tcp::socket& socket,
                                                             std::chrono::milliseconds timeout) {
  using asio::experimental::as_tuple;
  asio::steady_timer watchdog(socket.get_executor());
  watchdog.expires_after(timeout);
  watchdog.async_wait([&socket](std::error_code ec) {
    if (ec) return;
    std::error_code ignored;
    socket.cancel(ignored);
  });
  auto [wait_ec] = co_await socket.async_wait(asio::ip::tcp::socket::wait_read, as_tuple(asio::use_awaitable));
  watchdog.cancel();
  if (wait_ec) co_return std::nullopt;
  std::uint8_t byte = 0;
  std::error_code peek_ec;
  const auto n = socket.receive(asio::buffer(&byte, 1), asio::socket_base::message_peek, peek_ec);
  if (peek_ec || n != 1) co_return std::nullopt;
  co_return byte;
}

}  // namespace datafold::net::detail
