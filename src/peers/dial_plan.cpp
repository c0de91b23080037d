#include "peers/dial_plan.hpp"

#include <algorithm>
#include <string>

namespace datafold::net::detail {

int dial_error_rank(const NetworkError& error) noexcept {
  switch (error.kind) {
    // Something answered at that address and was not the node, or not honest.
    case ErrorKind::Authentication: return 3;
    // Nobody there, or the network said no.
    case ErrorKind::Connection: return 1;
    // Nothing heard at all: says least.
    case ErrorKind::Timeout: return 0;
    // The node (or something) answered and said why not: a wrong network, a full
    // node, a protocol it does not speak.
    default: return 2;
  }
}

DialPlan::DialPlan(std::size_t attempts, std::chrono::milliseconds stagger, TimePoint start,
                   std::chrono::milliseconds budget)
    : attempts_(attempts),
      stagger_(std::max(stagger, std::chrono::milliseconds(0))),
      start_(start),
      deadline_(start + budget),
      budget_(budget) {}

std::optional<DialPlan::TimePoint> DialPlan::start_time(std::size_t i) const {
  if (i == 0) return start_;
  const Attempt& previous = attempts_[i - 1];
  switch (previous.state) {
    case State::Waiting: return std::nullopt;  // its turn comes after the previous starts
    case State::Failed:
      // Failed before its stagger was up: no reason to keep the next one waiting.
      return std::min(previous.started + stagger_, previous.ended);
    case State::Running:
    case State::Won: return previous.started + stagger_;
  }
  return std::nullopt;
}

std::vector<std::size_t> DialPlan::due(TimePoint now) {
  std::vector<std::size_t> out;
  while (!finished(now) && next_ < attempts_.size()) {
    auto at = start_time(next_);
    if (!at || *at > now) break;
    attempts_[next_].state = State::Running;
    attempts_[next_].started = now;
    out.push_back(next_++);
  }
  return out;
}

void DialPlan::on_failed(std::size_t attempt, NetworkError error, TimePoint now) {
  if (attempt >= attempts_.size()) return;
  Attempt& a = attempts_[attempt];
  if (a.state != State::Running) return;
  a.state = State::Failed;
  a.ended = now;
  a.error = std::move(error);
}

bool DialPlan::on_succeeded(std::size_t attempt, TimePoint now) {
  if (attempt >= attempts_.size() || attempts_[attempt].state != State::Running || finished(now)) return false;
  attempts_[attempt].state = State::Won;
  winner_ = attempt;
  return true;
}

bool DialPlan::finished(TimePoint now) const {
  if (winner_) return true;
  if (now >= deadline_) return true;
  return std::all_of(attempts_.begin(), attempts_.end(), [](const Attempt& a) { return a.state == State::Failed; });
}

std::optional<DialPlan::TimePoint> DialPlan::next_wakeup(TimePoint now) const {
  if (finished(now)) return std::nullopt;
  TimePoint wake = deadline_;
  if (next_ < attempts_.size()) {
    if (auto at = start_time(next_)) wake = std::min(wake, std::max(*at, now));
  }
  return wake;
}

std::vector<std::size_t> DialPlan::running() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < attempts_.size(); ++i)
    if (attempts_[i].state == State::Running) out.push_back(i);
  return out;
}

NetworkError DialPlan::error() const {
  const NetworkError* best = nullptr;
  for (const auto& a : attempts_)
    if (a.error && (!best || dial_error_rank(*a.error) > dial_error_rank(*best))) best = &*a.error;
  if (attempts_.empty()) return make_error(ErrorKind::Discovery, "no address to dial");
  const bool all_failed =
      std::all_of(attempts_.begin(), attempts_.end(), [](const Attempt& a) { return a.state == State::Failed; });
  // Out of time with attempts still running or never started: a better error than a
  // timeout from one that did end still says more.
  if (!all_failed && (!best || dial_error_rank(*best) <= dial_error_rank(make_error(ErrorKind::Timeout, ""))))
    return make_error(ErrorKind::Timeout,
                      "no address answered within " + std::to_string(budget_.count()) + " ms (" +
                          std::to_string(next_) + " of " + std::to_string(attempts_.size()) + " addresses tried)",
                      ErrorCode::Timeout);
  return *best;
}

}  // namespace datafold::net::detail
