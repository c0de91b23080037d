#include "core/hot_codec.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "core/value_codec.hpp"
#include "core/wire_reader.hpp"
#include "core/wire_writer.hpp"
#include "datafold/net/message_codec.hpp"

namespace datafold::net::detail {
namespace {

// Field numbers of docs/PROTOCOL.md's messages (proto/datafold.proto).
namespace envelope {
constexpr std::uint32_t kMessageId = 1, kRelatedMessageId = 2, kQuery = 11, kQueryResponse = 12;
}
namespace query_request {
constexpr std::uint32_t kQuery = 1, kTrustProof = 2, kStreamWindow = 3;
}
namespace query {
constexpr std::uint32_t kSchemaName = 1, kFields = 2, kPubKey = 3, kTrustDistance = 4, kFilter = 5, kLimit = 6,
                        kCursor = 7;
}
namespace trust_proof {
constexpr std::uint32_t kPublicKey = 1, kSignature = 2, kTrustDistance = 3, kTimestampMs = 4;
}
namespace query_response {
constexpr std::uint32_t kResults = 1, kPart = 2, kMore = 3, kCursor = 4;
}
namespace field_result {
constexpr std::uint32_t kField = 1, kValue = 2, kError = 3;
}
namespace schema_error {
constexpr std::uint32_t kKind = 1, kMessage = 2;
}
namespace value {
constexpr std::uint32_t kNull = 1, kBool = 2, kInt = 3, kDouble = 4, kString = 5, kBytes = 6, kList = 7, kMap = 8;
}
constexpr std::uint32_t kListValues = 1;  // ListValue.values
constexpr std::uint32_t kMapEntries = 1;  // MapValue.entries
constexpr std::uint32_t kEntryKey = 1, kEntryValue = 2;

// A writer kept per thread is freed after a message bigger than this.
constexpr std::size_t kKeptWriterBytes = 64 * 1024;

std::string_view text_of(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
template <std::size_t N>
std::string_view text_of(const std::array<std::uint8_t, N>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), N};
}

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// ---------------------------------------------------------------- encode
//
// Back to front (wire_writer.hpp): each message's fields are written last field
// first, and a message field's content before its length and tag.

// A container at kMaxValueDepth goes as null, and `too_deep` is set (value_codec.cpp's
// rule). True if it was cut.
bool cut_too_deep(WireWriter& w, int depth, bool& too_deep) {
  if (depth < kMaxValueDepth) return false;
  w.varint_field(value::kNull, 0);
  too_deep = true;
  return true;
}

// The content of a Value message for `in`, as value_codec.cpp's encode_value
// makes it: a container nested at kMaxValueDepth is written as null, and
// `too_deep` is set.
void write_value(WireWriter& w, const Json& in, int depth, bool& too_deep) {
  using value_t = Json::value_t;
  switch (in.type()) {
    case value_t::null:
    case value_t::discarded:
      w.varint_field(value::kNull, 0);
      return;
    case value_t::boolean:
      w.varint_field(value::kBool, *in.get_ptr<const Json::boolean_t*>() ? 1 : 0);
      return;
    case value_t::number_integer:
      w.varint_field(value::kInt, zigzag(*in.get_ptr<const Json::number_integer_t*>()));
      return;
    case value_t::number_unsigned: {
      const auto u = *in.get_ptr<const Json::number_unsigned_t*>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        w.varint_field(value::kInt, zigzag(static_cast<std::int64_t>(u)));
      else
        w.fixed64_field(value::kDouble, std::bit_cast<std::uint64_t>(static_cast<double>(u)));
      return;
    }
    case value_t::number_float:
      w.fixed64_field(value::kDouble, std::bit_cast<std::uint64_t>(*in.get_ptr<const Json::number_float_t*>()));
      return;
    case value_t::string: {
      const auto& s = *in.get_ptr<const Json::string_t*>();
      w.bytes_field(is_valid_utf8(s) ? value::kString : value::kBytes, s);
      return;
    }
    case value_t::binary: {
      const auto& b = *in.get_ptr<const Json::binary_t*>();
      w.bytes_field(value::kBytes, {reinterpret_cast<const char*>(b.data()), b.size()});
      return;
    }
    case value_t::array: {
      if (cut_too_deep(w, depth, too_deep)) return;
      const auto& items = *in.get_ptr<const Json::array_t*>();
      const auto list = w.size();
      for (auto it = items.rbegin(); it != items.rend(); ++it) {
        const auto item = w.size();
        write_value(w, *it, depth + 1, too_deep);
        w.len_field(kListValues, item);
      }
      w.len_field(value::kList, list);
      return;
    }
    case value_t::object: {
      if (cut_too_deep(w, depth, too_deep)) return;
      // A std::map: in key order, the order the wire requires (here reversed).
      const auto& members = *in.get_ptr<const Json::object_t*>();
      const auto map = w.size();
      for (auto it = members.rbegin(); it != members.rend(); ++it) {
        // The entry and its value (its last field) start at the same byte.
        const auto entry = w.size();
        write_value(w, it->second, depth + 1, too_deep);
        w.len_field(kEntryValue, entry);
        w.bytes_if_set(kEntryKey, it->first);
        w.len_field(kMapEntries, entry);
      }
      w.len_field(value::kMap, map);
      return;
    }
  }
  w.varint_field(value::kNull, 0);
}

void write_query(WireWriter& w, const QueryMessage& m) {
  const auto request = w.size();
  w.varint_if_set(query_request::kStreamWindow, m.stream_window);

  const auto proof = w.size();
  w.varint_if_set(trust_proof::kTimestampMs, static_cast<std::uint64_t>(m.trust_proof.timestamp_ms));
  w.varint_if_set(trust_proof::kTrustDistance, m.trust_proof.trust_distance);
  w.bytes_if_set(trust_proof::kSignature, text_of(m.trust_proof.signature));
  w.bytes_if_set(trust_proof::kPublicKey, text_of(m.trust_proof.public_key.bytes()));
  w.len_field(query_request::kTrustProof, proof);

  const auto& q = m.query;
  const auto body = w.size();
  w.bytes_if_set(query::kCursor, q.cursor);
  w.varint_if_set(query::kLimit, q.limit);
  if (q.filter) {
    // A filter too deep for a peer is cut at the limit, as message_codec.cpp does.
    const auto filter = w.size();
    bool too_deep = false;
    write_value(w, *q.filter, 0, too_deep);
    w.len_field(query::kFilter, filter);
  }
  w.varint_if_set(query::kTrustDistance, q.trust_distance);
  w.bytes_if_set(query::kPubKey, q.pub_key);
  for (auto it = q.fields.rbegin(); it != q.fields.rend(); ++it) w.bytes_field(query::kFields, *it);
  w.bytes_if_set(query::kSchemaName, q.schema_name);
  w.len_field(query_request::kQuery, body);

  w.len_field(envelope::kQuery, request);
  w.bytes_field(envelope::kMessageId, text_of(m.query_id.bytes()));
}

void write_schema_error(WireWriter& w, const SchemaError& e) {
  const auto error = w.size();
  w.bytes_if_set(schema_error::kMessage, e.message);
  w.varint_if_set(schema_error::kKind, static_cast<std::uint64_t>(e.kind));
  w.len_field(field_result::kError, error);
}

void write_query_response(WireWriter& w, const QueryResponseMessage& m) {
  const auto response = w.size();
  w.bytes_if_set(query_response::kCursor, m.result.cursor);
  w.varint_if_set(query_response::kMore, m.more ? 1 : 0);
  w.varint_if_set(query_response::kPart, m.part);
  const auto& results = m.result.results;
  for (auto it = results.rbegin(); it != results.rend(); ++it) {
    // The result and its outcome (its last field) start at the same byte.
    const auto result = w.size();
    if (const auto* json = std::get_if<Json>(&it->outcome)) {
      bool too_deep = false;
      write_value(w, *json, 0, too_deep);
      if (too_deep) {
        // A value the peer would refuse would make it refuse the whole response:
        // that one field goes as an error instead (as message_codec.cpp does).
        w.rewind(result);
        write_schema_error(w, SchemaError{SchemaError::Kind::InvalidData, std::string(to_string(ValueStatus::TooDeep))});
      } else {
        w.len_field(field_result::kValue, result);
      }
    } else {
      write_schema_error(w, std::get<SchemaError>(it->outcome));
    }
    w.bytes_if_set(field_result::kField, it->field);
    w.len_field(query_response::kResults, result);
  }
  w.len_field(envelope::kQueryResponse, response);
  w.bytes_field(envelope::kRelatedMessageId, text_of(m.query_id.bytes()));
  w.bytes_field(envelope::kMessageId, text_of(m.message_id.bytes()));
}

// ---------------------------------------------------------------- decode
//
// Each reader returns false to decline: the protobuf path then reads the bytes and
// either accepts them or says what is wrong with them.

// Calls on_field(reader, field, type) for each field of the message in `bytes`; it
// reads the field's value. False at a malformed tag, at a field other than `repeated`
// met twice, or as soon as on_field returns false.
template <typename OnField>
bool read_fields(std::string_view bytes, OnField&& on_field, std::uint32_t repeated = 0) {
  WireReader r(bytes);
  SeenFields seen;
  while (!r.done()) {
    std::uint32_t field = 0;
    WireType type{};
    if (!r.tag(field, type)) return false;
    if (field != repeated && !seen.first(field)) return false;
    if (!on_field(r, field, type)) return false;
  }
  return true;
}

bool read_u32(WireReader& r, WireType type, std::uint32_t& out) {
  std::uint64_t v = 0;
  if (type != WireType::Varint || !r.varint(v) || v > std::numeric_limits<std::uint32_t>::max()) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool read_bytes(WireReader& r, WireType type, std::string_view& out) { return type == WireType::Len && r.len(out); }

bool read_text(WireReader& r, WireType type, std::string_view& out) {
  return read_bytes(r, type, out) && is_valid_utf8(out);
}

bool read_value(std::string_view bytes, Json& out, int depth);

// How many length-delimited fields lead `bytes`, counted by skipping over them (up to the
// first that is not one): a list's items, so that its array is sized once rather than
// grown 1, 2, 4, ... as they are read.
std::size_t leading_len_fields(std::string_view bytes) {
  WireReader r(bytes);
  std::size_t count = 0;
  std::uint32_t field = 0;
  WireType type{};
  std::string_view skipped;
  while (!r.done() && r.tag(field, type) && type == WireType::Len && r.len(skipped)) ++count;
  return count;
}

bool read_list(std::string_view bytes, Json& out, int depth) {
  out = Json::array();
  auto& items = out.get_ref<Json::array_t&>();
  items.reserve(leading_len_fields(bytes));
  return read_fields(
      bytes,
      [&](WireReader& r, std::uint32_t field, WireType type) {
        std::string_view item;
        if (field != kListValues || !read_bytes(r, type, item)) return false;
        items.emplace_back();
        return read_value(item, items.back(), depth + 1);
      },
      kListValues);
}

bool read_map_entry(std::string_view bytes, Json::object_t& members, int depth) {
  std::string_view key;
  std::optional<std::string_view> item;
  const bool read = read_fields(bytes, [&](WireReader& r, std::uint32_t field, WireType type) {
    if (field == kEntryKey) return read_text(r, type, key);
    if (field == kEntryValue) return read_bytes(r, type, item.emplace());
    return false;
  });
  if (!read || !item) return false;
  auto [it, inserted] = members.try_emplace(std::string(key));
  return inserted && read_value(*item, it->second, depth + 1);
}

bool read_map(std::string_view bytes, Json& out, int depth) {
  out = Json::object();
  auto& members = out.get_ref<Json::object_t&>();
  return read_fields(
      bytes,
      [&](WireReader& r, std::uint32_t field, WireType type) {
        std::string_view entry;
        return field == kMapEntries && read_bytes(r, type, entry) && read_map_entry(entry, members, depth);
      },
      kMapEntries);
}

// The content of a Value message, as value_codec.cpp's decode_value reads it.
bool read_value(std::string_view bytes, Json& out, int depth) {
  WireReader r(bytes);
  std::uint32_t field = 0;
  WireType type{};
  if (!r.tag(field, type)) return false;
  std::uint64_t v = 0;
  std::string_view s;
  switch (field) {
    case value::kNull:
      if (type != WireType::Varint || !r.varint(v)) return false;
      out = nullptr;
      break;
    case value::kBool:
      if (type != WireType::Varint || !r.varint(v)) return false;
      out = v != 0;
      break;
    case value::kInt:
      if (type != WireType::Varint || !r.varint(v)) return false;
      out = static_cast<Json::number_integer_t>(unzigzag(v));
      break;
    case value::kDouble:
      if (type != WireType::Fixed64 || !r.fixed64(v)) return false;
      out = std::bit_cast<double>(v);
      break;
    case value::kString:
      if (!read_text(r, type, s)) return false;
      out = std::string(s);
      break;
    case value::kBytes:
      if (!read_bytes(r, type, s)) return false;
      out = Json::binary(Json::binary_t::container_type(s.begin(), s.end()));
      break;
    case value::kList:
      if (depth >= kMaxValueDepth || !read_bytes(r, type, s) || !read_list(s, out, depth)) return false;
      break;
    case value::kMap:
      if (depth >= kMaxValueDepth || !read_bytes(r, type, s) || !read_map(s, out, depth)) return false;
      break;
    default:
      return false;
  }
  return r.done();  // one kind, once
}

bool read_trust_proof(std::string_view bytes, TrustProof& out) {
  bool has_key = false;
  const bool read = read_fields(bytes, [&](WireReader& r, std::uint32_t field, WireType type) {
    std::string_view s;
    std::uint64_t v = 0;
    switch (field) {
      case trust_proof::kPublicKey: {
        if (!read_bytes(r, type, s)) return false;
        auto key = PublicKey::from_bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
        if (!key) return false;
        out.public_key = *key;
        has_key = true;
        return true;
      }
      case trust_proof::kSignature:
        // Ed25519 signatures are 64 bytes; the protobuf path refuses anything else.
        if (!read_bytes(r, type, s) || (!s.empty() && s.size() != 64)) return false;
        out.signature.assign(s.begin(), s.end());
        return true;
      case trust_proof::kTrustDistance:
        return read_u32(r, type, out.trust_distance);
      case trust_proof::kTimestampMs:
        if (type != WireType::Varint || !r.varint(v)) return false;
        out.timestamp_ms = static_cast<std::int64_t>(v);
        return true;
      default:
        return false;
    }
  });
  return read && has_key;
}

bool read_query_fields(std::string_view bytes, Query& out) {
  return read_fields(
      bytes,
      [&](WireReader& r, std::uint32_t field, WireType type) {
        std::string_view s;
        switch (field) {
          case query::kSchemaName:
            if (!read_text(r, type, s)) return false;
            out.schema_name = s;
            return true;
          case query::kFields:
            if (!read_text(r, type, s)) return false;
            out.fields.emplace_back(s);
            return true;
          case query::kPubKey:
            if (!read_text(r, type, s)) return false;
            out.pub_key = s;
            return true;
          case query::kTrustDistance:
            return read_u32(r, type, out.trust_distance);
          case query::kFilter:
            return read_bytes(r, type, s) && read_value(s, out.filter.emplace(), 0);
          case query::kLimit:
            return read_u32(r, type, out.limit);
          case query::kCursor:
            if (!read_bytes(r, type, s)) return false;
            out.cursor = s;
            return true;
          default:
            return false;
        }
      },
      query::kFields);
}

bool read_query_request(std::string_view bytes, QueryMessage& out) {
  bool has_query = false;
  bool has_proof = false;
  const bool read = read_fields(bytes, [&](WireReader& r, std::uint32_t field, WireType type) {
    std::string_view s;
    switch (field) {
      case query_request::kQuery:
        return (has_query = read_bytes(r, type, s) && read_query_fields(s, out.query));
      case query_request::kTrustProof:
        return (has_proof = read_bytes(r, type, s) && read_trust_proof(s, out.trust_proof));
      case query_request::kStreamWindow:
        return read_u32(r, type, out.stream_window);
      default:
        return false;
    }
  });
  return read && has_query && has_proof;
}

bool read_schema_error(std::string_view bytes, SchemaError& out) {
  return read_fields(bytes, [&](WireReader& r, std::uint32_t field, WireType type) {
    std::uint64_t v = 0;
    std::string_view s;
    if (field == schema_error::kKind) {
      if (type != WireType::Varint || !r.varint(v) || v > static_cast<std::uint64_t>(SchemaError::Kind::MappingError))
        return false;
      out.kind = static_cast<SchemaError::Kind>(v);
      return true;
    }
    if (field == schema_error::kMessage) {
      if (!read_text(r, type, s)) return false;
      out.message = s;
      return true;
    }
    return false;
  });
}

bool read_field_result(std::string_view bytes, FieldResult& out) {
  bool has_outcome = false;
  const bool read = read_fields(bytes, [&](WireReader& r, std::uint32_t field, WireType type) {
    std::string_view s;
    if (field == field_result::kField) {
      if (!read_text(r, type, s)) return false;
      out.field = s;
      return true;
    }
    // One of a oneof: a second would replace the first in protobuf's reading.
    if ((field != field_result::kValue && field != field_result::kError) || has_outcome || !read_bytes(r, type, s))
      return false;
    has_outcome = true;
    return field == field_result::kValue ? read_value(s, out.outcome.emplace<Json>(), 0)
                                         : read_schema_error(s, out.outcome.emplace<SchemaError>());
  });
  return read && has_outcome;
}

bool read_query_response(std::string_view bytes, QueryResponseMessage& out) {
  return read_fields(
      bytes,
      [&](WireReader& r, std::uint32_t field, WireType type) {
        std::string_view s;
        std::uint64_t v = 0;
        switch (field) {
          case query_response::kResults:
            return read_bytes(r, type, s) && read_field_result(s, out.result.results.emplace_back());
          case query_response::kPart:
            return read_u32(r, type, out.part);
          case query_response::kMore:
            if (type != WireType::Varint || !r.varint(v)) return false;
            out.more = v != 0;
            return true;
          case query_response::kCursor:
            if (!read_bytes(r, type, s)) return false;
            out.result.cursor = s;
            return true;
          default:
            return false;
        }
      },
      query_response::kResults);
}

std::optional<Uuid> uuid_of(std::string_view bytes) {
  return Uuid::from_bytes({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

}  // namespace

bool append_hot_envelope(const Message& message, std::string& out, bool framed) {
  const auto* query = std::get_if<QueryMessage>(&message);
  const auto* response = std::get_if<QueryResponseMessage>(&message);
  if (query == nullptr && response == nullptr) return false;
  // One writer per thread, kept between messages: no allocation per message.
  thread_local WireWriter writer;
  writer.clear();
  if (query != nullptr)
    write_query(writer, *query);
  else
    write_query_response(writer, *response);
  if (framed) {
    const std::size_t size = writer.size();
    const std::uint8_t header[kFrameHeaderBytes] = {static_cast<std::uint8_t>(size >> 24),
                                                    static_cast<std::uint8_t>(size >> 16),
                                                    static_cast<std::uint8_t>(size >> 8),
                                                    static_cast<std::uint8_t>(size)};
    writer.raw(header, sizeof header);
  }
  out.append(writer.bytes());
  writer.clear();
  writer.shrink_to(kKeptWriterBytes);
  return true;
}

std::optional<Message> decode_hot_envelope(std::span<const std::uint8_t> bytes) {
  std::optional<Message> message(std::in_place);
  if (!decode_hot_envelope_into(bytes, *message)) return std::nullopt;
  return message;
}

namespace {

// Where a query as this codec (and protobuf) writes it has what: its id (a tag, a
// length, 16 bytes), then its body's tag. A frame that is not a query shows it by its
// 19th byte at the latest.
constexpr std::size_t kQueryIdAt = 2;
constexpr std::size_t kBodyTagAt = kQueryIdAt + Uuid::kSize;

bool starts_as_hot_query(std::span<const std::uint8_t> bytes) {
  constexpr std::uint8_t kIdTag = envelope::kMessageId << 3 | 2;
  constexpr std::uint8_t kQueryTag = envelope::kQuery << 3 | 2;
  return bytes.size() > kBodyTagAt && bytes[0] == kIdTag && bytes[1] == Uuid::kSize && bytes[kBodyTagAt] == kQueryTag;
}

}  // namespace

std::optional<Uuid> hot_query_id(std::span<const std::uint8_t> bytes) {
  if (!starts_as_hot_query(bytes)) return std::nullopt;
  return Uuid::from_bytes(bytes.subspan(kQueryIdAt, Uuid::kSize));
}

std::optional<std::uint32_t> peek_hot_query(std::span<const std::uint8_t> bytes) {
  // Only the layout this codec (and protobuf) writes a query in: its id, its body, and
  // nothing else.
  if (!starts_as_hot_query(bytes)) return std::nullopt;
  WireReader envelope_rest(text_of(bytes.subspan(kBodyTagAt + 1)));
  std::string_view body;
  if (!envelope_rest.len(body) || !envelope_rest.done()) return std::nullopt;
  std::uint32_t stream_window = 0;
  const bool read = read_fields(body, [&](WireReader& r, std::uint32_t field, WireType type) {
    std::string_view skipped;
    switch (field) {
      case query_request::kQuery:
      case query_request::kTrustProof:
        return read_bytes(r, type, skipped);
      case query_request::kStreamWindow:
        return read_u32(r, type, stream_window);
      default:
        return false;
    }
  });
  if (!read) return std::nullopt;
  return stream_window;
}

bool decode_hot_envelope_into(std::span<const std::uint8_t> bytes, Message& message) {
  std::string_view id;
  std::string_view related;
  std::string_view body;
  std::uint32_t body_field = 0;
  const bool read = read_fields(text_of(bytes), [&](WireReader& r, std::uint32_t field, WireType type) {
    switch (field) {
      case envelope::kMessageId:
        return read_bytes(r, type, id);
      case envelope::kRelatedMessageId:
        return read_bytes(r, type, related);
      case envelope::kQuery:
      case envelope::kQueryResponse:
        if (body_field != 0) return false;  // a oneof set twice
        body_field = field;
        return read_bytes(r, type, body);
      default:
        return false;  // another message, or a field this decoder does not know
    }
  });
  if (!read) return false;
  const auto message_id = uuid_of(id);
  if (!message_id) return false;
  std::optional<Uuid> related_id;
  if (!related.empty() && !(related_id = uuid_of(related))) return false;

  if (body_field == envelope::kQuery) {
    auto& m = message.emplace<QueryMessage>();
    m.query_id = *message_id;
    if (!read_query_request(body, m)) return false;
  } else if (body_field == envelope::kQueryResponse) {
    if (!related_id) return false;
    auto& m = message.emplace<QueryResponseMessage>();
    m.message_id = *message_id;
    m.query_id = *related_id;
    if (!read_query_response(body, m)) return false;
  } else {
    return false;
  }
  return true;
}

}  // namespace datafold::net::detail
