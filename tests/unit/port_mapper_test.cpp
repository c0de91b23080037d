// PortMapper: the mapping thread with scripted gateways in place of NAT-PMP and UPnP,
// so what it does with answers, silences and stop() shows without a network.
#include "reachability/port_mapper.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "support/test_nodes.hpp"

namespace datafold::net::reachability {
namespace {

using namespace std::chrono_literals;

// What a scripted gateway did, shared with the test (the mapper owns the client).
struct Script {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> calls;       // "map:<ext port>", "unmap:<ext port>"
  bool grant = true;                    // else map() fails
  bool hang = false;                    // map() blocks until released (a gateway that never answers)
  bool released = false;
  std::uint16_t granted_port = 9000;

  void record(std::string call) {
    std::lock_guard lock(mutex);
    calls.push_back(std::move(call));
    changed.notify_all();
  }
  bool wait_for_calls(std::size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return calls.size() >= n; });
  }
};

class ScriptedGateway final : public GatewayClient {
 public:
  ScriptedGateway(MappingProtocol protocol, std::shared_ptr<Script> script)
      : protocol_(protocol), script_(std::move(script)) {}
  MappingProtocol protocol() const override { return protocol_; }
  NetworkResult<GrantedMapping> map(const MappingRequest& request, Clock::time_point) override {
    script_->record("map:" + std::to_string(request.external_port));
    std::unique_lock lock(script_->mutex);
    if (script_->hang) script_->changed.wait(lock, [&] { return script_->released; });
    if (!script_->grant) return make_error(ErrorKind::Discovery, "scripted: no gateway");
    return GrantedMapping{protocol_, "198.51.100.7", script_->granted_port, 3600s};
  }
  NetworkResult<void> unmap(const GrantedMapping& mapping, std::uint16_t, Clock::time_point) override {
    script_->record("unmap:" + std::to_string(mapping.external_port));
    return {};
  }

 private:
  MappingProtocol protocol_;
  std::shared_ptr<Script> script_;
};

// The statuses on_change reported, in order.
struct Changes {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<PortMappingStatus> seen;
  PortMapper::OnChange callback() {
    return [this](const PortMappingStatus& status) {
      std::lock_guard lock(mutex);
      seen.push_back(status);
      changed.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return seen.size() >= n; });
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return seen.size();
  }
};

PortMapperConfig config() {
  PortMapperConfig c;
  c.internal_port = 9000;
  c.attempt_timeout = 1s;
  c.stop_timeout = 1s;
  return c;
}

std::vector<std::unique_ptr<GatewayClient>> clients(const std::shared_ptr<Script>& natpmp,
                                                    const std::shared_ptr<Script>& upnp) {
  std::vector<std::unique_ptr<GatewayClient>> out;
  out.push_back(std::make_unique<ScriptedGateway>(MappingProtocol::NatPmp, natpmp));
  out.push_back(std::make_unique<ScriptedGateway>(MappingProtocol::Upnp, upnp));
  return out;
}

TEST(PortMapper, TheFirstProtocolThatGrantsIsAnnouncedAndStopRemovesItsMapping) {
  auto natpmp = std::make_shared<Script>();
  auto upnp = std::make_shared<Script>();
  natpmp->grant = false;
  upnp->granted_port = 41000;  // the listen port was taken on the gateway
  Changes changes;
  PortMapper mapper(config(), changes.callback(), clients(natpmp, upnp));
  mapper.start();
  ASSERT_TRUE(changes.wait_for(1));
  {
    std::lock_guard lock(changes.mutex);
    const auto& gained = changes.seen[0];
    EXPECT_TRUE(gained.enabled);
    EXPECT_TRUE(gained.active);
    EXPECT_EQ(gained.protocol, MappingProtocol::Upnp);
    EXPECT_EQ(gained.external_address, "198.51.100.7:41000");
    EXPECT_GT(gained.lease_expiry, std::chrono::system_clock::now());
  }
  EXPECT_EQ(natpmp->calls, std::vector<std::string>{"map:9000"});
  EXPECT_EQ(mapper.status().external_address, "198.51.100.7:41000");

  mapper.stop();
  EXPECT_EQ(upnp->calls, (std::vector<std::string>{"map:9000", "unmap:41000"}));
  EXPECT_EQ(natpmp->calls, std::vector<std::string>{"map:9000"});  // not asked to remove what it never made
  ASSERT_EQ(changes.count(), 2u);  // gained, then withdrawn
  std::lock_guard lock(changes.mutex);
  EXPECT_FALSE(changes.seen[1].active);
}

TEST(PortMapper, WhenNoProtocolGrantsStatusSaysWhyAndNothingIsAnnounced) {
  auto natpmp = std::make_shared<Script>();
  auto upnp = std::make_shared<Script>();
  natpmp->grant = upnp->grant = false;
  Changes changes;
  PortMapper mapper(config(), changes.callback(), clients(natpmp, upnp));
  mapper.start();
  ASSERT_TRUE(upnp->wait_for_calls(1));
  mapper.stop();  // also waits for the attempt to be recorded
  const auto status = mapper.status();
  EXPECT_TRUE(status.enabled);
  EXPECT_FALSE(status.active);
  EXPECT_EQ(status.failures, 1u);
  EXPECT_EQ(status.last_error, "scripted: no gateway; scripted: no gateway");
  EXPECT_EQ(changes.count(), 0u);
  EXPECT_EQ(upnp->calls, std::vector<std::string>{"map:9000"});  // nothing to remove
}

TEST(PortMapper, AGatewayThatNeverAnswersHoldsUpNeitherStartNorStopAndCallsNothingAfterStop) {
  auto natpmp = std::make_shared<Script>();
  auto upnp = std::make_shared<Script>();
  natpmp->hang = true;
  Changes changes;
  {
    auto short_waits = config();
    short_waits.attempt_timeout = 200ms;
    short_waits.stop_timeout = 200ms;
    PortMapper mapper(short_waits, changes.callback(), clients(natpmp, upnp));
    mapper.start();  // returns while the first attempt hangs
    ASSERT_TRUE(natpmp->wait_for_calls(1));
    EXPECT_FALSE(mapper.status().active);
    mapper.stop();  // gives up waiting after its bound; the thread is left to finish
  }
  // The hung call returns now; the mapper's thread finishes, grants, and removes,
  // but never calls back any more.
  {
    std::lock_guard lock(natpmp->mutex);
    natpmp->released = true;
    natpmp->changed.notify_all();
  }
  ASSERT_TRUE(natpmp->wait_for_calls(2));
  // The thread lets go of the gateways as it ends. Waited for here: a thread still
  // running when the test's process exits would die among the process's destructors.
  EXPECT_TRUE(testing::eventually([&] { return natpmp.use_count() == 1; }, std::chrono::seconds(10)))
      << "the mapper's thread never ended";
  {
    std::lock_guard lock(natpmp->mutex);
    EXPECT_EQ(natpmp->calls, (std::vector<std::string>{"map:9000", "unmap:9000"}));
  }
  EXPECT_EQ(changes.count(), 0u);
}

}  // namespace
}  // namespace datafold::net::reachability
