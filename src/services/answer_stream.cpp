#include "services/answer_stream.hpp"

#include <algorithm>

namespace datafold::net::detail {

AnswerStream::AnswerStream(AnswerParts parts, std::uint32_t window, Producer produce, Sender send,
                           Scheduler schedule, Finished finished)
    : window_(std::max<std::uint32_t>(window, 1)),
      produce_(std::move(produce)),
      send_(std::move(send)),
      schedule_(std::move(schedule)),
      finished_(std::move(finished)),
      parts_(std::move(parts)),
      // The first part, made before the stream, has had its credit.
      credit_(window_ - 1) {}

void AnswerStream::start(QueryResponseMessage first) {
  std::unique_lock lock(mutex_);
  if (done_ || making_) return;  // cancelled before it could be sent: it is not
  making_ = true;
  send_made(std::move(first), lock);
}

void AnswerStream::credit(std::uint32_t parts) {
  std::unique_lock lock(mutex_);
  if (done_) return;
  // Never more ahead than the window, whatever the asker claims to have consumed.
  credit_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{credit_} + parts, window_));
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
  return parts_.made();
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
  const std::string position = parts_.position();
  const std::size_t max_rows = parts_.next_rows();
  lock.unlock();

  auto page = produce_(position, max_rows);

  lock.lock();
  if (done_) {  // cancelled while it was being made: it is not sent
    making_ = false;
    return;
  }
  if (!page) {
    making_ = false;
    return finish_with_error(page.error(), lock);
  }
  --credit_;
  send_made(parts_.make(std::move(*page)), lock);
}

void AnswerStream::send_made(QueryResponseMessage part, std::unique_lock<std::mutex>& lock) {
  const bool last = parts_.over();
  if (last) done_ = true;
  lock.unlock();
  // Still `making_` while it is handed over: a credit arriving now must not start
  // the next part, which could then be sent before this one.
  send_(std::move(part), last);
  lock.lock();
  making_ = false;
  if (last) {
    lock.unlock();
    if (finished_) finished_();
    return;
  }
  pump(lock);
}

void AnswerStream::finish_with_error(const NetworkError& error, std::unique_lock<std::mutex>& lock) {
  done_ = true;
  lock.unlock();
  send_(parts_.failure(error), true);
  if (finished_) finished_();
}

}  // namespace datafold::net::detail
