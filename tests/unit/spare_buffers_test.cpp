#include "core/spare_buffers.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace datafold::net::detail {
namespace {

SpareBuffers::Buffer buffer_of(std::size_t capacity) {
  return {std::make_unique<std::uint8_t[]>(capacity), capacity};
}

TEST(SpareBuffers, NothingKeptGivesNothing) {
  SpareBuffers spares;
  EXPECT_EQ(spares.take(1).bytes, nullptr);
}

TEST(SpareBuffers, GivesBackABufferAtLeastAsLargeAsAsked) {
  SpareBuffers spares;
  auto given = buffer_of(16 * 1024);
  const auto* memory = given.bytes.get();
  spares.give(std::move(given));
  auto taken = spares.take(100);
  EXPECT_EQ(taken.bytes.get(), memory);
  EXPECT_EQ(taken.capacity, 16u * 1024);
  EXPECT_EQ(spares.kept(), 0u);
}

TEST(SpareBuffers, KeepsASmallerBufferWhenALargerOneIsAsked) {
  SpareBuffers spares;
  spares.give(buffer_of(1024));
  EXPECT_EQ(spares.take(2048).bytes, nullptr);
  EXPECT_EQ(spares.kept(), 1u);
}

TEST(SpareBuffers, PicksAKeptBufferThatFits) {
  SpareBuffers spares;
  spares.give(buffer_of(1024));
  spares.give(buffer_of(16 * 1024));
  spares.give(buffer_of(512));
  EXPECT_EQ(spares.take(4096).capacity, 16u * 1024);
  EXPECT_EQ(spares.kept(), 2u);
  EXPECT_EQ(spares.take(1000).capacity, 1024u);
  EXPECT_EQ(spares.take(1).capacity, 512u);
  EXPECT_EQ(spares.kept(), 0u);
}

TEST(SpareBuffers, KeepsAtMostItsBoundAndNothingLarge) {
  SpareBuffers spares;
  spares.give(buffer_of(SpareBuffers::kMaxBytes + 1));
  EXPECT_EQ(spares.kept(), 0u);
  for (std::size_t i = 0; i < SpareBuffers::kMaxKept + 3; ++i) spares.give(buffer_of(SpareBuffers::kMaxBytes));
  EXPECT_EQ(spares.kept(), SpareBuffers::kMaxKept);
  spares.give({});  // nothing to keep
  EXPECT_EQ(spares.kept(), SpareBuffers::kMaxKept);
}

TEST(SpareBuffers, EachThreadHasItsOwn) {
  auto& mine = SpareBuffers::of_this_thread();
  while (mine.take(0).bytes) {
  }  // whatever earlier tests on this thread left
  mine.give(buffer_of(4096));
  std::size_t kept_elsewhere = 1;
  std::thread([&] { kept_elsewhere = SpareBuffers::of_this_thread().kept(); }).join();
  EXPECT_EQ(kept_elsewhere, 0u);
  EXPECT_NE(mine.take(4096).bytes, nullptr);
}

}  // namespace
}  // namespace datafold::net::detail
