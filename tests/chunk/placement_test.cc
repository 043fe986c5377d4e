// Placement (chunk/placement.h): which volumes take a new chunk.
#include "chunk/placement.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "support/result_matchers.h"

namespace anyfs {
namespace {

TEST(PlacementTest, ParsesAndPrintsEachKindAndRefusesTheRest) {
  EXPECT_EQ(Placement::parse("linear")->to_string(), "linear");
  EXPECT_EQ(Placement::parse("stripe")->to_string(), "stripe");
  EXPECT_EQ(Placement::parse("mirror=3")->copies, 3u);
  EXPECT_EQ(Placement::parse("mirror=3")->to_string(), "mirror=3");
  for (const char* bad : {"", "mirror", "mirror=", "mirror=1", "mirror=9", "mirror=2x", "Stripe", "raid5"})
    EXPECT_FALSE(Placement::parse(bad)) << bad;
}

TEST(PlacementTest, LinearTakesTheFirstVolumeWithRoom) {
  const std::vector<VolumeRoom> rooms = {{true, true}, {false, false}, {true, false}, {true, false}};
  for (int i = 0; i < 20; ++i) {
    auto got = place(sha256(std::to_string(i)), Placement{}, rooms);
    ASSERT_OK(got);
    EXPECT_EQ(*got, std::vector<std::size_t>{2});
  }
}

TEST(PlacementTest, StripeSpreadsOverEveryVolumeWithRoomAndOnlyThose) {
  const std::vector<VolumeRoom> rooms = {{true, false}, {true, true}, {true, false}, {true, false}};
  std::vector<int> count(rooms.size());
  for (int i = 0; i < 3000; ++i) {
    auto got = place(sha256(std::to_string(i)), *Placement::parse("stripe"), rooms);
    ASSERT_OK(got);
    ASSERT_EQ(got->size(), 1u);
    ++count[got->front()];
  }
  EXPECT_EQ(count[1], 0);
  for (std::size_t v : {0u, 2u, 3u}) EXPECT_NEAR(count[v], 1000, 150) << "volume " << v;
  // The same id, the same volume.
  EXPECT_EQ(*place(sha256("x"), *Placement::parse("stripe"), rooms), *place(sha256("x"), *Placement::parse("stripe"), rooms));
}

TEST(PlacementTest, AMirrorUsesDifferentVolumesAndTooFewIsNoSpace) {
  const std::vector<VolumeRoom> rooms = {{true, false}, {true, false}, {true, false}};
  for (int i = 0; i < 100; ++i) {
    auto got = place(sha256(std::to_string(i)), *Placement::parse("mirror=3"), rooms);
    ASSERT_OK(got);
    EXPECT_EQ(std::set<std::size_t>(got->begin(), got->end()).size(), 3u);
  }
  const std::vector<VolumeRoom> one_full = {{true, false}, {true, true}, {true, false}};
  auto short_of_room = place(sha256("y"), *Placement::parse("mirror=3"), one_full);
  ASSERT_ERR(short_of_room, NoSpace);
  EXPECT_NE(short_of_room.error().message.find("needs 3 volumes with room, 2 have"), std::string::npos)
      << short_of_room.error().message;
  EXPECT_ERR(place(sha256("z"), Placement{}, {}), NoSpace);
}

}  // namespace
}  // namespace anyfs
