#include "toml_text_check.hpp"

namespace datafold::app {

namespace {

bool is_ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }

}  // namespace

std::optional<std::size_t> first_misplaced_non_ascii(std::string_view text) {
  enum class In { Code, Comment, BasicString, LiteralString, MultiBasicString, MultiLiteralString };
  In in = In::Code;
  std::size_t line = 1;
  std::size_t i = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  auto at = [&](std::string_view token) { return text.substr(i).starts_with(token); };
  // A closing """ or ''' may follow up to two quotes that belong to the string.
  auto skip_closing = [&](char quote) {
    i += 3;
    for (int extra = 0; extra < 2 && i < text.size() && text[i] == quote; ++extra) ++i;
  };

  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') ++line;
    switch (in) {
      case In::Code:
        if (!is_ascii(c)) return line;
        if (c == '#') {
          in = In::Comment;
        } else if (at("\"\"\"")) {
          in = In::MultiBasicString;
          i += 3;
          continue;
        } else if (at("'''")) {
          in = In::MultiLiteralString;
          i += 3;
          continue;
        } else if (c == '"') {
          in = In::BasicString;
        } else if (c == '\'') {
          in = In::LiteralString;
        }
        break;
      case In::Comment:
        if (c == '\n') in = In::Code;
        break;
      case In::BasicString:
      case In::MultiBasicString:
        if (c == '\\') {
          // An escape, or (multi-line) a backslash ending the line after optional blanks.
          ++i;
          while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
          if (i >= text.size()) break;
          if (!is_ascii(text[i])) return line;
          if (text[i] == '\n') ++line;
          ++i;  // the escaped character (an escaped quote does not end the string)
          continue;
        }
        if (in == In::BasicString && (c == '"' || c == '\n')) in = In::Code;
        if (in == In::MultiBasicString && at("\"\"\"")) {
          skip_closing('"');
          in = In::Code;
          continue;
        }
        break;
      case In::LiteralString:
        if (c == '\'' || c == '\n') in = In::Code;
        break;
      case In::MultiLiteralString:
        if (at("'''")) {
          skip_closing('\'');
          in = In::Code;
          continue;
        }
        break;
    }
    ++i;
  }
  return std::nullopt;
}

}  // namespace datafold::app
