// RunExecutor: work handed to it runs while its NodeRun lasts; once the run has ended,
// work still queued is destroyed unrun (a coroutine with it, never resumed), and
// ending waits for work already running.
#include "transport/run_executor.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using Executor = RunExecutor<asio::io_context::executor_type>;

TEST(RunExecutor, RunsWorkWhileTheRunLastsAndDestroysItUnrunAfter) {
  asio::io_context io;
  auto run = std::make_shared<NodeRun>();
  const Executor executor(io.get_executor(), run);

  int ran = 0;
  asio::post(executor, [&] { ++ran; });
  io.run();
  io.restart();
  EXPECT_EQ(ran, 1);

  auto witness = std::make_shared<int>(0);
  asio::post(executor, [&, witness] { ++ran; });
  run->end();
  EXPECT_EQ(witness.use_count(), 2) << "queued, not yet destroyed";
  io.run();
  EXPECT_EQ(ran, 1) << "work queued before the end is not run after it";
  EXPECT_EQ(witness.use_count(), 1) << "and what it held is let go";
}

TEST(RunExecutor, ACoroutineWaitingWhenTheRunEndsIsDestroyedNotResumed) {
  asio::io_context io;
  auto run = std::make_shared<NodeRun>();
  const asio::any_io_executor executor = Executor(io.get_executor(), run);

  auto witness = std::make_shared<int>(0);
  bool resumed = false;
  asio::co_spawn(
      executor,
      [&, witness]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
        co_await timer.async_wait(asio::use_awaitable);
        resumed = true;
      },
      asio::detached);
  io.run_one();  // the coroutine starts and waits on its timer
  run->end();
  io.run();  // the timer fires; its completion belongs to the ended run
  EXPECT_FALSE(resumed);
  EXPECT_EQ(witness.use_count(), 1) << "the coroutine's frame was destroyed";
}

TEST(RunExecutor, EndingWaitsForWorkAlreadyRunning) {
  asio::io_context io;
  auto run = std::make_shared<NodeRun>();
  const Executor executor(io.get_executor(), run);

  std::atomic<bool> running{false};
  std::atomic<int> step{0};
  std::atomic<int> work_finished_at{0};
  std::atomic<int> end_returned_at{0};
  asio::post(executor, [&] {
    running = true;
    while (!run->ended()) std::this_thread::yield();  // end() has begun while this runs
    work_finished_at = ++step;
  });
  std::thread io_thread([&] { io.run(); });
  while (!running.load()) std::this_thread::yield();
  run->end();
  end_returned_at = ++step;
  io_thread.join();
  EXPECT_LT(work_finished_at.load(), end_returned_at.load()) << "end() returned before the running work finished";
  EXPECT_TRUE(run->ended());
}

}  // namespace
}  // namespace datafold::net::detail
