// A TCP listener that accepts, counts and closes every connection: a trap that
// shows whether anything dialled an address (a forged one, say). It can listen
// inside a network namespace; its thread runs in this process.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace datafold::net::testing {

class AcceptCounter {
 public:
  // Listens on ip:port (IPv6 without brackets) inside `netns` ("": this process's
  // own namespace). nullptr and `why_not` filled if it could not.
  static std::unique_ptr<AcceptCounter> start(const std::string& netns, const std::string& ip, int port,
                                              std::string& why_not);
  ~AcceptCounter();  // stops its thread and closes the listener

  AcceptCounter(const AcceptCounter&) = delete;
  AcceptCounter& operator=(const AcceptCounter&) = delete;

  int accepted() const { return accepted_.load(); }
  // The source addresses of the connections accepted, in order.
  std::vector<std::string> sources() const;

 private:
  AcceptCounter(int listener, int wake_read, int wake_write);
  void run();

  int listener_, wake_read_, wake_write_;
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> sources_;
  std::thread thread_;
};

}  // namespace datafold::net::testing
