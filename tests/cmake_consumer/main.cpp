// Links against the installed datafold::net: makes an identity, starts a node
// on loopback (port 0) and stops it.
#include <cstdio>
#include <utility>

#include <datafold/net/identity.hpp>
#include <datafold/net/network_core.hpp>

namespace net = datafold::net;

int main() {
  auto identity = net::Identity::generate();
  if (!identity) {
    std::fprintf(stderr, "identity: %s\n", identity.error().to_string().c_str());
    return 1;
  }
  std::printf("node id: %s\n", identity->node_id().to_string().c_str());

  net::NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.identity = *identity;
  auto core = net::NetworkCore::create(std::move(config), identity->node_id(), std::nullopt);
  if (!core) {
    std::fprintf(stderr, "create: %s\n", core.error().to_string().c_str());
    return 1;
  }
  if (auto started = core->start(); !started) {
    std::fprintf(stderr, "start: %s\n", started.error().to_string().c_str());
    return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(core->listen_port()));
  if (auto stopped = core->stop(); !stopped) {
    std::fprintf(stderr, "stop: %s\n", stopped.error().to_string().c_str());
    return 1;
  }
  std::printf("stopped\n");
  return 0;
}
