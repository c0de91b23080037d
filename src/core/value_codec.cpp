#include "core/value_codec.hpp"

#include <cstdint>
#include <cstring>
#include <limits>

namespace datafold::net::detail {
namespace {

namespace wire = ::datafold::wire;
using value_t = Json::value_t;

// Recursion below is bounded by kMaxValueDepth, whatever the input.
ValueStatus encode_at(const Json& in, wire::Value& out, int depth) {
  switch (in.type()) {
    case value_t::null:
    case value_t::discarded:  // only a failed parse makes one; nothing better to send
      out.set_null_value(wire::NULL_VALUE);
      return ValueStatus::Ok;
    case value_t::boolean:
      out.set_bool_value(*in.get_ptr<const Json::boolean_t*>());
      return ValueStatus::Ok;
    case value_t::number_integer:
      out.set_int_value(*in.get_ptr<const Json::number_integer_t*>());
      return ValueStatus::Ok;
    case value_t::number_unsigned: {
      const auto u = *in.get_ptr<const Json::number_unsigned_t*>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        out.set_int_value(static_cast<std::int64_t>(u));
      else
        out.set_double_value(static_cast<double>(u));
      return ValueStatus::Ok;
    }
    case value_t::number_float:
      out.set_double_value(*in.get_ptr<const Json::number_float_t*>());
      return ValueStatus::Ok;
    case value_t::string: {
      const auto& s = *in.get_ptr<const Json::string_t*>();
      if (is_valid_utf8(s))
        out.set_string_value(s);
      else
        out.set_bytes_value(s);
      return ValueStatus::Ok;
    }
    case value_t::binary: {
      const auto& b = *in.get_ptr<const Json::binary_t*>();
      out.set_bytes_value(reinterpret_cast<const char*>(b.data()), b.size());
      return ValueStatus::Ok;
    }
    case value_t::array: {
      if (depth >= kMaxValueDepth) {
        out.set_null_value(wire::NULL_VALUE);
        return ValueStatus::TooDeep;
      }
      const auto& items = *in.get_ptr<const Json::array_t*>();
      auto* values = out.mutable_list_value()->mutable_values();
      values->Reserve(static_cast<int>(items.size()));
      ValueStatus status = ValueStatus::Ok;
      for (const auto& item : items) {
        const ValueStatus s = encode_at(item, *values->Add(), depth + 1);
        if (status == ValueStatus::Ok) status = s;
      }
      return status;
    }
    case value_t::object: {
      if (depth >= kMaxValueDepth) {
        out.set_null_value(wire::NULL_VALUE);
        return ValueStatus::TooDeep;
      }
      // object_t is a std::map: iteration is already in key (byte) order,
      // which is the order the wire requires.
      const auto& members = *in.get_ptr<const Json::object_t*>();
      auto* entries = out.mutable_map_value()->mutable_entries();
      entries->Reserve(static_cast<int>(members.size()));
      ValueStatus status = ValueStatus::Ok;
      for (const auto& [key, value] : members) {
        auto* entry = entries->Add();
        entry->set_key(key);
        const ValueStatus s = encode_at(value, *entry->mutable_value(), depth + 1);
        if (status == ValueStatus::Ok) status = s;
      }
      return status;
    }
  }
  out.set_null_value(wire::NULL_VALUE);
  return ValueStatus::Ok;
}

ValueStatus decode_at(const wire::Value& in, Json& out, int depth) {
  switch (in.kind_case()) {
    case wire::Value::kNullValue:
      out = nullptr;
      return ValueStatus::Ok;
    case wire::Value::kBoolValue:
      out = in.bool_value();
      return ValueStatus::Ok;
    case wire::Value::kIntValue:
      out = static_cast<Json::number_integer_t>(in.int_value());
      return ValueStatus::Ok;
    case wire::Value::kDoubleValue:
      out = in.double_value();
      return ValueStatus::Ok;
    case wire::Value::kStringValue:
      out = in.string_value();
      return ValueStatus::Ok;
    case wire::Value::kBytesValue: {
      const auto& b = in.bytes_value();
      out = Json::binary(Json::binary_t::container_type(b.begin(), b.end()));
      return ValueStatus::Ok;
    }
    case wire::Value::kListValue: {
      if (depth >= kMaxValueDepth) return ValueStatus::TooDeep;
      const auto& values = in.list_value().values();
      out = Json::array();
      auto& items = out.get_ref<Json::array_t&>();
      items.reserve(static_cast<std::size_t>(values.size()));
      for (const auto& v : values) {
        items.emplace_back();
        if (const ValueStatus s = decode_at(v, items.back(), depth + 1); s != ValueStatus::Ok)
          return s;
      }
      return ValueStatus::Ok;
    }
    case wire::Value::kMapValue: {
      if (depth >= kMaxValueDepth) return ValueStatus::TooDeep;
      out = Json::object();
      auto& members = out.get_ref<Json::object_t&>();
      // Senders write keys in order; receivers accept any order (the JSON
      // object sorts them) but not a repeated key, whose meaning is ambiguous.
      for (const auto& entry : in.map_value().entries()) {
        auto [it, inserted] = members.try_emplace(entry.key());
        if (!inserted) return ValueStatus::DuplicateKey;
        if (const ValueStatus s = decode_at(entry.value(), it->second, depth + 1); s != ValueStatus::Ok)
          return s;
      }
      return ValueStatus::Ok;
    }
    case wire::Value::KIND_NOT_SET:
      break;
  }
  return ValueStatus::KindNotSet;
}

bool depth_ok_at(const Json& value, int depth) noexcept {
  if (value.is_array()) {
    if (depth >= kMaxValueDepth) return false;
    for (const auto& item : *value.get_ptr<const Json::array_t*>())
      if (!depth_ok_at(item, depth + 1)) return false;
  } else if (value.is_object()) {
    if (depth >= kMaxValueDepth) return false;
    for (const auto& [key, item] : *value.get_ptr<const Json::object_t*>())
      if (!depth_ok_at(item, depth + 1)) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(ValueStatus status) noexcept {
  switch (status) {
    case ValueStatus::Ok: return "ok";
    case ValueStatus::TooDeep: return "value nested deeper than 64 levels";
    case ValueStatus::KindNotSet: return "value of no known kind";
    case ValueStatus::DuplicateKey: return "map value repeats a key";
  }
  return "invalid value";
}

ValueStatus encode_value(const Json& in, ::datafold::wire::Value& out) { return encode_at(in, out, 0); }

ValueStatus decode_value(const ::datafold::wire::Value& in, Json& out) { return decode_at(in, out, 0); }

bool value_depth_ok(const Json& value) noexcept { return depth_ok_at(value, 0); }

bool is_valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    // ASCII thirty-two bytes at a time, then eight: most text is ASCII, and every
    // query's strings are checked on their way out and in.
    constexpr std::uint64_t kHighBits = 0x8080808080808080ull;
    while (end - p >= 32) {
      std::uint64_t words[4];
      std::memcpy(words, p, sizeof words);
      if (((words[0] | words[1] | words[2] | words[3]) & kHighBits) != 0) break;
      p += 32;
    }
    while (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, sizeof word);
      if ((word & kHighBits) != 0) break;
      p += 8;
    }
    // Four to seven left: their first four and last four at once (overlapping, which
    // does no harm). Then byte by byte: to the end, or to the byte whose high bit
    // stopped a step above. (Most strings checked are short names.)
    if (const auto left = end - p; left >= 4 && left < 8) {
      std::uint32_t first;
      std::uint32_t last;
      std::memcpy(&first, p, sizeof first);
      std::memcpy(&last, end - 4, sizeof last);
      if (((first | last) & static_cast<std::uint32_t>(kHighBits)) == 0) break;
    }
    while (p < end && *p < 0x80) ++p;
    if (p == end) break;
    const unsigned char c = *p;
    // Lead byte: how many continuation bytes follow, and the range the first
    // of them must fall in (that range is what excludes overlongs, surrogates
    // and code points above U+10FFFF).
    std::ptrdiff_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c == 0xE0) {
      n = 2;
      lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = 2;
    } else if (c == 0xED) {
      n = 2;
      hi = 0x9F;
    } else if (c == 0xF0) {
      n = 3;
      lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = 3;
    } else if (c == 0xF4) {
      n = 3;
      hi = 0x8F;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::ptrdiff_t i = 2; i <= n; ++i)
      if ((p[i] & 0xC0) != 0x80) return false;
    p += n + 1;
  }
  return true;
}

}  // namespace datafold::net::detail
