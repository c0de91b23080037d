#include "support/netns_sweep.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "support/netns_processes.hpp"

namespace datafold::net::testing {

void sweep_netns_of_dead_processes(const std::string& prefix,
                                   const std::function<void(const std::string&)>& after_each) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const auto digits_end = name.find('-', prefix.size());
    if (digits_end == std::string::npos || digits_end == prefix.size()) continue;
    const std::string digits = name.substr(prefix.size(), digits_end - prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t owner = static_cast<pid_t>(std::stol(digits));
    if (owner == ::getpid() || ::kill(owner, 0) == 0 || errno != ESRCH) continue;
    run_quietly({"ip", "netns", "del", name});
    if (after_each) after_each(name);
  }
}

}  // namespace datafold::net::testing
