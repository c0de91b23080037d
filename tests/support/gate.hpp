// Gate: holds callbacks until released, so a test can keep requests in flight
// without sleeping. Every wait for waiters has a deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace datafold::net::testing {

class Gate {
 public:
  Gate() = default;
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  // Opens, and returns once every caller has left wait(): a gate destroyed before the
  // node whose handlers wait on it must not vanish under a thread still leaving.
  ~Gate() {
    std::unique_lock lock(mutex_);
    open_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return inside_ == 0; });
  }

  // Blocks the calling thread until open() (returns at once if already open).
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    ++inside_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    --inside_;
    changed_.notify_all();
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
  int waiting_ = 0;  // callers that ever reached wait()
  int inside_ = 0;   // callers in wait() now
  bool open_ = false;
};

}  // namespace datafold::net::testing
