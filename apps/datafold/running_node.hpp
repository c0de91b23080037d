// What a running `datafold node` tells other processes through its data dir: that it runs,
// by holding a lock on node.lock for as long as it lives (the kernel drops the lock when the
// process ends, crash or not, so nothing is left stuck), and where it listens, in node.json
// once it does. Every CLI command on the data dir finds the node's HTTP API from it without
// flags, and a second `datafold node` refused the data dir names the one that holds it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace datafold::app {

struct RunningNode {
  pid_t pid = 0;                    // the lock holder, as the kernel reports it: never stale
  bool published = false;           // false while the node starts: the fields below are unknown
  std::string node_id;
  std::string listen;               // "IP:PORT" it accepts peers on
  std::optional<std::string> http;  // "IP:PORT" of its HTTP API; nullopt when it serves none

  // "pid 4242, node 6c4w…, listening on 127.0.0.1:9000, HTTP API on 127.0.0.1:9080"
  std::string describe() const;
};

// The file whose lock says a node runs on `data_dir`. Only DataDirLock opens it in the
// node's process: the lock is a POSIX record lock, which a process loses when it closes
// any descriptor of the file.
std::filesystem::path node_lock_path(const std::filesystem::path& data_dir);
// The running node's record (pid, node id, addresses), replaced whole when written.
std::filesystem::path running_node_path(const std::filesystem::path& data_dir);

// The node running on `data_dir`, or nullopt when no process holds its lock: none runs, or
// the last one crashed, and what it left in node.json is ignored. A record whose pid is not
// the lock holder's is a crashed node's too: the node then reads as not yet published.
std::optional<RunningNode> find_running_node(const std::filesystem::path& data_dir);

// node.json's text, and back: nullopt if `text` is not such a record.
std::string running_node_json(const RunningNode& node);
std::optional<RunningNode> parse_running_node(std::string_view text);

}  // namespace datafold::app
