#include "core/pending_requests.hpp"

#include <string>

namespace datafold::net::detail {

bool PendingRequests::add(const Uuid& id, Clock::time_point now, Clock::time_point deadline,
                          Completion& done) {
  return insert(id, now, deadline, done) != nullptr;
}

PendingRequests::Entry* PendingRequests::insert(const Uuid& id, Clock::time_point now, Clock::time_point deadline,
                                                Completion& done) {
  auto [entry, inserted] = entries_.try_emplace(id);
  if (!inserted) return nullptr;
  *entry = Entry{now, deadline, std::move(done)};
  deadlines_.emplace(deadline, id);
  compact_deadlines();  // touches the heap only: `entry` stays valid
  return entry;
}

void PendingRequests::compact_deadlines() {
  if (deadlines_.size() <= 2 * entries_.size() + 64) return;
  // Rebuild from the live entries so memory tracks what is really pending.
  std::vector<Deadline> live;
  live.reserve(entries_.size());
  entries_.for_each([&](const Uuid& id, const Entry& entry) { live.emplace_back(entry.deadline, id); });
  deadlines_ = decltype(deadlines_)(std::greater<>{}, std::move(live));
}

bool PendingRequests::add_streamed(const Uuid& id, Clock::time_point now, Clock::duration idle, Completion& done) {
  Entry* entry = insert(id, now, now + idle, done);
  if (entry == nullptr) return false;
  entry->idle = idle;
  return true;
}

bool PendingRequests::deliver_part(const Uuid& id, Message part, Clock::time_point now) {
  Entry* entry = entries_.find(id);
  if (entry == nullptr || entry->idle <= Clock::duration::zero()) return false;
  entry->deadline = now + entry->idle;
  deadlines_.emplace(entry->deadline, id);  // the old heap entry goes stale
  compact_deadlines();
  // A copy: the completion may end the request (cancel it), erasing the entry.
  Completion done = entry->done;
  done(std::move(part));
  return true;
}

std::optional<PendingRequests::Clock::time_point> PendingRequests::restart_deadline(const Uuid& id,
                                                                                   Clock::time_point now) {
  Entry* entry = entries_.find(id);
  if (entry == nullptr || entry->idle <= Clock::duration::zero()) return std::nullopt;
  entry->deadline = now + entry->idle;
  deadlines_.emplace(entry->deadline, id);
  compact_deadlines();
  return entry->deadline;
}

bool PendingRequests::complete(const Uuid& id, NetworkResult<Message>&& outcome) {
  Entry* entry = entries_.find(id);
  if (entry == nullptr) return false;
  Completion done = std::move(entry->done);
  entries_.erase(id);
  done(std::move(outcome));
  return true;
}

std::size_t PendingRequests::expire(Clock::time_point now) {
  std::vector<std::pair<Completion, Clock::duration>> expired;
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    const Uuid id = deadlines_.top().second;
    deadlines_.pop();
    Entry* entry = entries_.find(id);
    if (entry == nullptr || entry->deadline > now) continue;  // stale heap entry
    expired.emplace_back(std::move(entry->done), now - entry->started);
    entries_.erase(id);
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
  auto entries = entries_.take_all();
  deadlines_ = {};
  for (auto& [id, entry] : entries) entry.done(error);
}

void PendingRequests::drop_stale_deadlines() {
  while (!deadlines_.empty()) {
    const Entry* entry = entries_.find(deadlines_.top().second);
    if (entry != nullptr && entry->deadline == deadlines_.top().first) return;
    deadlines_.pop();
  }
}

std::optional<PendingRequests::Clock::time_point> PendingRequests::next_deadline() {
  drop_stale_deadlines();
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.top().first;
}

}  // namespace datafold::net::detail
