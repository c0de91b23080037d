#include "store/json_members.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace datafold::store {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Reads JSON text from the front; each method reads one piece and says whether it was
// well formed, leaving pos() past it. The pieces every member has are always inlined:
// called, they saved and restored registers around each string and space, which was half
// of what reading a short row cost.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  std::size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == text_.size(); }

  [[gnu::always_inline]] void skip_space() {
    // Rows are mostly written without spaces: one test tells most calls there is none.
    if (pos_ < text_.size() && static_cast<unsigned char>(text_[pos_]) > ' ') return;
    std::size_t i = pos_;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) ++i;
    pos_ = i;
  }

  [[gnu::always_inline]] bool eat(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // A string, from its opening quote: what is between its quotes, as written.
  // (Positions are kept in locals while scanning: a member would be reloaded after every
  // byte read, since chars may alias it.)
  [[gnu::always_inline]] std::optional<std::string_view> string() {
    if (!eat('"')) return std::nullopt;
    const char* const data = text_.data();
    const std::size_t size = text_.size();
    const std::size_t start = pos_;
    std::size_t i = start;
    while (i < size) {
      i = skip_plain(data, i, size);
      if (i >= size) break;
      const auto c = static_cast<unsigned char>(data[i]);
      if (c == '"') {
        pos_ = i + 1;
        return std::string_view(data + start, i - start);  // (substr checks its bounds)
      }
      if (c < 0x20) return std::nullopt;
      ++i;
      if (c != '\\') continue;
      if (i >= size) return std::nullopt;
      const char escaped = data[i++];
      if (escaped == 'u') {
        for (int k = 0; k < 4; ++k)
          if (i >= size || !is_hex(data[i++])) return std::nullopt;
      } else if (std::string_view("\"\\/bfnrt").find(escaped) == std::string_view::npos) {
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  // Any value, `depth` containers deep, from its first byte (the space before it
  // skipped). Most members are a string or a number: those are read at once, without
  // the machinery containers need.
  [[gnu::always_inline]] bool value(std::size_t depth) {
    if (pos_ >= text_.size()) return false;
    const char c = text_[pos_];
    if (c == '"') return string().has_value();
    if (c == '-' || is_digit(c)) return number();
    return nested_value(depth);
  }

  // An object member's key and colon: the key as written.
  [[gnu::always_inline]] std::optional<std::string_view> key() {
    skip_space();
    auto name = string();
    if (!name) return std::nullopt;
    skip_space();
    if (!eat(':')) return std::nullopt;
    return name;
  }

 private:
  // From `i` within a string, the first byte at or after it that ends the string's plain
  // run: a quote, a backslash or a control character (or `size`). Many bytes are tested
  // at once: strings are most of a row's bytes.
  [[gnu::always_inline]] static std::size_t skip_plain(const char* data, std::size_t i, std::size_t size) {
#if defined(__SSE2__)
    // Sixteen bytes at once: one compare per kind of byte and a mask.
    for (; i + 16 <= size; i += 16)
      if (const unsigned mask = run_ends(data + i); mask != 0) return i + std::countr_zero(mask);
    if (i < size && size >= 16) {
      // Fewer than sixteen bytes are left: the sixteen that end the text are tested, and
      // the flags of those before `i` (already found plain) are shifted out.
      const std::size_t last = size - 16;
      const unsigned mask = run_ends(data + last) >> (i - last);
      return mask != 0 ? i + std::countr_zero(mask) : size;
    }
#endif
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    for (; i + 8 <= size; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, data + i, 8);
      // A byte's high bit is set where it is zero after the xor (a quote or a backslash)
      // or below 0x20. Each term can also flag bytes after a real match (a borrow runs
      // on), never before one, so the lowest flag is the first byte that ends the run.
      const std::uint64_t quote = word ^ (ones * '"');
      const std::uint64_t backslash = word ^ (ones * '\\');
      const std::uint64_t flags = (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) |
                                   ((word - ones * 0x20) & ~word)) &
                                  highs;
      if (flags != 0) {
        if constexpr (std::endian::native == std::endian::little) return i + std::countr_zero(flags) / 8;
        break;  // big-endian: the bytes are looked at one by one from here
      }
    }
    return i;
  }

#if defined(__SSE2__)
  // Of the sixteen bytes at `p`, a bit (lowest first) for each that ends a plain run.
  [[gnu::always_inline]] static unsigned run_ends(const char* p) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Below 0x20 unsigned: min(byte, 0x1f) == byte.
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1f)), bytes);
    const __m128i quotes = _mm_cmpeq_epi8(bytes, _mm_set1_epi8('"'));
    const __m128i backslashes = _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'));
    return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quotes, backslashes), control)));
  }
#endif

  // An object or array (or a literal), `depth` containers deep: containers inside it are
  // followed with a stack of their openers rather than by recursion, so no row can
  // exhaust the thread's stack.
  bool nested_value(std::size_t depth) {
    std::string open;  // '{' or '[' per container still open
    for (;;) {
      skip_space();
      if (pos_ >= text_.size()) return false;
      const char c = text_[pos_];
      bool complete = true;  // a whole value was read (not just a container's opener)
      if (c == '{' || c == '[') {
        if (depth + open.size() + 1 > kMaxJsonDepth) return false;
        ++pos_;
        skip_space();
        if (!eat(c == '{' ? '}' : ']')) {  // not empty: its first member or element is next
          open.push_back(c);
          if (c == '{' && !member_key()) return false;
          complete = false;
        }
      } else if (c == '"') {
        if (!string()) return false;
      } else if (c == '-' || is_digit(c)) {
        if (!number()) return false;
      } else if (!literal("true") && !literal("false") && !literal("null")) {
        return false;
      }
      if (!complete) continue;
      // After a value: close what it ends, or go on to the next member or element.
      for (;;) {
        if (open.empty()) return true;
        skip_space();
        if (eat(',')) {
          if (open.back() == '{' && !member_key()) return false;
          break;
        }
        if (!eat(open.back() == '{' ? '}' : ']')) return false;
        open.pop_back();
      }
    }
  }

  bool member_key() { return key().has_value(); }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number() {
    eat('-');
    if (eat('0')) {
      if (pos_ < text_.size() && is_digit(text_[pos_])) return false;
    } else if (!digits()) {
      return false;
    }
    if (eat('.') && !digits()) return false;
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      if (!digits()) return false;
    }
    return true;
  }

  bool digits() {
    std::size_t i = pos_;
    while (i < text_.size() && is_digit(text_[i])) ++i;
    const bool any = i > pos_;
    pos_ = i;
    return any;
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

bool json_members(std::string_view text, std::span<const std::string> keys, std::span<std::string_view> found) {
  if (found.size() != keys.size()) return false;
  std::fill(found.begin(), found.end(), std::string_view());
  Scanner in(text);
  in.skip_space();
  if (!in.eat('{')) return false;
  in.skip_space();
  if (!in.eat('}')) {
    // Once every key has its member, the rest of the object is only checked.
    std::size_t unfound = keys.size();
    for (;;) {
      const auto key = in.key();
      if (!key) return false;
      in.skip_space();
      const std::size_t start = in.pos();
      if (!in.value(1)) return false;
      const std::string_view value(text.data() + start, in.pos() - start);
      for (std::size_t i = 0; unfound > 0 && i < keys.size(); ++i) {
        if (found[i].empty() && keys[i] == *key) {
          found[i] = value;
          --unfound;
        }
      }
      in.skip_space();
      if (in.eat(',')) continue;
      if (in.eat('}')) break;
      return false;
    }
  }
  in.skip_space();
  return in.at_end();
}

std::optional<std::vector<std::string_view>> json_members(std::string_view text, std::span<const std::string> keys) {
  std::vector<std::string_view> found(keys.size());
  if (!json_members(text, keys, found)) return std::nullopt;
  return found;
}

}  // namespace datafold::store
