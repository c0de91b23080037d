#include "datafold/net/query_stream.hpp"

#include <algorithm>
#include <string>

#include "services/parts_in_order.hpp"
#include "services/result_size.hpp"
#include "transport/memory_budget.hpp"

namespace datafold::net {

std::shared_ptr<QueryStream> QueryStream::start(const std::shared_ptr<Connection>& connection, QueryMessage request,
                                                Options options, PartHandler on_part) {
  options.window = std::max<std::uint32_t>(options.window, 1);
  // One allocation for the stream and its count (make_shared cannot reach the private constructor).
  struct Made : QueryStream {
    Made(const std::shared_ptr<Connection>& connection, Uuid id, Options options, PartHandler on_part)
        : QueryStream(connection, id, options, std::move(on_part)) {}
  };
  std::shared_ptr<QueryStream> stream =
      std::make_shared<Made>(connection, request.query_id, options, std::move(on_part));
  request.stream_window = options.window;
  connection->request_parts(
      std::move(request), [stream](NetworkResult<Message> reply) { stream->on_reply(std::move(reply)); },
      options.part_timeout);
  return stream;
}

QueryStream::QueryStream(const std::shared_ptr<Connection>& connection, Uuid query_id, Options options,
                         PartHandler on_part)
    : connection_(connection),
      query_id_(query_id),
      options_(options),
      on_part_(std::move(on_part)),
      // Parts handed to a PartHandler are never held here: no hold to make for them.
      held_(on_part_ ? nullptr : std::make_unique<detail::BudgetHold>(connection->memory_budget())) {}

QueryStream::~QueryStream() = default;

void QueryStream::on_reply(NetworkResult<Message> reply) {
  std::unique_lock lock(mutex_);
  if (ended_) return;  // cancelled or failed: what is still on its way is dropped
  // A Timeout means the answerer went quiet: fail() tells it to stop in case it is only slow.
  auto taken = detail::part_in_order(reply, expected_part_);
  if (!taken) return fail(std::move(taken).error(), lock);
  QueryResponseMessage* response = *taken;
  const bool last = !response->more;
  if (!last && !on_part_ && parts_.size() >= options_.window)
    return fail(make_error(ErrorKind::Protocol, "peer sent more parts than it was allowed", ErrorCode::ProtocolError),
                lock);
  ++expected_part_;
  ++received_;
  if (last) ended_ = true;
  if (on_part_) {
    lock.unlock();
    const bool more_wanted = on_part_(std::move(response->result), last);
    if (last) return;
    if (more_wanted) return send_credit(1, false);
    lock.lock();
    if (ended_) return;
    ended_ = true;
    lock.unlock();
    return send_credit(0, true);
  }
  const std::size_t bytes = detail::approximate_bytes(response->result);
  held_->charge(bytes);  // it has arrived: counted, whatever the total says
  parts_.push_back({std::move(response->result), last, bytes});
  lock.unlock();
  ready_.notify_all();
}

void QueryStream::fail(NetworkError error, std::unique_lock<std::mutex>& lock) {
  ended_ = true;
  if (!on_part_) parts_.push_back({error, true});
  lock.unlock();
  ready_.notify_all();
  send_credit(0, true);
  if (on_part_) (void)on_part_(std::move(error), true);
}

NetworkResult<std::optional<QueryResult>> QueryStream::next() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [this] { return !parts_.empty() || taken_end_; });
  if (parts_.empty()) return std::optional<QueryResult>{};
  auto [part, last, bytes] = std::move(parts_.front());
  parts_.pop_front();
  held_->release(bytes);
  if (last) taken_end_ = true;
  lock.unlock();
  if (!part) return std::move(part).error();
  // Taken: room for one more part on the answerer's side.
  if (!last) send_credit(1, false);
  return std::optional<QueryResult>(std::move(*part));
}

void QueryStream::cancel() {
  std::unique_lock lock(mutex_);
  if (ended_) return;
  ended_ = true;
  parts_.clear();
  if (held_) held_->release_all();
  if (!on_part_) parts_.push_back({make_error(ErrorKind::Message, "cancelled"), true});
  lock.unlock();
  ready_.notify_all();
  send_credit(0, true);
}

std::uint64_t QueryStream::parts_received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

void QueryStream::send_credit(std::uint32_t parts, bool cancel) {
  if (auto connection = connection_.lock()) detail::send_query_credit(*connection, query_id_, parts, cancel);
}

}  // namespace datafold::net
