#include "services/answer_parts.hpp"

#include <algorithm>

namespace datafold::net::detail {

AnswerParts::AnswerParts(Setup setup) : setup_(std::move(setup)), position_(setup_.position) {}

std::size_t AnswerParts::next_rows() const noexcept {
  if (setup_.limit == 0) return setup_.max_part_rows;
  return static_cast<std::size_t>(std::min<std::uint64_t>(setup_.max_part_rows, setup_.limit - rows_made_));
}

QueryResponseMessage AnswerParts::make(QueryPage page) {
  rows_made_ += page.rows;
  const bool limit_reached = setup_.limit != 0 && rows_made_ >= setup_.limit;
  // No progress would loop forever: a page of no rows that claims more is the last.
  const bool more = !page.next_position.empty() && !limit_reached && page.rows > 0;
  QueryResponseMessage part;
  part.message_id = Uuid::random();
  part.query_id = setup_.query_id;
  part.part = next_part_++;
  part.more = more;
  part.result = std::move(page.result);
  // Only the last part says where to continue; in between, the asker just waits.
  if (more) part.result.cursor.clear();
  position_ = std::move(page.next_position);
  over_ = !more;
  return part;
}

ErrorMessage AnswerParts::failure(const NetworkError& error) const {
  ErrorMessage reply;
  reply.message_id = Uuid::random();
  reply.code = error.code == ErrorCode::None ? ErrorCode::QueryFailed : error.code;
  reply.message = error.message;
  reply.related_message_id = setup_.query_id;
  return reply;
}

}  // namespace datafold::net::detail
