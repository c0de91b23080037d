// AnswerParts: the parts of one answer to a query answered in parts (PROTOCOL.md 7.8),
// in order: how many rows the next may hold, which part is the last, and what each
// part says. No threads, no sending: AnswerStream paces the parts, and the node makes
// the first one itself, so that an answer of one part (most are) needs no stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "datafold/net/error.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/query_service.hpp"

namespace datafold::net::detail {

class AnswerParts {
 public:
  struct Setup {
    Uuid query_id;
    std::uint32_t limit = 0;  // rows in the whole answer; 0: all
    std::string position;     // where the answer starts
    std::size_t max_part_rows = QueryService::kMaxPartRows;
  };

  explicit AnswerParts(Setup setup);

  // Where the next part starts, and the most rows it may hold.
  const std::string& position() const noexcept { return position_; }
  std::size_t next_rows() const noexcept;

  // The next part, made of the page read for it at position(). The last one says
  // more == false, and only it carries the page's cursor.
  QueryResponseMessage make(QueryPage page);
  // Whether the last part has been made.
  bool over() const noexcept { return over_; }
  std::uint32_t made() const noexcept { return next_part_; }

  // The Error that ends the answer early, sent as the request's reply.
  ErrorMessage failure(const NetworkError& error) const;

 private:
  const Setup setup_;
  std::string position_;
  std::uint64_t rows_made_ = 0;
  std::uint32_t next_part_ = 0;
  bool over_ = false;
};

}  // namespace datafold::net::detail
