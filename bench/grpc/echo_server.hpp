// The gRPC side of `datafold bench --peer grpc`: a unary echo service over mutual TLS,
// written the way gRPC's own guides recommend for C++ (the callback API), so what is
// measured is gRPC as people run it rather than a tuned special case.
#pragma once

#include <memory>

#include <grpcpp/server.h>

#include "grpc/echo.grpc.pb.h"
#include "grpc/mtls_identity.hpp"

namespace datafold::bench::grpc_peer {

class EchoService final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoReply* reply) override;
};

class EchoServer {
 public:
  // Listens on 127.0.0.1 at a port the system picks; every client must present a
  // certificate that `identity` signed. Throws std::runtime_error when it cannot start.
  explicit EchoServer(const MtlsIdentity& identity);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  int port() const { return port_; }

 private:
  EchoService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace datafold::bench::grpc_peer
