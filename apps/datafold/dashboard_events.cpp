#include "dashboard_events.hpp"

#include <httplib.h>

#include <memory>

#include "http_replies.hpp"

namespace datafold::app {

DashboardEvents::DashboardEvents(std::function<std::string()> snapshot, std::size_t max_streams,
                                 std::chrono::milliseconds interval)
    : snapshot_(std::move(snapshot)), max_streams_(max_streams), interval_(interval) {}

void DashboardEvents::install(httplib::Server& server) {
  server.Get("/api/v1/events", [this](const httplib::Request&, httplib::Response& res) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return reply_error(res, 503, "the node is stopping");
      if (open_ >= max_streams_) {
        res.set_header("Retry-After", "5");
        return reply_error(res, 503, "too many dashboards are open on this node (at most " +
                                         std::to_string(max_streams_) + " live feeds); close one");
      }
      ++open_;
    }
    res.set_header("Cache-Control", "no-store");
    // The first event goes out at once, the next ones each interval.
    auto first = std::make_shared<bool>(true);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, first](std::size_t, httplib::DataSink& sink) {
          if (!*first && !wait_for_next_event()) {
            sink.done();
            return true;
          }
          *first = false;
          const std::string event = "event: snapshot\ndata: " + snapshot_() + "\n\n";
          // A failed write is a closed tab: returning false ends the stream.
          return sink.write(event.data(), event.size());
        },
        // Runs when the response goes away, however the stream ended.
        [this](bool) {
          std::lock_guard lock(mutex_);
          --open_;
        });
  });
}

bool DashboardEvents::wait_for_next_event() {
  std::unique_lock lock(mutex_);
  return !closed_changed_.wait_for(lock, interval_, [this] { return closed_; });
}

void DashboardEvents::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  closed_changed_.notify_all();
}

std::size_t DashboardEvents::open_streams() const {
  std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace datafold::app
