// GET /api/v1/events: the dashboard's live feed, as Server-Sent Events. Each event is one
// snapshot (dashboard_snapshot.hpp), sent when the stream opens and then every interval.
//
// httplib serves each connection on one of its worker threads for as long as the
// connection lasts, so an open stream holds a worker: the streams are bounded
// (max_streams; one more is answered 503 with Retry-After) and the pool is sized above
// that bound (HttpApi), so a few open tabs never starve the CLI's requests. A closed tab
// ends its stream at the next write, which fails; close() ends every stream within one
// wake-up, so stopping the server never waits on an open tab.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

namespace httplib {
class Server;
}

namespace datafold::app {

class DashboardEvents {
 public:
  // `snapshot` returns one event's data (JSON text, one line); called on a worker thread.
  DashboardEvents(std::function<std::string()> snapshot, std::size_t max_streams, std::chrono::milliseconds interval);

  void install(httplib::Server& server);
  // Ends every stream and refuses new ones: call before the server stops.
  void close();
  // Streams open now (tests watch a closed tab's stream end).
  std::size_t open_streams() const;

 private:
  // Waits until the next event is due or close(); false once closed.
  bool wait_for_next_event();

  std::function<std::string()> snapshot_;
  const std::size_t max_streams_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable closed_changed_;
  bool closed_ = false;
  std::size_t open_ = 0;
};

}  // namespace datafold::app
