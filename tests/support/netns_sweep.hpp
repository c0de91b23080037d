// Namespaces a test run left behind when it died before its destructors ran
// (a sanitizer abort, SIGKILL): named "<prefix><pid>-…", they are deleted once
// that process is gone, by the next run that makes namespaces of the same kind.
#pragma once

#include <functional>
#include <string>

namespace datafold::net::testing {

// Deletes every network namespace named `prefix` + a pid + "-…" whose process no
// longer exists (deleting a namespace takes the links inside it). `after_each`, if
// given, then runs with the deleted namespace's name: for what its maker put outside
// it (a bridge in the root namespace).
void sweep_netns_of_dead_processes(const std::string& prefix,
                                   const std::function<void(const std::string&)>& after_each = {});

}  // namespace datafold::net::testing
