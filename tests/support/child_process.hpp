// The processes tests start (nodes, gateways, `ip` commands): started so that none
// outlives the test process. A test runner killed mid-test (ctest's timeout, a
// SIGKILL, a CI job cut short) runs no destructor, so without this its nodes would
// go on running, holding ports and namespaces, until someone killed them by hand.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace datafold::net::testing {

// Call first in the child, right after fork(), with the test's pid as read before the
// fork. The kernel SIGKILLs the child when the thread that forked it ends (Linux ties
// this to the thread, not the process: start a process that must outlive a helper
// thread from the test's main thread). If the test is already gone, the child exits
// at once. Async-signal-safe, as a child of a threaded process must be.
void die_with_test(pid_t test_pid);

// Starts `argv[0]` (searched in PATH) with `argv`, in its own process group (so a
// signal to the group reaches what it runs: `ip netns exec` execs in place), stdin
// from /dev/null, stdout and stderr appended to `log_file` ("" discards them), dying
// with the test as above. Returns the pid, or -1 if fork failed.
pid_t spawn_child(const std::vector<std::string>& argv, const std::string& log_file);

}  // namespace datafold::net::testing
