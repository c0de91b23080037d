// A throwaway identity for the gRPC peer's mutual TLS: one P-256 key and a
// self-signed certificate for "localhost", which the server and every client present
// and which each side trusts as its only root. Made fresh for each run.
#pragma once

#include <string>

namespace datafold::bench::grpc_peer {

struct MtlsIdentity {
  std::string certificate_pem;
  std::string private_key_pem;
};

// Throws std::runtime_error naming the OpenSSL call that failed.
MtlsIdentity make_mtls_identity();

}  // namespace datafold::bench::grpc_peer
