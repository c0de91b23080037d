#include "node/io_threads_impl.hpp"

#include <string>
#include <utility>

namespace datafold::net {

namespace detail {

const void*& io_thread_group() noexcept {
  thread_local const void* group = nullptr;
  return group;
}

}  // namespace detail

IoThreads::Impl::Impl(std::size_t count) : io(static_cast<int>(count)) {
  work.emplace(io.get_executor());
  threads.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    threads.emplace_back([this] {
      detail::io_thread_group() = this;
      io.run();
      detail::io_thread_group() = nullptr;
    });
  }
}

IoThreads::Impl::~Impl() {
  work.reset();
  io.stop();  // stopped nodes' timers may still be queued: they are not waited for
  for (auto& thread : threads) thread.join();
}

NetworkResult<std::shared_ptr<IoThreads>> IoThreads::start(std::size_t count) {
  if (count == 0 || count > 64)
    return make_error(ErrorKind::Config, "IoThreads: count must be 1..64, not " + std::to_string(count));
  return std::shared_ptr<IoThreads>(new IoThreads(std::make_unique<Impl>(count)));
}

IoThreads::IoThreads(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

IoThreads::~IoThreads() {
  if (detail::io_thread_group() == impl_.get()) {
    // Let go on one of its own threads (by a callback running there): that thread
    // cannot join itself, so another stops and joins them all once it is back in
    // its loop.
    std::thread([impl = std::move(impl_)]() mutable { impl.reset(); }).detach();
  }
}

std::size_t IoThreads::size() const noexcept { return impl_ ? impl_->threads.size() : 0; }

}  // namespace datafold::net
