// Gate: holds callbacks until released, so a test can keep requests in flight
// without sleeping. Every wait for waiters has a deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace datafold::net::testing {

class Gate {
 public:
  // Blocks the calling thread until open() (returns at once if already open).
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  // True once `n` callers have reached wait() (counting those already released).
  bool wait_for_waiters(int n, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] { return waiting_ >= n; });
  }
  int waiters() {
    std::lock_guard lock(mutex_);
    return waiting_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

}  // namespace datafold::net::testing
