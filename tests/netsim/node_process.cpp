#include "netsim/node_process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include <httplib.h>

namespace datafold::net::testing {

LanNode::LanNode(VirtualLan& lan, int host, std::string data_dir, LanNodeOptions options)
    : lan_(lan), host_(host), data_dir_(std::move(data_dir)), options_(std::move(options)) {}

bool LanNode::start() {
  // The node's output goes to a log in its data dir, so the dir must exist first.
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  std::filesystem::permissions(data_dir_, std::filesystem::perms::owner_all, ec);
  const std::string ip = lan_.ip(host_);
  pid_ = lan_.spawn(host_,
                    {DATAFOLD_BINARY, "--data-dir", data_dir_, "node", "--sample", "--no-port-mapping",
                     "--listen", ip + ":" + std::to_string(kTcpPort),
                     "--http", ip + ":" + std::to_string(kHttpPort),
                     "--discovery-interface", lan_.interface(host_),
                     "--network", options_.network,
                     "--announce-interval-ms", std::to_string(options_.announce_interval.count()),
                     "--ping-interval-ms", std::to_string(options_.ping_interval.count())},
                    data_dir_ + "/node.log");
  if (pid_ <= 0) return false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    if (!lan_.running(pid_)) return false;
    if (node_id()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void LanNode::kill(int signal) {
  if (pid_ > 0) (void)lan_.stop_process(pid_, signal);
  pid_ = -1;
}

std::optional<int> LanNode::stop_for_exit_code(int signal, std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return std::nullopt;
  return lan_.stop_process(std::exchange(pid_, -1), signal, deadline);
}

std::optional<Json> LanNode::get(const std::string& path) {
  httplib::Client client(lan_.ip(host_), kHttpPort);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(10));
  auto response = client.Get(path.c_str());
  if (!response || response->status != 200) return std::nullopt;
  auto body = Json::parse(response->body, nullptr, false);
  if (body.is_discarded() || !body.contains("data")) return std::nullopt;
  return body["data"];
}

std::optional<std::string> LanNode::node_id() {
  auto status = get("/api/v1/network/status");
  if (!status || !status->contains("node_id")) return std::nullopt;
  return (*status)["node_id"].get<std::string>();
}

std::optional<Json> LanNode::nodes() { return get("/api/v1/network/nodes"); }

std::vector<std::string> LanNode::known_ids() {
  std::vector<std::string> out;
  if (auto list = nodes(); list && list->is_array())
    for (const auto& node : *list) out.push_back(node.value("node_id", ""));
  return out;
}

std::optional<std::string> LanNode::health_of(const std::string& node_id) {
  if (auto list = nodes(); list && list->is_array())
    for (const auto& node : *list)
      if (node.value("node_id", "") == node_id) return node.value("health", "");
  return std::nullopt;
}

std::optional<Json> LanNode::query(const std::string& node, const std::string& schema,
                                   const std::vector<std::string>& fields) {
  httplib::Client client(lan_.ip(host_), kHttpPort);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(30));
  Json body{{"node", node}, {"schema", schema}, {"fields", fields}};
  auto response = client.Post("/api/v1/query", body.dump(), "application/json");
  if (!response) return std::nullopt;
  auto parsed = Json::parse(response->body, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

LanNode::HttpExchange LanNode::post_query(const Json& body, std::chrono::milliseconds timeout) {
  httplib::Client client(lan_.ip(host_), kHttpPort);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_write_timeout(std::chrono::seconds(5));
  client.set_read_timeout(timeout);
  auto response = client.Post("/api/v1/query", body.dump(), "application/json");
  if (!response) return {std::nullopt, "", httplib::to_string(response.error())};
  return {response->status, response->body, ""};
}

std::string LanNode::log_tail() const {
  std::ifstream in(data_dir_ + "/node.log");
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

}  // namespace datafold::net::testing
