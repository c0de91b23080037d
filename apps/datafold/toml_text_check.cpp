#include "toml_text_check.hpp"

namespace datafold::app {

std::optional<std::size_t> first_non_ascii_outside_comments(std::string_view text) {
  // Strings are tracked only so that a '#' inside one is not taken for a comment.
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
    if (static_cast<unsigned char>(c) >= 0x80 && in != In::Comment) return line;
    if (c == '\n') ++line;
    switch (in) {
      case In::Code:
        if (c == '#') {
          in = In::Comment;
        } else if (at("\"\"\"") || at("'''")) {
          in = c == '"' ? In::MultiBasicString : In::MultiLiteralString;
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
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;  // an escaped quote or backslash does not end the string; a newline is counted above
        } else if (in == In::BasicString && (c == '"' || c == '\n')) {
          in = In::Code;
        } else if (in == In::MultiBasicString && at("\"\"\"")) {
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
