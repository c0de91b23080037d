#include "grpc/echo_load.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "grpc/echo.grpc.pb.h"
#include "load/latency_recorder.hpp"
#include "load/measured_window.hpp"

namespace datafold::bench::grpc_peer {
namespace {

using Clock = std::chrono::steady_clock;


struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<Echo::Stub> stub;
  // A channel's callbacks may run on several of gRPC's threads at once.
  std::mutex mutex;
  LatencyRecorder latencies;
};

struct Run {
  // Each call's own deadline, so a lost reply ends as an error instead of a hang.
  std::chrono::milliseconds call_timeout{};
  Clock::time_point measure_from;
  Clock::time_point deadline;
  std::size_t response_bytes = 0;
  // Every call answered as expected, whenever: read as the measured window opens and closes.
  std::atomic<std::uint64_t> answered{0};
  std::atomic<std::uint64_t> errors{0};
  std::mutex mutex;  // guards first_error and outstanding
  std::condition_variable idle;
  std::size_t outstanding = 0;
  std::string first_error;

  void fail(std::string why) {
    errors.fetch_add(1);
    std::lock_guard lock(mutex);
    if (first_error.empty()) first_error = std::move(why);
  }
};

// One of a connection's in-flight slots: one call at a time, the next issued from the
// last one's completion. gRPC wants a fresh ClientContext per call.
struct Slot {
  Run* run = nullptr;
  Connection* connection = nullptr;
  std::unique_ptr<grpc::ClientContext> context;
  EchoRequest request;
  EchoReply reply;
  Clock::time_point sent;
};

void issue(Slot* slot);

void on_reply(Slot* slot, const grpc::Status& status) {
  const auto now = Clock::now();
  Run& run = *slot->run;
  bool go_on = now < run.deadline;
  if (!status.ok()) {
    run.fail("gRPC call failed: " + status.error_message());
    go_on = false;
  } else if (slot->reply.payload().size() != run.response_bytes) {
    run.fail("gRPC reply of the wrong size");
    go_on = false;
  } else {
    run.answered.fetch_add(1, std::memory_order_relaxed);
    if (now >= run.measure_from && now <= run.deadline) {
      std::lock_guard lock(slot->connection->mutex);
      slot->connection->latencies.record(now - slot->sent);
    }
  }
  if (go_on) return issue(slot);
  std::lock_guard lock(run.mutex);
  if (--run.outstanding == 0) run.idle.notify_all();
}

void issue(Slot* slot) {
  slot->context = std::make_unique<grpc::ClientContext>();
  slot->context->set_deadline(std::chrono::system_clock::now() + slot->run->call_timeout);
  slot->reply.Clear();
  slot->sent = Clock::now();
  slot->connection->stub->async()->Echo(slot->context.get(), &slot->request, &slot->reply,
                                        [slot](grpc::Status status) { on_reply(slot, status); });
}

std::shared_ptr<grpc::Channel> open_channel(int port, const MtlsIdentity& identity) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = identity.certificate_pem;
  tls.pem_private_key = identity.private_key_pem;
  tls.pem_cert_chain = identity.certificate_pem;
  grpc::ChannelArguments args;
  // Without this, channels to one target share one connection, and C connections
  // would be one.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetSslTargetNameOverride("localhost");
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::SslCredentials(tls), args);
}


}  // namespace

LoadReport run_echo_load(const LoadSpec& spec, std::chrono::milliseconds warmup, std::chrono::milliseconds timeout,
                         int port, const MtlsIdentity& identity) {
  std::vector<std::unique_ptr<Connection>> connections;
  const auto setup_deadline = std::chrono::system_clock::now() + timeout;
  for (std::size_t i = 0; i < spec.connections; ++i) {
    auto connection = std::make_unique<Connection>();
    connection->channel = open_channel(port, identity);
    if (!connection->channel->WaitForConnected(setup_deadline))
      return failed_report("grpc", spec, "gRPC channel " + std::to_string(i) + " did not connect within " +
                              std::to_string(timeout.count()) + " ms");
    connection->stub = Echo::NewStub(connection->channel);
    connections.push_back(std::move(connection));
  }

  auto run_owner = std::make_unique<Run>();
  Run& run = *run_owner;
  run.response_bytes = spec.response_bytes;
  run.call_timeout = timeout;
  run.measure_from = Clock::now() + warmup;
  run.deadline = run.measure_from + spec.duration;
  std::vector<std::unique_ptr<Slot>> slots;
  for (auto& connection : connections) {
    for (std::size_t i = 0; i < spec.in_flight; ++i) {
      auto slot = std::make_unique<Slot>();
      slot->run = &run;
      slot->connection = connection.get();
      slot->request.set_payload(std::string(spec.request_bytes, 'q'));
      slot->request.set_response_bytes(static_cast<std::uint32_t>(spec.response_bytes));
      slots.push_back(std::move(slot));
    }
  }
  run.outstanding = slots.size();
  for (auto& slot : slots) issue(slot.get());

  const auto answered = [&run] { return run.answered.load(std::memory_order_relaxed); };
  std::this_thread::sleep_until(run.measure_from);
  const auto opened = open_measured_window(answered);
  std::this_thread::sleep_until(run.deadline);
  const auto closed = close_measured_window(answered);

  bool drained = false;
  {
    std::unique_lock lock(run.mutex);
    drained = run.idle.wait_until(lock, run.deadline + timeout + std::chrono::seconds(1),
                                  [&] { return run.outstanding == 0; });
  }
  if (!drained) run.fail("gRPC calls still outstanding after the deadline");

  LatencyRecorder latencies;
  for (auto& connection : connections) {
    std::lock_guard lock(connection->mutex);
    latencies.merge(connection->latencies);
  }
  auto report = make_report("grpc", spec, latencies, run.errors.load(), opened, closed);
  {
    std::lock_guard lock(run.mutex);
    report.error = run.first_error;
  }
  if (!drained) {
    // Calls time out by themselves within `timeout`; this only guards against gRPC
    // never calling back, and then what its callbacks touch must never be freed.
    for (auto& slot : slots) (void)slot.release();
    for (auto& connection : connections) (void)connection.release();
    (void)run_owner.release();
  }
  return report;
}

}  // namespace datafold::bench::grpc_peer
