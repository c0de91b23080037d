#include "grpc/echo_server.hpp"

#include <chrono>
#include <stdexcept>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

namespace datafold::bench::grpc_peer {

grpc::ServerUnaryReactor* EchoService::Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                            EchoReply* reply) {
  reply->mutable_payload()->assign(request->response_bytes(), 'x');
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

EchoServer::EchoServer(const MtlsIdentity& identity) {
  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = identity.certificate_pem;
  tls.pem_key_cert_pairs.push_back({identity.private_key_pem, identity.certificate_pem});

  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &port_);
  builder.RegisterService(&service_);
  // As the node: replies as large as `datafold bench --payload-bytes` allows.
  builder.SetMaxReceiveMessageSize(-1);
  builder.SetMaxSendMessageSize(-1);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) throw std::runtime_error("gRPC peer: the echo server did not start on 127.0.0.1");
}

EchoServer::~EchoServer() {
  // Calls still in flight are cancelled rather than waited for without end.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
}

}  // namespace datafold::bench::grpc_peer
