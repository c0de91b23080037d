// Gate: holds callbacks until released, so a test can keep requests in flight
// without sleeping. Every wait for waiters has a deadline.
//
// A callback waits through a Waiter it holds by value, never through the Gate:
// a node may run queued handlers after the test's Gate is gone (requests still
// queued on its handler pool when the test ends), and those must find an open
// gate, not freed memory. The Waiter shares the gate's state for that reason.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace datafold::net::testing {

class Gate {
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    int waiting = 0;  // callers that ever reached wait()
    bool open = false;
  };

 public:
  // What a callback captures (by value) to wait at the gate.
  class Waiter {
   public:
    // Blocks the calling thread until the gate opens (returns at once if open).
    void wait() const {
      std::unique_lock lock(state_->mutex);
      ++state_->waiting;
      state_->changed.notify_all();
      state_->changed.wait(lock, [&] { return state_->open; });
    }

   private:
    friend class Gate;
    explicit Waiter(std::shared_ptr<State> state) : state_(std::move(state)) {}
    std::shared_ptr<State> state_;
  };

  Gate() = default;
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  // Opens: a test that stops early (a failed ASSERT) must not leave handler threads
  // blocked, or stopping its nodes would wait for them forever.
  ~Gate() { open(); }

  Waiter waiter() const { return Waiter(state_); }
  void open() {
    std::lock_guard lock(state_->mutex);
    state_->open = true;
    state_->changed.notify_all();
  }
  // True once `n` callers have reached wait() (counting those already released).
  bool wait_for_waiters(int n, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    std::unique_lock lock(state_->mutex);
    return state_->changed.wait_for(lock, deadline, [&] { return state_->waiting >= n; });
  }
  int waiters() {
    std::lock_guard lock(state_->mutex);
    return state_->waiting;
  }

 private:
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace datafold::net::testing
