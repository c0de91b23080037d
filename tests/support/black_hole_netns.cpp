#include "support/black_hole_netns.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

extern char** environ;

#include "support/netns_sweep.hpp"

namespace datafold::net::testing {

namespace {

constexpr const char* kTable = "dfblackhole";

// Runs argv with its output discarded; true if it exited 0.
bool run(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return false;
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

std::unique_ptr<BlackHoleNetns> BlackHoleNetns::create(const std::string& black_hole_ip, std::string& why_not) {
  if (::geteuid() != 0) {
    why_not = "making a network namespace needs root";
    return nullptr;
  }
  if (!run({"ip", "-V"}) || !run({"nft", "--version"})) {
    why_not = "needs iproute2 ('ip') and nftables ('nft')";
    return nullptr;
  }
  sweep_netns_of_dead_processes("dfbh-");
  std::random_device random;
  std::string name = "dfbh-" + std::to_string(::getpid()) + "-" + std::to_string(random() % 100000);
  if (!run({"ip", "netns", "add", name})) {
    why_not = "cannot create network namespace " + name;
    return nullptr;
  }
  std::unique_ptr<BlackHoleNetns> netns(new BlackHoleNetns(std::move(name)));  // deletes it from here on
  const auto nft = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"ip", "netns", "exec", netns->name_, "nft"});
    return run(std::move(args));
  };
  const bool ready = run({"ip", "-n", netns->name_, "link", "set", "lo", "up"}) &&
                     nft({"add", "table", "inet", kTable}) &&
                     nft({"add", "chain", "inet", kTable, "in", "{ type filter hook input priority 0 ; }"}) &&
                     nft({"add", "rule", "inet", kTable, "in", "ip", "daddr", black_hole_ip, "counter", "drop"});
  if (!ready) {
    why_not = "cannot bring loopback up and add the nftables drop rule in " + netns->name_;
    return nullptr;
  }
  return netns;
}

bool BlackHoleNetns::ip(std::vector<std::string> args) const {
  args.insert(args.begin(), {"ip", "-n", name_});
  return run(std::move(args));
}

BlackHoleNetns::~BlackHoleNetns() { run({"ip", "netns", "del", name_}); }

long BlackHoleNetns::dropped_packets() const {
  const std::string command = "ip netns exec " + name_ + " nft list chain inet " + kTable + " in 2>/dev/null";
  FILE* out = ::popen(command.c_str(), "r");
  if (!out) return -1;
  long packets = -1;
  char line[512];
  // The rule's line reads "... counter packets N bytes M drop".
  while (std::fgets(line, sizeof line, out))
    if (const char* at = std::strstr(line, "counter packets ")) packets = std::strtol(at + 16, nullptr, 10);
  ::pclose(out);
  return packets;
}

}  // namespace datafold::net::testing
