// What every query pays at the replay check: remembering a fresh id in a cache that
// is full (the steady state under load, where each new id pushes out the oldest).
// BM_OrderedSetReplay is what the cache used to be (an ordered set of ids beside an
// age queue), kept as the baseline the flat table is measured against.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <set>
#include <utility>
#include <vector>

#include "datafold/net/query_service.hpp"
#include "datafold/net/uuid.hpp"
#include "services/replay_cache.hpp"

namespace {

using datafold::net::QueryService;
using datafold::net::Uuid;

constexpr std::size_t kCapacity = QueryService::kReplayCacheCapacity;

std::vector<Uuid> fresh_ids(std::size_t n) {
  std::vector<Uuid> ids(n);
  for (auto& id : ids) id = Uuid::random();
  return ids;
}

void BM_ReplayCacheRemember(benchmark::State& state) {
  datafold::net::detail::ReplayCache cache(QueryService::kReplayRetention, kCapacity);
  const auto ids = fresh_ids(kCapacity * 4);
  std::size_t i = 0;
  for (; i < kCapacity; ++i) cache.remember(ids[i], 0);  // full before the timing starts
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.remember(ids[i], 0));
    if (++i == ids.size()) i = 0;  // ids seen long ago are forgotten by now
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReplayCacheRemember);

void BM_OrderedSetReplay(benchmark::State& state) {
  std::set<Uuid> ids_seen;
  std::deque<Uuid> by_age;
  const auto remember = [&](const Uuid& id) {
    if (ids_seen.contains(id)) return false;
    if (ids_seen.size() >= kCapacity) {
      ids_seen.erase(by_age.front());
      by_age.pop_front();
    }
    ids_seen.insert(id);
    by_age.push_back(id);
    return true;
  };
  const auto ids = fresh_ids(kCapacity * 4);
  std::size_t i = 0;
  for (; i < kCapacity; ++i) remember(ids[i]);
  for (auto _ : state) {
    benchmark::DoNotOptimize(remember(ids[i]));
    if (++i == ids.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrderedSetReplay);

}  // namespace
