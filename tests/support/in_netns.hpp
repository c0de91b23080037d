// Runs code inside a network namespace (one made by `ip netns add`, such as a
// VirtualLan host's) from this process: no child process, no `ip netns exec`.
#pragma once

#include <functional>
#include <string>

namespace datafold::net::testing {

// Runs `work` on a new thread that has joined namespace `netns`, and waits for it.
// Sockets made by that thread, and threads it starts (so a node started there, with
// its I/O and handler threads), stay in the namespace after `work` returns.
// False with `why_not` filled if the namespace could not be entered; `work` did not run.
bool run_in_netns(const std::string& netns, const std::function<void()>& work, std::string& why_not);

}  // namespace datafold::net::testing
