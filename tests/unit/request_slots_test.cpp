// RequestSlots: the slots requests travel in to the handler pool are reused, emptied
// of what their last request held, and kept only up to a burst's worth.
#include "node/peer_work.hpp"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

TEST(RequestSlots, ASlotGivenBackIsTheNextTakenRatherThanANewOne) {
  RequestSlots slots;
  auto first = slots.take();
  IncomingRequest* const address = first.get();
  slots.give_back(std::move(first));
  EXPECT_EQ(slots.spare(), 1u);
  EXPECT_EQ(slots.take().get(), address);
  EXPECT_EQ(slots.spare(), 0u);
}

TEST(RequestSlots, ClearingLetsGoOfTheConnectionAndOfWhatTheQueryHeld) {
  // A stand-in owner counts the slot's hold on "the connection" (never dereferenced).
  auto owner = std::make_shared<int>(0);
  IncomingRequest request;
  request.connection = std::shared_ptr<TlsConnection>(owner, static_cast<TlsConnection*>(nullptr));
  QueryMessage query;
  query.query.schema_name = std::string(1000, 's');
  query.query.fields.assign(100, std::string(100, 'f'));
  request.message = std::move(query);
  request.in_parts = true;
  EXPECT_EQ(owner.use_count(), 2);

  request.clear();
  EXPECT_EQ(owner.use_count(), 1) << "an idle slot must not keep a closed connection alive";
  EXPECT_FALSE(std::holds_alternative<QueryMessage>(request.message));
}

TEST(RequestSlots, NoMoreThanABurstsWorthIsKept) {
  RequestSlots slots;
  std::vector<std::unique_ptr<IncomingRequest>> taken;
  for (std::size_t i = 0; i < RequestSlots::kMaxSpare + 10; ++i) taken.push_back(slots.take());
  for (auto& slot : taken) slots.give_back(std::move(slot));
  EXPECT_EQ(slots.spare(), RequestSlots::kMaxSpare);
  slots.give_back(nullptr);
  EXPECT_EQ(slots.spare(), RequestSlots::kMaxSpare);
}

}  // namespace
}  // namespace datafold::net::detail
