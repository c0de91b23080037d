// RoundRobinQueue: work queued by many sources, taken one source at a time in turn,
// so that a source with thousands of items waiting delays another's next item by at
// most one turn per other busy source, not by its whole backlog. The node's handler
// pool takes peers' requests through one, so a well-behaved peer's query is not
// stuck behind a hundred flooders' queues (DESIGN.md section 10.5). A turn is one item
// (pop) or a few (pop_turn): the node answers a peer's waiting requests together, in
// one store transaction and one write, and caps how many a turn may take.
//
// Not thread-safe: the owner locks. Sources are forgotten once they have nothing
// waiting, so memory is bounded by what is queued, and by kSpareQueues emptied queues
// kept for reuse: a peer whose requests are answered as fast as they come empties its
// queue at almost every turn, and making it anew took three allocations a request.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace datafold::net::detail {

template <class Source, class Item, class Hash = std::hash<Source>>
class RoundRobinQueue {
 public:
  static constexpr std::size_t kSpareQueues = 16;

  void push(const Source& source, Item item) {
    auto queue = queues_.find(source);
    if (queue == queues_.end()) {
      if (spares_.empty()) {
        queue = queues_.try_emplace(source).first;
      } else {
        auto node = std::move(spares_.back());
        spares_.pop_back();
        node.key() = source;
        queue = queues_.insert(std::move(node)).position;
      }
      turns_.push_back(source);
    }
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
      forget(queue);
    } else {
      turns_.push_back(source);
    }
    return item;
  }

  // The next source's oldest items, at most `max_items` (at least one), appended to
  // `out` in order; the source then waits for every other one's turn. Returns how many.
  template <class Out>
  std::size_t pop_turn(std::size_t max_items, Out& out) {
    if (turns_.empty()) return 0;
    const Source source = std::move(turns_.front());
    turns_.pop_front();
    auto queue = queues_.find(source);
    auto& items = queue->second;
    const std::size_t taken = std::min(std::max<std::size_t>(max_items, 1), items.size());
    for (std::size_t i = 0; i < taken; ++i) {
      out.push_back(std::move(items.front()));
      items.pop_front();
    }
    size_ -= taken;
    if (items.empty()) {
      forget(queue);
    } else {
      turns_.push_back(source);
    }
    return taken;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t sources() const noexcept { return queues_.size(); }

 private:
  using Queues = std::unordered_map<Source, std::deque<Item>, Hash>;

  // The source goes; its emptied queue (map node, deque and its block) is kept for the
  // next source, up to kSpareQueues.
  void forget(typename Queues::iterator queue) {
    if (spares_.size() < kSpareQueues) {
      spares_.push_back(queues_.extract(queue));
    } else {
      queues_.erase(queue);
    }
  }

  Queues queues_;
  std::vector<typename Queues::node_type> spares_;
  std::deque<Source> turns_;  // each source with items waiting, once, in turn order
  std::size_t size_ = 0;
};

}  // namespace datafold::net::detail
