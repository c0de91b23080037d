// What IoThreads holds: the io_context the nodes share and the threads running it.
#pragma once

#include <cstddef>
#include <optional>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "datafold/net/io_threads.hpp"

namespace datafold::net {

struct IoThreads::Impl {
  explicit Impl(std::size_t count);
  ~Impl();  // stops the io_context and joins the threads; never on one of them
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
};

namespace detail {

// Which group of I/O threads this thread is one of (a node with threads of its own,
// or an IoThreads::Impl), or nullptr: how a node tells that a blocking call would
// wait on the very thread that has to do the work.
const void*& io_thread_group() noexcept;

}  // namespace detail

}  // namespace datafold::net
