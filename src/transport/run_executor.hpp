// A node's run on I/O threads it shares with other nodes (IoThreads): from start()
// to stop(). A node with threads of its own ends what it left queued by stopping
// and destroying its io_context; on shared threads it cannot, so everything it
// queues goes through a RunExecutor, which runs it only while the run lasts and
// destroys it instead once the run has ended. That is what keeps a stopped node's
// coroutines from waking up later, or in a restarted node's next run.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include <asio/execution.hpp>
#include <asio/prefer.hpp>
#include <asio/query.hpp>
#include <asio/require.hpp>

namespace datafold::net::detail {

class NodeRun {
 public:
  // Whether the run's work may still run; if so it counts as running until leave().
  bool enter() noexcept {
    running_.fetch_add(1);
    if (!ended_.load()) return true;
    leave();
    return false;
  }
  void leave() noexcept {
    if (running_.fetch_sub(1) == 1) running_.notify_all();
  }
  // No work of the run starts after this; returns once none is running. Never
  // from inside the run's own work (it would wait for itself).
  void end() noexcept {
    ended_.store(true);
    for (auto running = running_.load(); running != 0; running = running_.load()) running_.wait(running);
  }
  bool ended() const noexcept { return ended_.load(); }

 private:
  std::atomic<std::size_t> running_{0};
  std::atomic<bool> ended_{false};
};

// `Inner` (an io_context's executor), with a NodeRun: work handed to it runs only
// while the run lasts. Queries, requirements and preferences pass through to
// `Inner`, as asio::strand passes them, so sockets, timers, strands and coroutines
// take it as they take the io_context's own.
template <class Inner>
class RunExecutor {
 public:
  RunExecutor(Inner inner, std::shared_ptr<NodeRun> run) noexcept : inner_(std::move(inner)), run_(std::move(run)) {}

  template <class Property>
  auto query(const Property& property) const noexcept(noexcept(asio::query(std::declval<const Inner&>(), property)))
      -> std::enable_if_t<asio::can_query<const Inner&, Property>::value,
                          typename asio::query_result<const Inner&, Property>::type> {
    return asio::query(inner_, property);
  }

  template <class Property>
  auto require(const Property& property) const
      -> std::enable_if_t<asio::can_require<const Inner&, Property>::value &&
                              !std::is_convertible_v<Property, asio::execution::blocking_t::always_t>,
                          RunExecutor<std::decay_t<typename asio::require_result<const Inner&, Property>::type>>> {
    return {asio::require(inner_, property), run_};
  }

  template <class Property>
  auto prefer(const Property& property) const
      -> std::enable_if_t<asio::can_prefer<const Inner&, Property>::value &&
                              !std::is_convertible_v<Property, asio::execution::blocking_t::always_t>,
                          RunExecutor<std::decay_t<typename asio::prefer_result<const Inner&, Property>::type>>> {
    return {asio::prefer(inner_, property), run_};
  }

  template <class Function>
  void execute(Function&& function) const {
    asio::execution::execute(inner_, [run = run_, function = std::forward<Function>(function)]() mutable {
      if (!run->enter()) return;  // the run is over: `function` is destroyed unrun
      struct Leave {
        NodeRun& run;
        ~Leave() { run.leave(); }
      } leave{*run};
      std::move(function)();
    });
  }

  bool running_in_this_thread() const noexcept { return inner_.running_in_this_thread(); }

  friend bool operator==(const RunExecutor& a, const RunExecutor& b) noexcept {
    return a.inner_ == b.inner_ && a.run_ == b.run_;
  }
  friend bool operator!=(const RunExecutor& a, const RunExecutor& b) noexcept { return !(a == b); }

 private:
  template <class>
  friend class RunExecutor;

  Inner inner_;
  std::shared_ptr<NodeRun> run_;
};

}  // namespace datafold::net::detail
