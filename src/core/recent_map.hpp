// RecentMap: a map that holds at most `capacity` keys, forgetting the least
// recently touched first. For memories fed by the network (what a DHT reader has
// verified, per instance or per node), whose size a stranger must not decide.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <list>
#include <unordered_map>
#include <utility>

namespace datafold::net::detail {

template <typename Key, typename Value>
class RecentMap {
 public:
  explicit RecentMap(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

  // The value under `key`, or null; does not count as a touch.
  const Value* find(const Key& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.value;
  }

  // The value under `key` (default-made if new, forgetting the least recently
  // touched key when full), now the most recently touched.
  Value& touch(const Key& key) {
    if (auto it = entries_.find(key); it != entries_.end()) {
      order_.splice(order_.begin(), order_, it->second.position);
      return it->second.value;
    }
    if (entries_.size() >= capacity_) {
      entries_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(key);
    return entries_.emplace(key, Entry{Value{}, order_.begin()}).first->second.value;
  }

  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    Value value;
    typename std::list<Key>::iterator position;
  };
  std::size_t capacity_;
  std::unordered_map<Key, Entry> entries_;
  std::list<Key> order_;  // most recently touched first
};

}  // namespace datafold::net::detail
