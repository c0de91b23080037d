// The median of several rounds of one bench shape. On a shared machine whose speed
// drifts by tens of percent within a minute, one run's ratio against a floor measured
// a few seconds later says little; the median of ratios each measured side by side,
// round after round, says more (`datafold bench --rounds`).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

namespace datafold::bench {

// `rounds`: objects of one shape, each {key: {field: value, ...}, ...} as a bench run
// prints them (key "node", "tls_floor", "vs_tls", ...; fields as LoadReport::to_json and
// compare() write). Returns, for every key of the first round whose value is an object,
// that object with each numeric field replaced by its median over the rounds where it
// is a number (the mean of the middle two for an even count, rounded when every value
// is an integer; null where no round has a number), except "errors", which is the sum, so a median never hides a failed round.
// Other fields are the first round's. Keys whose values are not objects are left out.
nlohmann::ordered_json median_of_rounds(const std::vector<nlohmann::ordered_json>& rounds);

}  // namespace datafold::bench
