// VolumeFile (meta/volume_file.h): a volume names its pool and every volume of
// it; a foreign, misplaced or stale volume is refused naming the file; chunks
// committed on it stay, chunks rolled back do not.
#include "meta/volume_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "anyfs/pool.h"
#include "support/raw_chunk.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs {
namespace {

using testing::TempDir;
using testing::raw_chunk;

class VolumeFileTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name = "a.vol") const { return dir_.str() + "/" + name; }
  VolumeLabel label(const std::string& volume = "vol-a", std::uint64_t sequence = 1) const {
    return VolumeLabel{"pool-1", volume, sequence,
                       {{"vol-a", path("a.vol"), 0}, {"vol-b", path("b.vol"), 1 << 30}}};
  }
  std::unique_ptr<VolumeFile> create(const std::string& name = "a.vol", const VolumeLabel* with = nullptr) {
    const VolumeLabel l = with ? *with : label();
    auto made = VolumeFile::create(path(name), l, 16384, true);
    EXPECT_OK(made);
    return made ? std::move(*made) : nullptr;
  }
  TempDir dir_;
};

TEST_F(VolumeFileTest, ACreatedVolumeOpensWithItsLabel) {
  create().reset();
  auto volume = VolumeFile::open(path(), false);
  ASSERT_OK(volume);
  EXPECT_EQ((*volume)->label(), label());
  EXPECT_EQ((*volume)->label().volumes[1].cap_bytes, 1u << 30);
  EXPECT_OK((*volume)->check_belongs("pool-1", "vol-a", 1));
}

TEST_F(VolumeFileTest, AVolumeOfAnotherPoolIsRefusedNamingTheFile) {
  auto volume = create();
  auto r = volume->check_belongs("pool-2", "vol-a", 1);
  ASSERT_ERR(r, InvalidArgument);
  EXPECT_EQ(r.error().path, path());
  EXPECT_NE(r.error().message.find("another pool (pool-1)"), std::string::npos) << r.error().message;
}

TEST_F(VolumeFileTest, AnotherVolumeOfThisPoolInItsPlaceIsRefused) {
  auto volume = create();
  auto r = volume->check_belongs("pool-1", "vol-b", 1);
  ASSERT_ERR(r, InvalidArgument);
  EXPECT_NE(r.error().message.find("vol-a"), std::string::npos) << r.error().message;
}

TEST_F(VolumeFileTest, AStaleVolumeIsRefusedAndANewerLabelMakesItCurrent) {
  auto volume = create();
  auto r = volume->check_belongs("pool-1", "vol-a", 2);
  ASSERT_ERR(r, InvalidArgument);
  EXPECT_NE(r.error().message.find("stale"), std::string::npos) << r.error().message;
  VolumeLabel newer = label("vol-a", 2);
  newer.volumes.push_back({"vol-c", path("c.vol"), 0});
  ASSERT_OK(volume->write_label(newer));
  EXPECT_OK(volume->check_belongs("pool-1", "vol-a", 2));
  volume.reset();
  auto again = VolumeFile::open(path(), true);
  ASSERT_OK(again);
  EXPECT_EQ((*again)->label(), newer);
}

TEST_F(VolumeFileTest, ALabelMustBeNewerAndKeepWhoseItIs) {
  auto volume = create();
  EXPECT_ERR(volume->write_label(label("vol-a", 1)), InvalidArgument);  // not newer
  VolumeLabel other = label("vol-a", 5);
  other.pool_uuid = "pool-2";
  EXPECT_ERR(volume->write_label(other), InvalidArgument);
  VolumeLabel moved = label("vol-b", 5);
  EXPECT_ERR(volume->write_label(moved), InvalidArgument);
  VolumeLabel missing = label("vol-a", 5);
  missing.volumes.erase(missing.volumes.begin());  // the list lacks the volume itself
  EXPECT_ERR(volume->write_label(missing), InvalidArgument);
  EXPECT_EQ(volume->label(), label());
}

TEST_F(VolumeFileTest, CreateRefusesAFileThereAndALabelWithoutTheVolume) {
  create().reset();
  EXPECT_ERR(VolumeFile::create(path(), label(), 16384, true), Exists);
  VolumeLabel missing = label("vol-z");
  EXPECT_ERR(VolumeFile::create(path("z.vol"), missing, 16384, true), InvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path("z.vol")));
}

TEST_F(VolumeFileTest, APoolFileOrAnyOtherFileIsNotAVolume) {
  ASSERT_OK(Pool::create(path("p.anyfs"), {}));
  auto pool_file = VolumeFile::open(path("p.anyfs"), true);
  ASSERT_ERR(pool_file, Corrupt);
  EXPECT_EQ(pool_file.error().path, path("p.anyfs"));
  EXPECT_NE(pool_file.error().message.find("not an AnyFS volume"), std::string::npos);
  std::ofstream(path("text.vol")) << "just some text, not a database at all, long enough to be read\n";
  EXPECT_FALSE(VolumeFile::open(path("text.vol"), true));
  EXPECT_ERR(VolumeFile::open(path("absent.vol"), true), NotFound);
}

TEST_F(VolumeFileTest, CommittedChunksStayAndRolledBackOnesDoNot) {
  auto volume = create();
  ASSERT_OK(volume->begin());
  ASSERT_OK(volume->chunks().put(sha256("kept"), raw_chunk("kept")));
  ASSERT_OK(volume->commit());
  ASSERT_OK(volume->begin());
  ASSERT_OK(volume->chunks().put(sha256("dropped"), raw_chunk("dropped")));
  ASSERT_OK(volume->rollback());
  volume.reset();
  auto again = VolumeFile::open(path(), true);
  ASSERT_OK(again);
  auto kept = load_chunk((*again)->chunks(), sha256("kept"));
  ASSERT_OK(kept);
  EXPECT_EQ(*kept, "kept");
  EXPECT_FALSE(*(*again)->chunks().has(sha256("dropped")));
  EXPECT_GT(*(*again)->size_bytes(), 0u);
}

}  // namespace
}  // namespace anyfs
