#include "transport/dry_read_wait.hpp"

#include <utility>

namespace datafold::net::detail {

#if DATAFOLD_DRY_READ_WAIT_ON_REACTOR

namespace {

using DescriptorState = asio::detail::reactor::descriptor_state;

// Asio keeps a descriptor's flags and their lock private to its reactor. An explicit
// instantiation may name private members (the usual access checks do not apply to
// the names in one: C++20 [temp.spec]), and the friend it defines hands the member's
// pointer out. Kept to this one file: nothing else in the project names Asio's
// private members.
template <class Tag, auto Member>
struct ExposeMember {
  friend constexpr auto member_of(Tag) { return Member; }
};
struct SpeculativeFlags {
  friend constexpr auto member_of(SpeculativeFlags);
};
struct DescriptorLock {
  friend constexpr auto member_of(DescriptorLock);
};
template struct ExposeMember<SpeculativeFlags, &DescriptorState::try_speculative_>;
template struct ExposeMember<DescriptorLock, &DescriptorState::mutex_>;

}  // namespace

bool DryReadWait::take_hang_up_report() noexcept {
  auto& impl = Internals::of(socket_);
  DescriptorState* state = impl.reactor_data_;
  if (state == nullptr) return true;  // not open: whatever waits next finds out
  // The reactor sets the out-of-band flag (with the others) on every event that has
  // EPOLLPRI, EPOLLERR or EPOLLHUP, under this lock; nothing clears it but an
  // out-of-band read that finds nothing, which this project never starts.
  auto& lock_of_state = state->*member_of(DescriptorLock{});
  asio::detail::conditionally_enabled_mutex::scoped_lock lock(lock_of_state);
  bool& reported = (state->*member_of(SpeculativeFlags{}))[asio::detail::reactor::except_op];
  return std::exchange(reported, false);
}

#else

bool DryReadWait::take_hang_up_report() noexcept { return true; }

#endif

}  // namespace datafold::net::detail
