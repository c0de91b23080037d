#include "reachability/natpmp_client.hpp"

#include <arpa/inet.h>
#include <sys/select.h>

#include <algorithm>
#include <memory>

#include <natpmp.h>

namespace datafold::net::reachability {

namespace {

// How long one select() waits at most, so a deadline is kept even when libnatpmp's
// own retry timer is further off.
constexpr auto kMaxSelectWait = std::chrono::milliseconds(100);

std::string natpmp_error_text(int code) {
  switch (code) {
    case NATPMP_ERR_CANNOTGETGATEWAY: return "no default gateway";
    case NATPMP_ERR_NOGATEWAYSUPPORT: return "the gateway does not speak NAT-PMP";
    case NATPMP_ERR_NOTAUTHORIZED: return "the gateway refused (not authorized)";
    case NATPMP_ERR_NETWORKFAILURE: return "the gateway has no public address (network failure)";
    case NATPMP_ERR_OUTOFRESOURCES: return "the gateway is out of mappings";
    case NATPMP_ERR_UNSUPPORTEDOPCODE: return "the gateway does not support the request";
    case NATPMP_ERR_WRONGPACKETSOURCE: return "answer from another host than the gateway";
    default: return "libnatpmp error " + std::to_string(code);
  }
}

NetworkError failure(int code) {
  const bool refused = code == NATPMP_ERR_NOTAUTHORIZED || code == NATPMP_ERR_NETWORKFAILURE ||
                       code == NATPMP_ERR_OUTOFRESOURCES || code == NATPMP_ERR_UNSUPPORTEDOPCODE ||
                       code == NATPMP_ERR_UNDEFINEDERROR;
  const auto kind = code == NATPMP_ERR_NOGATEWAYSUPPORT || code == NATPMP_ERR_CANNOTGETGATEWAY
                        ? ErrorKind::Discovery
                        : refused ? ErrorKind::Protocol : ErrorKind::Connection;
  return make_error(kind, "NAT-PMP: " + natpmp_error_text(code));
}

struct Session {
  natpmp_t handle{};
  bool open = false;
  ~Session() {
    if (open) closenatpmp(&handle);
  }
};

// Waits for the answer to the request just sent: libnatpmp resends on its own
// schedule (250 ms, doubling); this gives up at `deadline`.
NetworkResult<natpmpresp_t> await_response(natpmp_t& handle, Clock::time_point deadline) {
  for (;;) {
    natpmpresp_t response{};
    const int read = readnatpmpresponseorretry(&handle, &response);
    if (read == 0) return response;
    if (read != NATPMP_TRYAGAIN) return failure(read);
    const auto now = Clock::now();
    if (now >= deadline) return make_error(ErrorKind::Connection, "NAT-PMP: the gateway did not answer in time");
    timeval retry{};
    auto wait = std::chrono::duration_cast<std::chrono::microseconds>(std::min<Clock::duration>(deadline - now, kMaxSelectWait));
    if (getnatpmprequesttimeout(&handle, &retry) == 0) {
      const auto until_retry = std::chrono::seconds(retry.tv_sec) + std::chrono::microseconds(retry.tv_usec);
      wait = std::max(std::chrono::microseconds(0), std::min(wait, std::chrono::duration_cast<std::chrono::microseconds>(until_retry)));
    }
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(handle.s, &readable);
    timeval tv{static_cast<time_t>(wait.count() / 1'000'000), static_cast<suseconds_t>(wait.count() % 1'000'000)};
    (void)::select(handle.s + 1, &readable, nullptr, nullptr, &tv);
  }
}

NetworkResult<void> open_session(Session& session) {
  const int opened = initnatpmp(&session.handle, 0, 0);
  if (opened != 0) return failure(opened);
  session.open = true;
  return {};
}

}  // namespace

NetworkResult<GrantedMapping> NatPmpClient::map(const MappingRequest& request, Clock::time_point deadline) {
  Session session;
  if (auto opened = open_session(session); !opened) return std::move(opened).error();
  if (sendpublicaddressrequest(&session.handle) < 0) return failure(NATPMP_ERR_SENDERR);
  auto address = await_response(session.handle, deadline);
  if (!address) return std::move(address).error();
  char ip[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &address->pnu.publicaddress.addr, ip, sizeof ip);

  const auto lifetime = static_cast<std::uint32_t>(std::max<std::int64_t>(request.lease.count(), 1));
  if (sendnewportmappingrequest(&session.handle, NATPMP_PROTOCOL_TCP, request.internal_port, request.external_port,
                                lifetime) < 0)
    return failure(NATPMP_ERR_SENDERR);
  auto mapped = await_response(session.handle, deadline);
  if (!mapped) return std::move(mapped).error();
  if (mapped->type != NATPMP_RESPTYPE_TCPPORTMAPPING || mapped->pnu.newportmapping.mappedpublicport == 0 ||
      mapped->pnu.newportmapping.lifetime == 0)
    return make_error(ErrorKind::Protocol, "NAT-PMP: the gateway granted no TCP mapping");
  return GrantedMapping{MappingProtocol::NatPmp, ip, mapped->pnu.newportmapping.mappedpublicport,
                        std::chrono::seconds(mapped->pnu.newportmapping.lifetime)};
}

NetworkResult<void> NatPmpClient::unmap(const GrantedMapping& mapping, std::uint16_t internal_port,
                                        Clock::time_point deadline) {
  Session session;
  if (auto opened = open_session(session); !opened) return opened;
  // Lifetime 0 deletes the mapping of this private port.
  if (sendnewportmappingrequest(&session.handle, NATPMP_PROTOCOL_TCP, internal_port, mapping.external_port, 0) < 0)
    return failure(NATPMP_ERR_SENDERR);
  auto answered = await_response(session.handle, deadline);
  if (!answered) return std::move(answered).error();
  return {};
}

}  // namespace datafold::net::reachability
