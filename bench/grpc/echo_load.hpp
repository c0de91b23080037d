// The client side of the gRPC peer: spec.connections channels (each its own TCP
// connection), each keeping spec.in_flight unary calls outstanding, the way LoadClient
// loads a node: a call's latency counts when its reply arrives inside the measured
// window, and a slot issues its next call until the deadline.
#pragma once

#include <chrono>

#include "grpc/mtls_identity.hpp"
#include "load/load_report.hpp"

namespace datafold::bench::grpc_peer {

// Connects (handshakes included) before the load starts, runs `warmup` unmeasured and
// then spec.duration measured. `timeout` bounds the setup and each call. Returns within
// about timeout + warmup + duration + timeout + 1 s. Never throws: a run that could not
// be made has errors > 0 and `error` set.
LoadReport run_echo_load(const LoadSpec& spec, std::chrono::milliseconds warmup, std::chrono::milliseconds timeout,
                         int port, const MtlsIdentity& identity);

}  // namespace datafold::bench::grpc_peer
