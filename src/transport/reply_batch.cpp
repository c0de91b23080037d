#include "transport/reply_batch.hpp"

#include "transport/tls_connection.hpp"

namespace datafold::net::detail {

namespace {
thread_local ReplyBatch* t_current = nullptr;
}  // namespace

ReplyBatch::ReplyBatch() noexcept : outer_(t_current) { t_current = this; }

ReplyBatch::~ReplyBatch() {
  t_current = outer_;
  hand_over();
}

ReplyBatch* ReplyBatch::current() noexcept { return t_current; }

void ReplyBatch::add(const std::shared_ptr<TlsConnection>& connection, std::string_view frame) {
  Held* held = nullptr;
  for (auto& entry : held_)
    if (entry.connection == connection) held = &entry;
  if (held == nullptr) held = &held_.emplace_back(Held{connection, {}, {}});
  held->frames.append(frame);
  held->sizes.push_back(static_cast<std::uint32_t>(frame.size()));
  held_bytes_ += frame.size();
  if (held_bytes_ > kMaxHeldBytes) hand_over();
}

void ReplyBatch::hand_over() {
  for (auto& entry : held_) entry.connection->queue_replies(std::move(entry.frames), std::move(entry.sizes));
  held_.clear();
  held_bytes_ = 0;
}

}  // namespace datafold::net::detail
