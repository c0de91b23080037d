#include "datafold/net/message_codec.hpp"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "datafold.pb.h"
#include "core/hot_codec.hpp"
#include "core/spare_buffers.hpp"
#include "core/value_codec.hpp"

namespace datafold::net {
namespace {

namespace wire = ::datafold::wire;
namespace pb = ::google::protobuf;

// Most envelopes fit in this; their protobuf objects then live on the stack
// and an encode or decode costs no allocation beyond the strings it copies.
constexpr std::size_t kArenaStackBlock = 2048;

// An arena whose first block is the caller's stack buffer.
pb::ArenaOptions stack_arena_options(char* block, std::size_t size) {
  pb::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = size;
  return options;
}

// ---------------------------------------------------------------- encode

void set_id(std::string* out, const Uuid& id) {
  out->assign(reinterpret_cast<const char*>(id.bytes().data()), Uuid::kSize);
}

template <std::size_t N>
void set_raw(std::string* out, const std::array<std::uint8_t, N>& bytes) {
  out->assign(reinterpret_cast<const char*>(bytes.data()), N);
}

void put_capabilities(const NodeCapabilities& in, wire::Capabilities& out) {
  out.set_supports_query(in.supports_query);
  out.set_supports_schema_listing(in.supports_schema_listing);
  out.set_dial_back(in.dial_back);
  out.set_relay(in.relay);
  out.set_hole_punch(in.hole_punch);
  out.set_streamed_answers(in.streamed_answers);
}

void put_relay_request(const RelayRequestMessage& in, wire::Envelope& env) {
  set_id(env.mutable_message_id(), in.request_id);
  auto* r = env.mutable_relay_request();
  switch (in.kind) {
    case RelayRequestMessage::Kind::Reserve:
      r->mutable_reserve();
      break;
    case RelayRequestMessage::Kind::Connect:
      set_raw(r->mutable_connect()->mutable_target_node_id(), in.node.bytes());
      break;
    case RelayRequestMessage::Kind::Invite:
      set_raw(r->mutable_invite()->mutable_caller_node_id(), in.node.bytes());
      set_raw(r->mutable_invite()->mutable_token(), in.token);
      break;
  }
}

void put_relay_response(const RelayResponseMessage& in, wire::Envelope& env) {
  set_id(env.mutable_message_id(), in.message_id);
  set_id(env.mutable_related_message_id(), in.request_id);
  auto* r = env.mutable_relay_response();
  r->set_status(static_cast<wire::RelayResponse::Status>(static_cast<int>(in.status)));
  r->set_message(in.message);
  if (in.status == RelayResponseMessage::Status::Ok && in.token != RelayToken{}) set_raw(r->mutable_token(), in.token);
  r->set_max_circuit_seconds(in.max_circuit_seconds);
  r->set_max_circuit_bytes(in.max_circuit_bytes);
}

void put_query(const QueryMessage& in, wire::Envelope& env) {
  set_id(env.mutable_message_id(), in.query_id);
  auto* request = env.mutable_query();
  auto* q = request->mutable_query();
  q->set_schema_name(in.query.schema_name);
  q->mutable_fields()->Reserve(static_cast<int>(in.query.fields.size()));
  for (const auto& f : in.query.fields) q->add_fields(f);
  q->set_pub_key(in.query.pub_key);
  q->set_trust_distance(in.query.trust_distance);
  // A filter too deep for a peer to accept is cut at the limit (deeper parts
  // become null); callers that care check detail::value_depth_ok first.
  if (in.query.filter) (void)detail::encode_value(*in.query.filter, *q->mutable_filter());
  q->set_limit(in.query.limit);
  q->set_cursor(in.query.cursor);
  request->set_stream_window(in.stream_window);
  auto* proof = request->mutable_trust_proof();
  set_raw(proof->mutable_public_key(), in.trust_proof.public_key.bytes());
  proof->set_signature(reinterpret_cast<const char*>(in.trust_proof.signature.data()),
                       in.trust_proof.signature.size());
  proof->set_trust_distance(in.trust_proof.trust_distance);
  proof->set_timestamp_ms(in.trust_proof.timestamp_ms);
}

void put_schema_error(const SchemaError& in, wire::SchemaError& out) {
  out.set_kind(static_cast<wire::SchemaError::Kind>(static_cast<int>(in.kind)));
  out.set_message(in.message);
}

void put_query_response(const QueryResponseMessage& in, wire::Envelope& env) {
  set_id(env.mutable_message_id(), in.message_id);
  set_id(env.mutable_related_message_id(), in.query_id);
  auto* response = env.mutable_query_response();
  response->set_part(in.part);
  response->set_more(in.more);
  response->set_cursor(in.result.cursor);
  auto* results = response->mutable_results();
  results->Reserve(static_cast<int>(in.result.results.size()));
  for (const auto& r : in.result.results) {
    auto* out = results->Add();
    out->set_field(r.field);
    if (const auto* value = std::get_if<Json>(&r.outcome)) {
      // A value the peer would refuse would make it refuse the whole
      // response; send that one field as an error instead.
      if (detail::encode_value(*value, *out->mutable_value()) != detail::ValueStatus::Ok) {
        SchemaError too_deep{SchemaError::Kind::InvalidData,
                             std::string(detail::to_string(detail::ValueStatus::TooDeep))};
        put_schema_error(too_deep, *out->mutable_error());
      }
    } else {
      put_schema_error(std::get<SchemaError>(r.outcome), *out->mutable_error());
    }
  }
}

void put_envelope(const Message& message, wire::Envelope& env) {
  std::visit(
      [&env](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, HelloMessage>) {
          set_id(env.mutable_message_id(), m.message_id);
          auto* h = env.mutable_hello();
          h->set_min_version(m.min_version);
          h->set_max_version(m.max_version);
          set_raw(h->mutable_node_id(), m.node_id.bytes());
          h->set_listen_port(m.listen_port);
          put_capabilities(m.capabilities, *h->mutable_capabilities());
          h->set_agent(m.agent);
          h->set_network_name(m.network_name);
          h->set_observed_address(m.observed_address);
          h->set_dial_back_probe(m.dial_back_probe);
          h->set_mapped_address(m.mapped_address);
        } else if constexpr (std::is_same_v<T, QueryMessage>) {
          put_query(m, env);
        } else if constexpr (std::is_same_v<T, QueryResponseMessage>) {
          put_query_response(m, env);
        } else if constexpr (std::is_same_v<T, ListSchemasRequestMessage>) {
          set_id(env.mutable_message_id(), m.request_id);
          env.mutable_list_schemas_request();
        } else if constexpr (std::is_same_v<T, SchemaListResponseMessage>) {
          set_id(env.mutable_message_id(), m.message_id);
          set_id(env.mutable_related_message_id(), m.request_id);
          auto* schemas = env.mutable_schema_list_response()->mutable_schemas();
          schemas->Reserve(static_cast<int>(m.schemas.size()));
          for (const auto& s : m.schemas) {
            auto* out = schemas->Add();
            out->set_name(s.name);
            out->set_version(s.version);
            if (s.description) out->set_description(*s.description);
            out->mutable_fields()->Reserve(static_cast<int>(s.fields.size()));
            for (const auto& f : s.fields) {
              auto* field = out->add_fields();
              field->set_name(f.name);
              field->set_type(f.type);
              field->set_readable(f.readable);
            }
          }
        } else if constexpr (std::is_same_v<T, NodeAnnouncementMessage>) {
          set_id(env.mutable_message_id(), m.message_id);
          // The bytes are already a SignedAnnouncement; parsing them into the
          // envelope re-emits the same fields (the signature covers the inner
          // announcement bytes, which are copied verbatim). Bytes that do not
          // parse go as an empty announcement, which every receiver rejects.
          auto* signed_announcement = env.mutable_node_announcement();
          if (!signed_announcement->ParseFromString(m.signed_announcement)) signed_announcement->Clear();
        } else if constexpr (std::is_same_v<T, ErrorMessage>) {
          set_id(env.mutable_message_id(), m.message_id);
          if (m.related_message_id) set_id(env.mutable_related_message_id(), *m.related_message_id);
          auto* e = env.mutable_error();
          e->set_code(static_cast<wire::ErrorCode>(static_cast<int>(m.code)));
          e->set_message(m.message);
          if (m.details) e->set_details(*m.details);
        } else if constexpr (std::is_same_v<T, PingMessage>) {
          set_id(env.mutable_message_id(), m.message_id);
          env.mutable_ping()->set_sent_at_us(m.sent_at_us);
        } else if constexpr (std::is_same_v<T, PongMessage>) {
          set_id(env.mutable_message_id(), m.message_id);
          set_id(env.mutable_related_message_id(), m.ping_id);
          env.mutable_pong()->set_sent_at_us(m.sent_at_us);
        } else if constexpr (std::is_same_v<T, DialBackRequestMessage>) {
          set_id(env.mutable_message_id(), m.request_id);
          env.mutable_dial_back_request()->set_port(m.port);
        } else if constexpr (std::is_same_v<T, DialBackResponseMessage>) {
          set_id(env.mutable_message_id(), m.message_id);
          set_id(env.mutable_related_message_id(), m.request_id);
          auto* r = env.mutable_dial_back_response();
          r->set_reachable(m.reachable);
          r->set_address(m.address);
          r->set_detail(m.detail);
        } else if constexpr (std::is_same_v<T, RelayRequestMessage>) {
          put_relay_request(m, env);
        } else if constexpr (std::is_same_v<T, RelayResponseMessage>) {
          put_relay_response(m, env);
        } else if constexpr (std::is_same_v<T, HolePunchMessage>) {
          set_id(env.mutable_message_id(), m.request_id);
          auto* h = env.mutable_hole_punch();
          h->set_phase(static_cast<wire::HolePunch::Phase>(static_cast<int>(m.phase)));
          for (const auto& a : m.addresses) h->add_addresses(a);
          h->set_reachable(m.reachable);
        } else if constexpr (std::is_same_v<T, HolePunchResponseMessage>) {
          set_id(env.mutable_message_id(), m.message_id);
          set_id(env.mutable_related_message_id(), m.request_id);
          auto* h = env.mutable_hole_punch_response();
          for (const auto& a : m.addresses) h->add_addresses(a);
          h->set_reachable(m.reachable);
        } else if constexpr (std::is_same_v<T, QueryCreditMessage>) {
          set_id(env.mutable_message_id(), m.message_id);
          set_id(env.mutable_related_message_id(), m.query_id);
          auto* c = env.mutable_query_credit();
          c->set_parts(m.parts);
          c->set_cancel(m.cancel);
        } else {
          static_assert(std::is_same_v<T, UnknownMessage>);
          // No body: what an envelope from a newer peer decodes to.
          set_id(env.mutable_message_id(), m.message_id);
        }
      },
      message);
}

// ---------------------------------------------------------------- decode

NetworkError invalid(std::string message) {
  return make_error(ErrorKind::Message, std::move(message), ErrorCode::InvalidMessage);
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Reads an optional id: empty means absent; anything else must be 16 bytes.
bool read_optional_id(const std::string& raw, std::optional<Uuid>& out) {
  if (raw.empty()) {
    out.reset();
    return true;
  }
  out = Uuid::from_bytes(as_bytes(raw));
  return out.has_value();
}

// Decoders return an empty string on success, else why the envelope is invalid.
using Problem = std::string;

Problem read_dial_back_request(const wire::Envelope& env, DialBackRequestMessage& out) {
  const auto port = env.dial_back_request().port();
  if (port == 0 || port > 0xFFFF) return "DialBackRequest.port is not a port";
  out.port = static_cast<std::uint16_t>(port);
  return {};
}

bool read_token(const std::string& raw, RelayToken& out) {
  if (raw.size() != out.size()) return false;
  std::memcpy(out.data(), raw.data(), out.size());
  return true;
}

Problem read_relay_request(const wire::Envelope& env, RelayRequestMessage& out) {
  const auto& r = env.relay_request();
  switch (r.kind_case()) {
    case wire::RelayRequest::kReserve:
      out.kind = RelayRequestMessage::Kind::Reserve;
      return {};
    case wire::RelayRequest::kConnect: {
      out.kind = RelayRequestMessage::Kind::Connect;
      auto target = NodeId::from_bytes(as_bytes(r.connect().target_node_id()));
      if (!target) return "RelayConnect.target_node_id must be 32 bytes";
      out.node = *target;
      return {};
    }
    case wire::RelayRequest::kInvite: {
      out.kind = RelayRequestMessage::Kind::Invite;
      auto caller = NodeId::from_bytes(as_bytes(r.invite().caller_node_id()));
      if (!caller) return "RelayInvite.caller_node_id must be 32 bytes";
      out.node = *caller;
      if (!read_token(r.invite().token(), out.token)) return "RelayInvite.token must be 32 bytes";
      return {};
    }
    case wire::RelayRequest::KIND_NOT_SET:
      break;
  }
  return "RelayRequest has no kind this build knows";
}

// Hole-punch address lists are short; more is a peer trying to make this node dial a lot.
constexpr int kMaxHolePunchAddresses = 8;
constexpr std::size_t kMaxHolePunchAddressLength = 64;

Problem read_addresses(const google::protobuf::RepeatedPtrField<std::string>& in, std::vector<std::string>& out) {
  if (in.size() > kMaxHolePunchAddresses) return "more than 8 hole-punch addresses";
  for (const auto& a : in) {
    if (a.size() > kMaxHolePunchAddressLength) return "a hole-punch address longer than 64 bytes";
    out.push_back(a);
  }
  return {};
}

Problem read_hole_punch(const wire::Envelope& env, HolePunchMessage& out) {
  const auto& h = env.hole_punch();
  if (h.phase() != wire::HolePunch::CONNECT && h.phase() != wire::HolePunch::SYNC)
    return "HolePunch.phase is not CONNECT or SYNC";
  out.phase = static_cast<HolePunchMessage::Phase>(static_cast<int>(h.phase()));
  out.reachable = h.reachable();
  return read_addresses(h.addresses(), out.addresses);
}

Problem read_relay_response(const wire::Envelope& env, RelayResponseMessage& out) {
  const auto& r = env.relay_response();
  switch (r.status()) {
    case wire::RelayResponse::OK:
    case wire::RelayResponse::NO_RESERVATION:
    case wire::RelayResponse::REFUSED:
    case wire::RelayResponse::TARGET_FAILED:
      out.status = static_cast<RelayResponseMessage::Status>(static_cast<int>(r.status()));
      break;
    default:
      return "RelayResponse.status is not a known status";
  }
  out.message = r.message();
  if (!r.token().empty() && !read_token(r.token(), out.token)) return "RelayResponse.token must be 32 bytes";
  out.max_circuit_seconds = r.max_circuit_seconds();
  out.max_circuit_bytes = r.max_circuit_bytes();
  return {};
}

Problem read_hello(const wire::Envelope& env, HelloMessage& out) {
  const auto& h = env.hello();
  out.min_version = h.min_version();
  out.max_version = h.max_version();
  auto node_id = NodeId::from_bytes(as_bytes(h.node_id()));
  if (!node_id) return "Hello.node_id must be 32 bytes";
  out.node_id = *node_id;
  if (h.listen_port() > 0xFFFF) return "Hello.listen_port is not a port";
  out.listen_port = static_cast<std::uint16_t>(h.listen_port());
  out.capabilities.supports_query = h.capabilities().supports_query();
  out.capabilities.supports_schema_listing = h.capabilities().supports_schema_listing();
  out.capabilities.dial_back = h.capabilities().dial_back();
  out.capabilities.relay = h.capabilities().relay();
  out.capabilities.hole_punch = h.capabilities().hole_punch();
  out.capabilities.streamed_answers = h.capabilities().streamed_answers();
  out.agent = h.agent();
  out.network_name = h.network_name();
  out.observed_address = h.observed_address();
  out.dial_back_probe = h.dial_back_probe();
  out.mapped_address = h.mapped_address();
  return {};
}

Problem read_query(const wire::Envelope& env, QueryMessage& out) {
  const auto& request = env.query();
  if (!request.has_query()) return "QueryRequest.query is missing";
  if (!request.has_trust_proof()) return "QueryRequest.trust_proof is missing";
  const auto& q = request.query();
  out.query.schema_name = q.schema_name();
  out.query.fields.assign(q.fields().begin(), q.fields().end());
  out.query.pub_key = q.pub_key();
  out.query.trust_distance = q.trust_distance();
  if (q.has_filter()) {
    if (auto s = detail::decode_value(q.filter(), out.query.filter.emplace()); s != detail::ValueStatus::Ok)
      return "Query.filter: " + std::string(detail::to_string(s));
  }
  out.query.limit = q.limit();
  out.query.cursor = q.cursor();
  out.stream_window = request.stream_window();
  const auto& proof = request.trust_proof();
  auto key = PublicKey::from_bytes(as_bytes(proof.public_key()));
  if (!key) return "TrustProof.public_key must be 32 bytes";
  out.trust_proof.public_key = *key;
  // Ed25519 signatures are 64 bytes; anything else could never verify.
  if (!proof.signature().empty() && proof.signature().size() != 64)
    return "TrustProof.signature must be empty or 64 bytes";
  const auto sig = as_bytes(proof.signature());
  out.trust_proof.signature.assign(sig.begin(), sig.end());
  out.trust_proof.trust_distance = proof.trust_distance();
  out.trust_proof.timestamp_ms = proof.timestamp_ms();
  return {};
}

Problem read_query_response(const wire::Envelope& env, QueryResponseMessage& out) {
  out.part = env.query_response().part();
  out.more = env.query_response().more();
  out.result.cursor = env.query_response().cursor();
  const auto& results = env.query_response().results();
  out.result.results.reserve(static_cast<std::size_t>(results.size()));
  for (const auto& r : results) {
    auto& entry = out.result.results.emplace_back();
    entry.field = r.field();
    switch (r.outcome_case()) {
      case wire::FieldResult::kValue: {
        if (auto s = detail::decode_value(r.value(), entry.outcome.emplace<Json>()); s != detail::ValueStatus::Ok)
          return "FieldResult.value: " + std::string(detail::to_string(s));
        break;
      }
      case wire::FieldResult::kError: {
        const int kind = r.error().kind();
        if (kind < 0 || kind > static_cast<int>(SchemaError::Kind::MappingError))
          return "SchemaError.kind is unknown";
        entry.outcome.emplace<SchemaError>(SchemaError{static_cast<SchemaError::Kind>(kind), r.error().message()});
        break;
      }
      case wire::FieldResult::OUTCOME_NOT_SET:
        return "FieldResult has neither value nor error";
    }
  }
  return {};
}

Problem read_schema_list(const wire::Envelope& env, SchemaListResponseMessage& out) {
  const auto& schemas = env.schema_list_response().schemas();
  out.schemas.reserve(static_cast<std::size_t>(schemas.size()));
  for (const auto& s : schemas) {
    auto& info = out.schemas.emplace_back();
    info.name = s.name();
    info.version = s.version();
    if (s.has_description()) info.description = s.description();
    info.fields.reserve(static_cast<std::size_t>(s.fields_size()));
    for (const auto& f : s.fields()) info.fields.push_back(SchemaFieldInfo{f.name(), f.type(), f.readable()});
  }
  return {};
}

Problem read_error(const wire::Envelope& env, ErrorMessage& out) {
  const auto& e = env.error();
  // Codes this build does not know (a newer peer's) pass through as numbers.
  const int code = e.code();
  if (code < 0) return "Error.code is negative";
  out.code = static_cast<ErrorCode>(code);
  out.message = e.message();
  if (!e.details().empty()) out.details = e.details();
  return {};
}

NetworkResult<Message> decode(const wire::Envelope& env) {
  if (env.message_id().empty()) return invalid("envelope has no message_id");
  const auto id = Uuid::from_bytes(as_bytes(env.message_id()));
  if (!id) return invalid("message_id must be 16 bytes");
  std::optional<Uuid> related;
  if (!read_optional_id(env.related_message_id(), related))
    return invalid("related_message_id must be empty or 16 bytes");

  // Replies are matched to their request by related_message_id; one without
  // it could only be dropped later, so it is refused here.
  const auto need_related = [&](std::string_view what) -> Problem {
    if (related) return {};
    return std::string(what) + " has no related_message_id";
  };

  Problem problem;
  Message message;
  switch (env.body_case()) {
    case wire::Envelope::kHello: {
      auto& m = message.emplace<HelloMessage>();
      m.message_id = *id;
      problem = read_hello(env, m);
      break;
    }
    case wire::Envelope::kQuery: {
      auto& m = message.emplace<QueryMessage>();
      m.query_id = *id;
      problem = read_query(env, m);
      break;
    }
    case wire::Envelope::kQueryResponse: {
      auto& m = message.emplace<QueryResponseMessage>();
      m.message_id = *id;
      problem = need_related("QueryResponse");
      if (problem.empty()) {
        m.query_id = *related;
        problem = read_query_response(env, m);
      }
      break;
    }
    case wire::Envelope::kListSchemasRequest:
      message.emplace<ListSchemasRequestMessage>().request_id = *id;
      break;
    case wire::Envelope::kSchemaListResponse: {
      auto& m = message.emplace<SchemaListResponseMessage>();
      m.message_id = *id;
      problem = need_related("SchemaListResponse");
      if (problem.empty()) {
        m.request_id = *related;
        problem = read_schema_list(env, m);
      }
      break;
    }
    case wire::Envelope::kNodeAnnouncement: {
      auto& m = message.emplace<NodeAnnouncementMessage>();
      m.message_id = *id;
      m.signed_announcement = env.node_announcement().SerializeAsString();
      break;
    }
    case wire::Envelope::kError: {
      auto& m = message.emplace<ErrorMessage>();
      m.message_id = *id;
      m.related_message_id = related;
      problem = read_error(env, m);
      break;
    }
    case wire::Envelope::kPing: {
      auto& m = message.emplace<PingMessage>();
      m.message_id = *id;
      m.sent_at_us = env.ping().sent_at_us();
      break;
    }
    case wire::Envelope::kPong: {
      auto& m = message.emplace<PongMessage>();
      m.message_id = *id;
      problem = need_related("Pong");
      if (problem.empty()) {
        m.ping_id = *related;
        m.sent_at_us = env.pong().sent_at_us();
      }
      break;
    }
    case wire::Envelope::kDialBackRequest: {
      auto& m = message.emplace<DialBackRequestMessage>();
      m.request_id = *id;
      problem = read_dial_back_request(env, m);
      break;
    }
    case wire::Envelope::kDialBackResponse: {
      auto& m = message.emplace<DialBackResponseMessage>();
      m.message_id = *id;
      problem = need_related("DialBackResponse");
      if (problem.empty()) {
        m.request_id = *related;
        m.reachable = env.dial_back_response().reachable();
        m.address = env.dial_back_response().address();
        m.detail = env.dial_back_response().detail();
      }
      break;
    }
    case wire::Envelope::kRelayRequest: {
      auto& m = message.emplace<RelayRequestMessage>();
      m.request_id = *id;
      problem = read_relay_request(env, m);
      break;
    }
    case wire::Envelope::kRelayResponse: {
      auto& m = message.emplace<RelayResponseMessage>();
      m.message_id = *id;
      problem = need_related("RelayResponse");
      if (problem.empty()) {
        m.request_id = *related;
        problem = read_relay_response(env, m);
      }
      break;
    }
    case wire::Envelope::kHolePunch: {
      auto& m = message.emplace<HolePunchMessage>();
      m.request_id = *id;
      problem = read_hole_punch(env, m);
      break;
    }
    case wire::Envelope::kHolePunchResponse: {
      auto& m = message.emplace<HolePunchResponseMessage>();
      m.message_id = *id;
      problem = need_related("HolePunchResponse");
      if (problem.empty()) {
        m.request_id = *related;
        m.reachable = env.hole_punch_response().reachable();
        problem = read_addresses(env.hole_punch_response().addresses(), m.addresses);
      }
      break;
    }
    case wire::Envelope::kQueryCredit: {
      auto& m = message.emplace<QueryCreditMessage>();
      m.message_id = *id;
      problem = need_related("QueryCredit");
      if (problem.empty()) {
        m.query_id = *related;
        m.parts = env.query_credit().parts();
        m.cancel = env.query_credit().cancel();
      }
      break;
    }
    case wire::Envelope::BODY_NOT_SET:
      // No body, or one whose field number this build does not know
      // (protobuf keeps it as an unknown field): a newer peer's message.
      message.emplace<UnknownMessage>().message_id = *id;
      break;
  }
  if (!problem.empty()) return invalid(std::move(problem));
  return message;
}

}  // namespace

void append_frame(const Message& message, std::string& out) {
  if (detail::append_hot_envelope(message, out, true)) return;
  alignas(std::max_align_t) char block[kArenaStackBlock];
  pb::Arena arena(stack_arena_options(block, sizeof block));
  auto* env = pb::Arena::CreateMessage<wire::Envelope>(&arena);
  put_envelope(message, *env);

  // Serialized straight into out's tail: no temporary string. An envelope
  // cannot reach 4 GiB (protobuf refuses 2 GiB), so the length fits the header.
  const std::size_t size = env->ByteSizeLong();
  const std::size_t start = out.size();
  out.resize(start + kFrameHeaderBytes + size);
  auto* p = reinterpret_cast<std::uint8_t*>(out.data() + start);
  p[0] = static_cast<std::uint8_t>(size >> 24);
  p[1] = static_cast<std::uint8_t>(size >> 16);
  p[2] = static_cast<std::uint8_t>(size >> 8);
  p[3] = static_cast<std::uint8_t>(size);
  env->SerializeWithCachedSizesToArray(p + kFrameHeaderBytes);
}

std::string encode_envelope(const Message& message) {
  std::string out;
  if (detail::append_hot_envelope(message, out, false)) return out;
  return detail::encode_envelope_by_protobuf(message);
}

NetworkResult<Message> decode_envelope(std::span<const std::uint8_t> bytes) {
  // One result, decoded into and returned on every path, so it is never moved.
  NetworkResult<Message> message{Message{}};
  if (bytes.size() <= static_cast<std::size_t>(INT_MAX)) {
    try {
      if (detail::decode_hot_envelope_into(bytes, *message)) return message;
    } catch (const std::bad_alloc&) {
      message = make_error(ErrorKind::ResourceExhausted, "out of memory decoding an envelope",
                           ErrorCode::ResourceExhausted);
      return message;
    }
  }
  message = detail::decode_envelope_by_protobuf(bytes);
  return message;
}

std::string detail::encode_envelope_by_protobuf(const Message& message) {
  alignas(std::max_align_t) char block[kArenaStackBlock];
  pb::Arena arena(stack_arena_options(block, sizeof block));
  auto* env = pb::Arena::CreateMessage<wire::Envelope>(&arena);
  put_envelope(message, *env);
  std::string out(env->ByteSizeLong(), '\0');
  env->SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(out.data()));
  return out;
}

NetworkResult<Message> detail::decode_envelope_by_protobuf(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) return invalid("envelope too large");
  try {
    alignas(std::max_align_t) char block[kArenaStackBlock];
    pb::Arena arena(stack_arena_options(block, sizeof block));
    auto* env = pb::Arena::CreateMessage<wire::Envelope>(&arena);
    pb::io::CodedInputStream in(bytes.data(), static_cast<int>(bytes.size()));
    in.SetRecursionLimit(detail::kProtoRecursionLimit);
    // ConsumedEntireMessage: a stray end-group tag stops the parse early
    // without failing it; the rest of the bytes would be silently ignored.
    if (!env->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
      return invalid("bytes are not a valid Envelope");
    return decode(*env);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::ResourceExhausted, "out of memory decoding an envelope",
                      ErrorCode::ResourceExhausted);
  } catch (const std::exception& e) {
    // Nothing below is expected to throw; if it does, the peer's bytes are
    // still just an invalid message, not a reason to unwind the reader.
    return invalid(std::string("envelope decode failed: ") + e.what());
  }
}

// ---------------------------------------------------------------- FrameDecoder

namespace {
// Below this the consumed prefix is left in place: moving it costs more than
// the space it frees.
constexpr std::size_t kCompactThreshold = 64u << 10;
// An empty buffer bigger than this (after one large frame) is released, so an
// idle connection does not keep its largest frame's memory forever.
constexpr std::size_t kRetainBytes = 256u << 10;
}  // namespace

void FrameDecoder::release() noexcept {
  if (begin_ != end_) return;
  begin_ = end_ = 0;
  // To this thread's spares: a busy thread wants one again at the next readable event.
  detail::SpareBuffers::of_this_thread().give({std::move(buffer_), std::exchange(capacity_, 0)});
}

void FrameDecoder::compact() {
  if (begin_ == end_) {
    if (capacity_ > kRetainBytes) {
      release();
    } else {
      begin_ = end_ = 0;
    }
    return;
  }
  if (begin_ == 0) return;
  std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
}

void FrameDecoder::grow(std::size_t capacity) {
  auto& spares = detail::SpareBuffers::of_this_thread();
  auto bigger = spares.take(capacity);
  if (!bigger.bytes) bigger = {std::make_unique_for_overwrite<std::uint8_t[]>(capacity), capacity};
  if (end_ > begin_) std::memcpy(bigger.bytes.get(), buffer_.get() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
  spares.give({std::exchange(buffer_, std::move(bigger.bytes)), std::exchange(capacity_, bigger.capacity)});
}

std::span<std::uint8_t> FrameDecoder::prepare(std::size_t n) {
  if (begin_ == end_ || (begin_ >= kCompactThreshold && begin_ >= capacity_ / 2) || end_ + n > capacity_)
    compact();
  if (end_ + n > capacity_) {
    // Grow geometrically so a frame arriving in many small reads costs
    // O(size) copying, not O(size^2); but never past what one largest frame
    // and this read need, so a peer cannot make us hold twice the limit.
    const std::size_t doubled = std::min(capacity_ * 2, kFrameHeaderBytes + max_frame_bytes_ + n);
    grow(std::max(end_ + n, doubled));
  }
  return {buffer_.get() + end_, n};
}

void FrameDecoder::commit(std::size_t n) { end_ = std::min(end_ + n, capacity_); }

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  auto dst = prepare(bytes.size());
  std::memcpy(dst.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

FrameDecoder::Status FrameDecoder::next(std::span<const std::uint8_t>& payload) {
  const std::size_t available = end_ - begin_;
  if (available < kFrameHeaderBytes) return Status::NeedMore;
  const auto* p = buffer_.get() + begin_;
  const std::size_t length = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                             (std::size_t{p[2]} << 8) | std::size_t{p[3]};
  if (length > max_frame_bytes_) {
    // Nothing is consumed: the stream cannot be resynchronised, and every
    // further call answers the same until the connection is closed.
    announced_length_ = length;
    return Status::TooLarge;
  }
  if (available - kFrameHeaderBytes < length) return Status::NeedMore;
  payload = {p + kFrameHeaderBytes, length};
  begin_ += kFrameHeaderBytes + length;
  return Status::Frame;
}

}  // namespace datafold::net
