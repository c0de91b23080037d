// What reading a field out of a stored row costs the store (json_members, one pass over
// the row's JSON text): a row of the sample's UserProfile, short strings only, and a row
// whose text is mostly one long string, as a row with a description or a note is.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "store/json_members.hpp"

namespace {

void read_username(benchmark::State& state, const std::string& row) {
  const std::vector<std::string> keys = {"username"};
  for (auto _ : state) benchmark::DoNotOptimize(datafold::store::json_members(row, keys));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * row.size()));
}

void BM_JsonMembersSampleRow(benchmark::State& state) {
  read_username(state, R"({"display_name":"Alice Liddell","email":"alice@example.org","phone":"+1-555-0100","username":"alice"})");
}
BENCHMARK(BM_JsonMembersSampleRow);

void BM_JsonMembersLongText(benchmark::State& state) {
  std::string note;
  while (note.size() < 1000) note += "a note of plain words, as people write them. ";
  read_username(state, R"({"note":")" + note + R"(","username":"alice"})");
}
BENCHMARK(BM_JsonMembersLongText);

}  // namespace
