// Awaiting a callback API from a coroutine: `start(done)` begins an operation that
// calls `done(T)` exactly once, on any thread; the coroutine resumes on its own
// executor with the value.
//
// GCC 12 may destroy a temporary inside a co_await expression twice: `start` must
// capture nothing that owns (references and trivially destructible values only),
// and the lambda below captures it by reference for the same reason.
#pragma once

#include <memory>
#include <utility>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

namespace datafold::net::detail {

template <typename T, typename Start>
asio::awaitable<T> await_callback(Start start) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(T)>(
      [&start](auto handler) {
        using Handler = decltype(handler);
        auto shared = std::make_shared<Handler>(std::move(handler));
        start([shared](T value) mutable {
          auto executor = asio::get_associated_executor(*shared);
          asio::post(executor, [shared, value = std::move(value)]() mutable { (*shared)(std::move(value)); });
        });
      },
      asio::use_awaitable);
}

}  // namespace datafold::net::detail
