#include "reachability/mapping_schedule.hpp"

#include <algorithm>

#include "datafold/net/host_port.hpp"

namespace datafold::net {

std::string_view to_string(MappingProtocol protocol) noexcept {
  switch (protocol) {
    case MappingProtocol::Upnp: return "upnp";
    case MappingProtocol::NatPmp: return "nat-pmp";
  }
  return "unknown";
}

}  // namespace datafold::net

namespace datafold::net::reachability {

std::string GrantedMapping::external_address() const { return format_host_port(external_ip, external_port); }

MappingSchedule::MappingSchedule(ScheduleConfig config, Clock::time_point now)
    : config_(config), next_due_(now) {}

std::optional<MappingSchedule::Attempt> MappingSchedule::due(Clock::time_point now) const {
  if (now < next_due_) return std::nullopt;
  if (!current_) return Attempt{};
  return Attempt{AttemptKind::Renew, current_->granted.protocol, current_->granted.external_port};
}

std::chrono::seconds MappingSchedule::backoff() const {
  // consecutive_failures_ >= 1 here: initial, 2x, 4x, ... up to retry_max.
  auto wait = config_.retry_initial;
  for (std::uint32_t i = 1; i < consecutive_failures_ && wait < config_.retry_max; ++i) wait *= 2;
  return std::min(wait, config_.retry_max);
}

MappingChange MappingSchedule::on_granted(const GrantedMapping& granted, Clock::time_point now) {
  consecutive_failures_ = 0;
  last_error_.clear();
  MappingChange change = MappingChange::None;
  if (!current_) change = MappingChange::Gained;
  else if (current_->granted.external_address() != granted.external_address() ||
           current_->granted.protocol != granted.protocol)
    change = MappingChange::Changed;
  const bool endless = granted.lease.count() <= 0;
  current_ = ActiveMapping{granted, endless ? std::nullopt : std::optional<Clock::time_point>(now + granted.lease)};
  // Half the lease: a renewal that fails has the other half to be retried in.
  const auto half = (endless ? config_.requested_lease : granted.lease) / 2;
  next_due_ = now + std::max(half, config_.min_renew_gap);
  return change;
}

MappingChange MappingSchedule::on_failed(std::string why, Clock::time_point now) {
  ++failures_;
  ++consecutive_failures_;
  last_error_ = std::move(why);
  const MappingChange change = on_tick(now);
  auto next = now + backoff();
  if (current_ && current_->expires) {
    // Retry a renewal while the lease still runs: halfway to its end, at least a second on.
    const auto halfway = now + (*current_->expires - now) / 2;
    next = std::min(next, std::max(halfway, now + std::chrono::seconds(1)));
  }
  next_due_ = next;
  return change;
}

MappingChange MappingSchedule::on_tick(Clock::time_point now) {
  if (!current_ || !current_->expires || now < *current_->expires) return MappingChange::None;
  current_.reset();
  // Nothing to renew any more: a fresh attempt, unless a backoff already set one later.
  if (consecutive_failures_ == 0) next_due_ = std::min(next_due_, now);
  return MappingChange::Lost;
}

}  // namespace datafold::net::reachability
