#include "core/pending_requests.hpp"

#include <string>

namespace datafold::net::detail {

bool PendingRequests::add(const Uuid& id, Clock::time_point now, Clock::time_point deadline,
                          Completion& done) {
  return insert(id, now, deadline, done) != nullptr;
}

PendingRequests::Entry* PendingRequests::insert(const Uuid& id, Clock::time_point now, Clock::time_point deadline,
                                                Completion& done) {
  auto [it, inserted] = entries_.try_emplace(id);
  if (!inserted) return nullptr;
  it->second = Entry{now, deadline, std::move(done)};
  deadlines_.emplace(deadline, id);
  compact_deadlines();
  return &it->second;
}

void PendingRequests::compact_deadlines() {
  if (deadlines_.size() <= 2 * entries_.size() + 64) return;
  // Rebuild from the live entries so memory tracks what is really pending.
  std::vector<Deadline> live;
  live.reserve(entries_.size());
  for (const auto& [key, entry] : entries_) live.emplace_back(entry.deadline, key);
  deadlines_ = decltype(deadlines_)(std::greater<>{}, std::move(live));
}

bool PendingRequests::add_streamed(const Uuid& id, Clock::time_point now, Clock::duration idle, Completion& done) {
  Entry* entry = insert(id, now, now + idle, done);
  if (entry == nullptr) return false;
  entry->idle = idle;
  return true;
}

bool PendingRequests::deliver_part(const Uuid& id, Message part, Clock::time_point now) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.idle <= Clock::duration::zero()) return false;
  it->second.deadline = now + it->second.idle;
  deadlines_.emplace(it->second.deadline, id);  // the old heap entry goes stale
  compact_deadlines();
  // A copy: the completion may end the request (cancel it), erasing the entry.
  Completion done = it->second.done;
  done(std::move(part));
  return true;
}

std::optional<PendingRequests::Clock::time_point> PendingRequests::restart_deadline(const Uuid& id,
                                                                                   Clock::time_point now) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.idle <= Clock::duration::zero()) return std::nullopt;
  it->second.deadline = now + it->second.idle;
  deadlines_.emplace(it->second.deadline, id);
  compact_deadlines();
  return it->second.deadline;
}

bool PendingRequests::complete(const Uuid& id, NetworkResult<Message>&& outcome) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  Completion done = std::move(it->second.done);
  entries_.erase(it);
  done(std::move(outcome));
  return true;
}

std::size_t PendingRequests::expire(Clock::time_point now) {
  std::vector<std::pair<Completion, Clock::duration>> expired;
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    const Uuid id = deadlines_.top().second;
    deadlines_.pop();
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.deadline > now) continue;  // stale heap entry
    expired.emplace_back(std::move(it->second.done), now - it->second.started);
    entries_.erase(it);
  }
  // Completions run after the table is consistent: they may start new requests.
  for (auto& [done, waited] : expired) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(waited).count();
    done(make_error(ErrorKind::Timeout, "no reply within " + std::to_string(ms) + " ms",
                    ErrorCode::Timeout));
  }
  return expired.size();
}

void PendingRequests::fail_all(const NetworkError& error) {
  auto entries = std::move(entries_);
  entries_.clear();
  deadlines_ = {};
  for (auto& [id, entry] : entries) entry.done(error);
}

void PendingRequests::drop_stale_deadlines() {
  while (!deadlines_.empty()) {
    auto it = entries_.find(deadlines_.top().second);
    if (it != entries_.end() && it->second.deadline == deadlines_.top().first) return;
    deadlines_.pop();
  }
}

std::optional<PendingRequests::Clock::time_point> PendingRequests::next_deadline() {
  drop_stale_deadlines();
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.top().first;
}

}  // namespace datafold::net::detail
