#include "services/answer_stream.hpp"

#include <algorithm>
#include <limits>

namespace datafold::net::detail {

AnswerStream::AnswerStream(Setup setup, Producer produce, Sender send, Scheduler schedule, Finished finished)
    : setup_(std::move(setup)),
      produce_(std::move(produce)),
      send_(std::move(send)),
      schedule_(std::move(schedule)),
      finished_(std::move(finished)),
      position_(setup_.position),
      credit_(std::max<std::uint32_t>(setup_.window, 1)) {}

void AnswerStream::start() {
  std::unique_lock lock(mutex_);
  if (done_ || making_ || credit_ == 0) return;
  // The first part is made here, in the turn that admitted the request, rather than
  // queued for a turn of its own: a one-part answer (most are) then costs one trip
  // through the handler pool, not two.
  making_ = true;
  lock.unlock();
  make_part();
}

void AnswerStream::credit(std::uint32_t parts) {
  std::unique_lock lock(mutex_);
  if (done_) return;
  // Never more ahead than the window, whatever the asker claims to have consumed.
  credit_ = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(std::uint64_t{credit_} + parts, std::max<std::uint32_t>(setup_.window, 1)));
  pump(lock);
}

void AnswerStream::cancel(const std::string& why) {
  std::unique_lock lock(mutex_);
  if (done_) return;
  finish_with_error(make_error(ErrorKind::Message, why, ErrorCode::QueryFailed), lock);
}

bool AnswerStream::finished() const {
  std::lock_guard lock(mutex_);
  return done_;
}

std::uint32_t AnswerStream::parts_sent() const {
  std::lock_guard lock(mutex_);
  return next_part_;
}

void AnswerStream::pump(std::unique_lock<std::mutex>& lock) {
  if (done_ || making_ || credit_ == 0) return;
  making_ = true;
  lock.unlock();
  schedule_([self = shared_from_this()] { self->make_part(); });
}

void AnswerStream::make_part() {
  std::unique_lock lock(mutex_);
  if (done_) return;
  const std::string position = position_;
  std::size_t max_rows = setup_.max_part_rows;
  if (setup_.limit != 0) max_rows = std::min<std::uint64_t>(max_rows, setup_.limit - rows_sent_);
  lock.unlock();

  auto page = produce_(position, max_rows);

  lock.lock();
  if (done_) {  // cancelled while it was being made: it is not sent
    making_ = false;
    return;
  }
  if (!page) {
    making_ = false;
    return finish_with_error(std::move(page).error(), lock);
  }
  rows_sent_ += page->rows;
  const bool limit_reached = setup_.limit != 0 && rows_sent_ >= setup_.limit;
  // No progress would loop forever: a page of no rows that claims more is the last.
  const bool more = !page->next_position.empty() && !limit_reached && page->rows > 0;
  QueryResponseMessage part;
  part.message_id = Uuid::random();
  part.query_id = setup_.query_id;
  part.part = next_part_++;
  part.more = more;
  part.result = std::move(page->result);
  // Only the last part says where to continue; in between, the asker just waits.
  if (more) part.result.cursor.clear();
  position_ = std::move(page->next_position);
  --credit_;
  if (!more) done_ = true;
  lock.unlock();
  // Still `making_` while it is handed over: a credit arriving now must not start
  // the next part, which could then be sent before this one.
  send_(std::move(part), !more);
  lock.lock();
  making_ = false;
  if (!more) {
    lock.unlock();
    if (finished_) finished_();
    return;
  }
  pump(lock);
}

void AnswerStream::finish_with_error(NetworkError error, std::unique_lock<std::mutex>& lock) {
  done_ = true;
  lock.unlock();
  ErrorMessage reply;
  reply.message_id = Uuid::random();
  reply.code = error.code == ErrorCode::None ? ErrorCode::QueryFailed : error.code;
  reply.message = error.message;
  reply.related_message_id = setup_.query_id;
  send_(std::move(reply), true);
  if (finished_) finished_();
}

}  // namespace datafold::net::detail
