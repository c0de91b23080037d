#pragma once

#include <chrono>
#include <cstddef>

#include "load/load_report.hpp"

namespace datafold::bench {

// How a floor run uses the machine and how long it may wait for anything.
struct FloorOptions {
  // Threads running the server's and the clients' io_context (each its own context).
  std::size_t server_threads = 1;
  std::size_t client_threads = 1;
  // All connections must be connected (and, for TLS, handshaken) within this.
  std::chrono::milliseconds setup_timeout{5000};
  // After `duration`, replies still in flight get this long before they count as errors.
  std::chrono::milliseconds drain_timeout{1000};
  // A connection with requests in flight that receives no byte for this long is failed.
  std::chrono::milliseconds stall_timeout{1000};
};

// The "floor" a node is measured against: the cheapest correct implementation of the same
// load. An in-process server on 127.0.0.1 (port 0) echoes one response frame per request
// frame; spec.connections client connections each keep spec.in_flight requests pipelined
// for spec.duration. Frames are a 4-byte big-endian length plus payload; each side has one
// reader (64 KiB reads, every whole frame decoded) and one writer that coalesces everything
// queued into one write; TCP_NODELAY is on. Each request's latency runs from when it was
// queued to when its response was decoded.
//
// Blocking: call from a thread that is not running an io_context. Starts and joins its own
// threads, and returns after at most setup_timeout + duration + drain_timeout + ~2 s.
// Never throws: a run that could not be made comes back with errors > 0 and `error` set.
// The report's name is "tcp_floor" / "tls_floor"; cpu_seconds covers server and clients,
// since both live in this process.
LoadReport run_tcp_floor(const LoadSpec& spec, const FloorOptions& options = {});

// As run_tcp_floor over TLS 1.3 only: the server presents a throwaway self-signed Ed25519
// certificate made for this run, which the client trusts (verified, no client certificate,
// no ALPN). Handshakes happen before the measured window.
LoadReport run_tls_floor(const LoadSpec& spec, const FloorOptions& options = {});

}  // namespace datafold::bench
