#include "core/value_codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace datafold::net::detail {
namespace {

namespace wire = ::datafold::wire;

Json round_trip(const Json& in) {
  wire::Value v;
  EXPECT_EQ(encode_value(in, v), ValueStatus::Ok);
  // Through bytes, as on the wire, not just through the object.
  wire::Value parsed;
  EXPECT_TRUE(parsed.ParseFromString(v.SerializeAsString()));
  Json out;
  EXPECT_EQ(decode_value(parsed, out), ValueStatus::Ok);
  return out;
}

Json nested_arrays(int levels) {
  Json j = 1;
  for (int i = 0; i < levels; ++i) {
    Json outer = Json::array();
    outer.push_back(std::move(j));
    j = std::move(outer);
  }
  return j;
}

Json nested_objects(int levels) {
  Json j = "leaf";
  for (int i = 0; i < levels; ++i) {
    Json outer = Json::object();
    outer["k"] = std::move(j);
    j = std::move(outer);
  }
  return j;
}

// A wire value `levels` lists deep, built without the encoder.
wire::Value nested_wire_lists(int levels) {
  wire::Value root;
  wire::Value* v = &root;
  for (int i = 0; i < levels; ++i) v = v->mutable_list_value()->add_values();
  v->set_int_value(7);
  return root;
}

TEST(ValueCodec, ScalarsRoundTrip) {
  for (const Json& j : {Json(nullptr), Json(true), Json(false), Json(0), Json(-1),
                        Json(std::numeric_limits<std::int64_t>::min()),
                        Json(std::numeric_limits<std::int64_t>::max()), Json(1.5), Json(-0.25),
                        Json(1e300), Json(""), Json("alice"), Json("żółw 🐢")}) {
    const Json back = round_trip(j);
    EXPECT_EQ(back, j) << j.dump();
    EXPECT_EQ(back.type(), j.type()) << j.dump();
  }
}

TEST(ValueCodec, WireKindsMatchJsonTypes) {
  wire::Value v;
  ASSERT_EQ(encode_value(Json(nullptr), v), ValueStatus::Ok);
  EXPECT_EQ(v.kind_case(), wire::Value::kNullValue);
  ASSERT_EQ(encode_value(Json(-5), v), ValueStatus::Ok);
  EXPECT_EQ(v.kind_case(), wire::Value::kIntValue);
  EXPECT_EQ(v.int_value(), -5);
  ASSERT_EQ(encode_value(Json(2.0), v), ValueStatus::Ok);
  EXPECT_EQ(v.kind_case(), wire::Value::kDoubleValue);  // an integral double stays a double
  ASSERT_EQ(encode_value(Json("x"), v), ValueStatus::Ok);
  EXPECT_EQ(v.kind_case(), wire::Value::kStringValue);
}

TEST(ValueCodec, UnsignedFitsInt64GoesAsInt) {
  wire::Value v;
  ASSERT_EQ(encode_value(Json(std::uint64_t{42}), v), ValueStatus::Ok);
  EXPECT_EQ(v.kind_case(), wire::Value::kIntValue);
  EXPECT_EQ(v.int_value(), 42);

  const auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  wire::Value edge;
  ASSERT_EQ(encode_value(Json(max), edge), ValueStatus::Ok);
  EXPECT_EQ(edge.kind_case(), wire::Value::kIntValue);
  EXPECT_EQ(edge.int_value(), std::numeric_limits<std::int64_t>::max());

  Json back;
  ASSERT_EQ(decode_value(v, back), ValueStatus::Ok);
  EXPECT_TRUE(back.is_number_integer());
  EXPECT_EQ(back.get<std::int64_t>(), 42);
}

TEST(ValueCodec, UnsignedAboveInt64BecomesDouble) {
  const std::uint64_t big = (std::uint64_t{1} << 63) + 2048;
  wire::Value v;
  ASSERT_EQ(encode_value(Json(big), v), ValueStatus::Ok);
  ASSERT_EQ(v.kind_case(), wire::Value::kDoubleValue);
  EXPECT_EQ(v.double_value(), static_cast<double>(big));
  Json back;
  ASSERT_EQ(decode_value(v, back), ValueStatus::Ok);
  EXPECT_TRUE(back.is_number_float());
}

TEST(ValueCodec, BinaryTravelsAsBytes) {
  const Json bin = Json::binary({0x00, 0xff, 0x10, 0x80});
  wire::Value v;
  ASSERT_EQ(encode_value(bin, v), ValueStatus::Ok);
  ASSERT_EQ(v.kind_case(), wire::Value::kBytesValue);
  EXPECT_EQ(v.bytes_value(), std::string("\x00\xff\x10\x80", 4));
  const Json back = round_trip(bin);
  ASSERT_TRUE(back.is_binary());
  EXPECT_EQ(back, bin);
}

TEST(ValueCodec, InvalidUtf8StringGoesAsBytes) {
  // A protobuf peer refuses a string field that is not UTF-8, which would sink
  // the whole envelope; bytes keep the data.
  const Json bad = std::string("ab\xff", 3);
  wire::Value v;
  ASSERT_EQ(encode_value(bad, v), ValueStatus::Ok);
  ASSERT_EQ(v.kind_case(), wire::Value::kBytesValue);
  EXPECT_EQ(v.bytes_value(), std::string("ab\xff", 3));
}

TEST(ValueCodec, ContainersRoundTrip) {
  const Json doc = {
      {"name", "alice"},
      {"age", 31},
      {"tags", {"a", true, nullptr, 1.5, Json::array(), Json::object()}},
      {"nested", {{"z", {{"deep", {1, 2, 3}}}}, {"a", Json::binary({1, 2})}}},
      {"", "empty key"},
  };
  EXPECT_EQ(round_trip(doc), doc);
  EXPECT_EQ(round_trip(Json::array()), Json::array());
  EXPECT_EQ(round_trip(Json::object()), Json::object());
}

TEST(ValueCodec, MapEntriesInKeyOrder) {
  Json doc = Json::object();
  doc["zeta"] = 1;
  doc["alpha"] = 2;
  doc["Beta"] = 3;
  doc["beta"] = 4;
  wire::Value v;
  ASSERT_EQ(encode_value(doc, v), ValueStatus::Ok);
  const auto& entries = v.map_value().entries();
  ASSERT_EQ(entries.size(), 4);
  EXPECT_EQ(entries[0].key(), "Beta");  // byte order: upper case first
  EXPECT_EQ(entries[1].key(), "alpha");
  EXPECT_EQ(entries[2].key(), "beta");
  EXPECT_EQ(entries[3].key(), "zeta");
  EXPECT_EQ(entries[3].value().int_value(), 1);
}

TEST(ValueCodec, UnorderedMapEntriesAreAccepted) {
  wire::Value v;
  auto* e1 = v.mutable_map_value()->add_entries();
  e1->set_key("b");
  e1->mutable_value()->set_int_value(2);
  auto* e2 = v.mutable_map_value()->add_entries();
  e2->set_key("a");
  e2->mutable_value()->set_int_value(1);
  Json out;
  ASSERT_EQ(decode_value(v, out), ValueStatus::Ok);
  EXPECT_EQ(out, (Json{{"a", 1}, {"b", 2}}));
}

TEST(ValueCodec, DuplicateMapKeyIsRefused) {
  wire::Value v;
  for (int i = 0; i < 2; ++i) {
    auto* e = v.mutable_map_value()->add_entries();
    e->set_key("same");
    e->mutable_value()->set_int_value(i);
  }
  Json out;
  EXPECT_EQ(decode_value(v, out), ValueStatus::DuplicateKey);
}

TEST(ValueCodec, ValueWithoutKindIsRefused) {
  Json out;
  EXPECT_EQ(decode_value(wire::Value{}, out), ValueStatus::KindNotSet);

  wire::Value list;
  list.mutable_list_value()->add_values()->set_bool_value(true);
  list.mutable_list_value()->add_values();  // no kind
  EXPECT_EQ(decode_value(list, out), ValueStatus::KindNotSet);

  wire::Value map;
  map.mutable_map_value()->add_entries()->set_key("no value");
  EXPECT_EQ(decode_value(map, out), ValueStatus::KindNotSet);
}

TEST(ValueCodec, DecodeDepthLimit) {
  Json out;
  EXPECT_EQ(decode_value(nested_wire_lists(kMaxValueDepth), out), ValueStatus::Ok);
  Json expected = 7;
  for (int i = 0; i < kMaxValueDepth; ++i) {
    Json outer = Json::array();
    outer.push_back(std::move(expected));
    expected = std::move(outer);
  }
  EXPECT_EQ(out, expected);

  EXPECT_EQ(decode_value(nested_wire_lists(kMaxValueDepth + 1), out), ValueStatus::TooDeep);
}

TEST(ValueCodec, DecodeDepthLimitCountsMaps) {
  wire::Value root;
  wire::Value* v = &root;
  for (int i = 0; i < kMaxValueDepth + 1; ++i) {
    auto* e = v->mutable_map_value()->add_entries();
    e->set_key("k");
    v = e->mutable_value();
  }
  v->set_null_value(wire::NULL_VALUE);
  Json out;
  EXPECT_EQ(decode_value(root, out), ValueStatus::TooDeep);
}

TEST(ValueCodec, EncodeDepthGuard) {
  EXPECT_TRUE(value_depth_ok(nested_arrays(kMaxValueDepth)));
  EXPECT_FALSE(value_depth_ok(nested_arrays(kMaxValueDepth + 1)));
  EXPECT_TRUE(value_depth_ok(nested_objects(kMaxValueDepth)));
  EXPECT_FALSE(value_depth_ok(nested_objects(kMaxValueDepth + 1)));
  EXPECT_TRUE(value_depth_ok(Json("scalar")));

  wire::Value ok;
  EXPECT_EQ(encode_value(nested_objects(kMaxValueDepth), ok), ValueStatus::Ok);

  // Far deeper than the limit: the encoder stops at the limit instead of
  // recursing all the way down, and says so.
  wire::Value v;
  EXPECT_EQ(encode_value(nested_arrays(kMaxValueDepth * 4), v), ValueStatus::TooDeep);
  Json out;
  EXPECT_EQ(decode_value(v, out), ValueStatus::Ok);  // what was written is within the limit
  const Json* p = &out;
  int depth = 0;
  while (p->is_array()) {
    p = &(*p)[0];
    ++depth;
  }
  EXPECT_EQ(depth, kMaxValueDepth);
  EXPECT_TRUE(p->is_null());
}

TEST(ValueCodec, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9"));          // é
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));      // €
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x90\xa2"));  // 🐢
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));              // stray continuation
  EXPECT_FALSE(is_valid_utf8("a\xffz"));
  // Long runs of ASCII are checked eight bytes at a time: what follows them still counts.
  const std::string ascii(21, 'a');
  EXPECT_TRUE(is_valid_utf8(ascii));
  EXPECT_TRUE(is_valid_utf8(ascii + "\xe2\x82\xac" + ascii));
  EXPECT_FALSE(is_valid_utf8(ascii + "\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8(ascii + "\xff" + ascii));
  EXPECT_FALSE(is_valid_utf8(ascii.substr(0, 16) + "\x80"));
  // Longer runs are checked thirty-two bytes at a time: a byte anywhere in one of
  // those steps, or in the eight-byte steps and single bytes after them, still counts.
  const std::string run(100, 'a');
  for (std::size_t at = 0; at <= run.size(); ++at) {
    SCOPED_TRACE(at);
    EXPECT_FALSE(is_valid_utf8(run.substr(0, at) + "\xff" + run.substr(at)));
    EXPECT_FALSE(is_valid_utf8(run.substr(0, at) + "\xe2\x82"));
    EXPECT_TRUE(is_valid_utf8(run.substr(0, at) + "\xe2\x82\xac" + run.substr(at)));
  }
  // Four to seven bytes are checked as two overlapping fours: a byte anywhere counts.
  for (std::size_t size = 4; size < 8; ++size) {
    EXPECT_TRUE(is_valid_utf8(std::string(size, 'a')));
    for (std::size_t at = 0; at < size; ++at) {
      SCOPED_TRACE(size * 10 + at);
      std::string text(size, 'a');
      text[at] = '\xff';
      EXPECT_FALSE(is_valid_utf8(text));
    }
  }
}

}  // namespace
}  // namespace datafold::net::detail
