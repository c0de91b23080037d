// RoundRobinQueue: work queued by many sources, taken one source at a time in turn,
// so that a source with thousands of items waiting delays another's next item by at
// most one item per other busy source, not by its whole backlog. The node's handler
// pool takes peers' requests through one, so a well-behaved peer's query is not
// stuck behind a hundred flooders' queues (DESIGN.md section 10.5).
//
// Not thread-safe: the owner locks. Sources are forgotten once they have nothing
// waiting, so memory is bounded by what is queued.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>

namespace datafold::net::detail {

template <class Source, class Item, class Hash = std::hash<Source>>
class RoundRobinQueue {
 public:
  void push(const Source& source, Item item) {
    auto [queue, fresh] = queues_.try_emplace(source);
    if (fresh || queue->second.empty()) turns_.push_back(source);
    queue->second.push_back(std::move(item));
    ++size_;
  }

  // The next source's oldest item; that source then waits for every other one's turn.
  std::optional<Item> pop() {
    if (turns_.empty()) return std::nullopt;
    const Source source = std::move(turns_.front());
    turns_.pop_front();
    auto queue = queues_.find(source);
    Item item = std::move(queue->second.front());
    queue->second.pop_front();
    --size_;
    if (queue->second.empty()) {
      queues_.erase(queue);
    } else {
      turns_.push_back(source);
    }
    return item;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t sources() const noexcept { return queues_.size(); }

 private:
  std::unordered_map<Source, std::deque<Item>, Hash> queues_;
  std::deque<Source> turns_;  // each source with items waiting, once, in turn order
  std::size_t size_ = 0;
};

}  // namespace datafold::net::detail
