#include "running_node.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace datafold::app {

namespace {

// The pid of the process holding a lock on `path`; nullopt if none does (or there is no
// such file). Asks without taking the lock, so a node starting meanwhile is never refused
// because of this look.
std::optional<pid_t> lock_holder(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 0;  // the whole file
  const int asked = ::fcntl(fd, F_GETLK, &probe);
  ::close(fd);
  if (asked != 0 || probe.l_type == F_UNLCK) return std::nullopt;
  return probe.l_pid;
}

}  // namespace

std::string RunningNode::describe() const {
  std::string text = "pid " + std::to_string(pid);
  if (!published) return text + " (still starting: its addresses are not known yet)";
  text += ", node " + node_id;
  text += ", listening on " + listen;
  text += http ? ", HTTP API on " + *http : ", no HTTP API";
  return text;
}

std::filesystem::path node_lock_path(const std::filesystem::path& data_dir) { return data_dir / "node.lock"; }
std::filesystem::path running_node_path(const std::filesystem::path& data_dir) { return data_dir / "node.json"; }

std::optional<RunningNode> find_running_node(const std::filesystem::path& data_dir) {
  const auto holder = lock_holder(node_lock_path(data_dir));
  if (!holder) return std::nullopt;
  RunningNode node;
  node.pid = *holder;
  std::ifstream in(running_node_path(data_dir));
  std::stringstream text;
  text << in.rdbuf();
  if (auto record = parse_running_node(text.str()); record && record->pid == *holder) node = std::move(*record);
  return node;
}

std::string running_node_json(const RunningNode& node) {
  nlohmann::json record{{"pid", node.pid}, {"node_id", node.node_id}, {"listen", node.listen}};
  record["http"] = node.http ? nlohmann::json(*node.http) : nlohmann::json(nullptr);
  return record.dump() + "\n";
}

std::optional<RunningNode> parse_running_node(std::string_view text) {
  const auto record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) return std::nullopt;
  const auto pid = record.value("pid", nlohmann::json());
  const auto node_id = record.value("node_id", nlohmann::json());
  const auto listen = record.value("listen", nlohmann::json());
  const auto http = record.value("http", nlohmann::json());
  if (!pid.is_number_integer() || !node_id.is_string() || !listen.is_string() || !(http.is_string() || http.is_null()))
    return std::nullopt;
  RunningNode node;
  node.pid = pid.get<pid_t>();
  node.published = true;
  node.node_id = node_id.get<std::string>();
  node.listen = listen.get<std::string>();
  if (http.is_string()) node.http = http.get<std::string>();
  return node;
}

}  // namespace datafold::app
