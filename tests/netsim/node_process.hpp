// A `datafold node` process on a VirtualLan host, observed through its HTTP API.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "datafold/net/json.hpp"
#include "support/virtual_lan.hpp"

namespace datafold::net::testing {

struct LanNodeOptions {
  std::string network = "netsim";
  std::chrono::milliseconds announce_interval{1000};
  std::chrono::milliseconds ping_interval{500};
};

class LanNode {
 public:
  static constexpr int kTcpPort = 9000;
  static constexpr int kHttpPort = 8080;

  LanNode(VirtualLan& lan, int host, std::string data_dir, LanNodeOptions options);

  bool start();                        // spawns it; true once its HTTP API answers
  void kill(int signal);               // and reaps it
  // Sends `signal` and reaps the process itself, so the exit status is known: the exit
  // code, or nullopt if a signal ended it or it outlived `deadline` (then it is SIGKILLed).
  std::optional<int> stop_for_exit_code(int signal, std::chrono::milliseconds deadline);
  bool running() { return pid_ > 0 && lan_.running(pid_); }

  // GET /api/network/status -> data
  std::optional<Json> status() { return get("/api/v1/network/status"); }
  // data.node_id of the status
  std::optional<std::string> node_id();
  // GET /api/v1/reputation -> data ({"entries": [...], "stats": {...}})
  std::optional<Json> reputation() { return get("/api/v1/reputation"); }
  // GET /api/network/nodes -> data (array of node objects)
  std::optional<Json> nodes();
  // The ids this node currently knows.
  std::vector<std::string> known_ids();
  std::optional<std::string> health_of(const std::string& node_id);
  // POST /api/query; the whole response body ({"data": …} or {"error": …}).
  std::optional<Json> query(const std::string& node, const std::string& schema,
                            const std::vector<std::string>& fields);
  // One HTTP exchange, kept whole so a caller can tell "no reply at all" from an error reply.
  struct HttpExchange {
    std::optional<int> status;    // nullopt: no HTTP reply came back
    std::string body;
    std::string transport_error;  // why no reply came back (httplib's words)
  };
  // POST /api/query with `body`, waiting up to `timeout` for the reply.
  HttpExchange post_query(const Json& body, std::chrono::milliseconds timeout);
  std::string log_tail() const;

 private:
  std::optional<Json> get(const std::string& path);

  VirtualLan& lan_;
  int host_;
  std::string data_dir_;
  LanNodeOptions options_;
  pid_t pid_ = -1;
};

}  // namespace datafold::net::testing
