// Pools of volume files through the C++ API (issue 17): a single-file pool
// turned into one of volumes keeps what it stored; linear, stripe and mirror
// placement put chunks where they say; a mirror reads the good copy when one
// is damaged; a missing, foreign or stale volume stops the open naming it.
#include <gtest/gtest.h>

#include <filesystem>

#include "anyfs/pool.h"
#include "support/must.h"
#include "support/random_bytes.h"
#include "support/raw_sql.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

class VolumePoolTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name = "p.anyfs") const { return dir_.str() + "/" + name; }
  std::shared_ptr<Pool> create(std::vector<VolumeSpec> volumes, std::string placement = "linear",
                               std::string compression = "off") {
    PoolCreateOptions o;
    o.volumes = std::move(volumes);
    o.properties = {{"placement", placement}, {"compression", compression}};
    return must(Pool::create(path(), o));
  }
  std::shared_ptr<Pool> open(bool read_only = false) {
    PoolOpenOptions o;
    o.read_only = read_only;
    o.cache_bytes = 0;  // every read reaches the volumes
    return must(Pool::open(path(), o));
  }
  std::uint64_t total_chunks(const std::vector<VolumeStatus>& volumes) {
    std::uint64_t n = 0;
    for (const auto& v : volumes) n += v.chunks;
    return n;
  }
  TempDir dir_;
};

TEST_F(VolumePoolTest, AddingAVolumeKeepsWhatTheSingleFileHoldsAndNewChunksGoToTheVolume) {
  const std::string before = random_bytes(600'000, 1), after = random_bytes(600'000, 2);
  {
    auto pool = create({});
    EXPECT_TRUE(must(pool->volumes()).empty());
    ASSERT_OK(must(pool->dataset())->write_file("/before", before));
    ASSERT_OK(pool->sync());
    const auto added = pool->add_volume({path("v1.vol"), 0});
    ASSERT_OK(added);
    EXPECT_EQ(added->path, path("v1.vol"));
    ASSERT_OK(must(pool->dataset())->write_file("/after", after));
    ASSERT_OK(pool->close());
  }
  auto pool = open();
  auto fs = must(pool->dataset());
  EXPECT_TRUE(must(fs->read_file("/before")) == before);
  EXPECT_TRUE(must(fs->read_file("/after")) == after);
  const auto volumes = must(pool->volumes());
  ASSERT_EQ(volumes.size(), 1u);
  EXPECT_GE(volumes[0].chunks, 3u);  // /after's chunks, and none of /before's
  EXPECT_EQ(raw_sql_int(path("v1.vol"), "SELECT count(*) FROM chunks"), static_cast<std::int64_t>(volumes[0].chunks));
  EXPECT_TRUE(must(pool->verify()).ok());
}

TEST_F(VolumePoolTest, StripeSpreadsChunksOverEveryVolumeAndAllReadBack) {
  const std::string data = random_bytes(4 << 20, 3);
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}, {path("c.vol")}}, "stripe");
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  auto pool = open(true);
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
  const auto volumes = must(pool->volumes());
  ASSERT_EQ(volumes.size(), 3u);
  for (const auto& v : volumes) EXPECT_GT(v.chunks, 5u) << v.path;  // ~64 chunks by three
  EXPECT_EQ(total_chunks(volumes), must(pool->stats()).chunks);
}

TEST_F(VolumePoolTest, LinearFillsTheFirstVolumeToItsCapThenTheNext) {
  const std::string data = random_bytes(3 << 20, 4);
  {
    auto pool = create({{path("a.vol"), 1 << 20}, {path("b.vol"), 0}});
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  auto pool = open();
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
  const auto volumes = must(pool->volumes());
  ASSERT_EQ(volumes.size(), 2u);
  EXPECT_GT(volumes[0].chunks, 0u);
  EXPECT_GT(volumes[1].chunks, volumes[0].chunks);  // a third fits in the first, the rest in the second
  EXPECT_LE(raw_sql_int(path("a.vol"), "SELECT sum(length(data)) FROM chunks"), 1 << 20);
}

// A chunk freed and then written again (the same bytes) while its old copy
// waits out the grace period keeps that copy: the records name it again
// (found by the power-cut sweep of the large-file workload on volumes).
TEST_F(VolumePoolTest, BytesWrittenAgainWithinTheGracePeriodKeepTheirCopy) {
  const std::string data = random_bytes(1 << 20, 17);
  {
    auto pool = create({{path("a.vol")}});
    auto fs = must(pool->dataset());
    ASSERT_OK(fs->write_file("/x", data));
    ASSERT_OK(pool->sync());
    ASSERT_OK(fs->remove("/x"));
    ASSERT_OK(pool->sync());
    ASSERT_OK(fs->write_file("/y", data));
    ASSERT_OK(pool->close());  // the doomed copies go now
  }
  auto pool = open();
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/y")) == data);
  EXPECT_TRUE(must(pool->verify()).ok());
}

// Every volume at its cap: the write that does not fit fails with NoSpace
// (the pool stops, as on any full disk); what was synced before stays whole.
TEST_F(VolumePoolTest, WhenEveryVolumeIsFullWritesFailWithNoSpaceAndNothingAcknowledgedIsLost) {
  const std::string kept = random_bytes(600'000, 15);
  {
    auto pool = create({{path("a.vol"), 1 << 20}, {path("b.vol"), 1 << 20}}, "stripe");
    auto fs = must(pool->dataset());
    ASSERT_OK(fs->write_file("/kept", kept));
    ASSERT_OK(pool->sync());
    auto big = fs->write_file("/big", random_bytes(4 << 20, 16));
    auto synced = big ? pool->sync() : Result<void>(std::unexpected(big.error()));
    ASSERT_ERR(synced, NoSpace);
    (void)pool->close();
  }
  auto pool = open();
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/kept")) == kept);
  EXPECT_TRUE(must(pool->verify()).ok());
  for (const VolumeStatus& v : must(pool->volumes()))
    EXPECT_LE(raw_sql_int(v.path, "SELECT sum(length(data)) FROM chunks"), 1 << 20) << v.path;
}

TEST_F(VolumePoolTest, AMirrorReadsTheGoodCopyWhenOneVolumeHasRotted) {
  const std::string data = random_bytes(1 << 20, 5);
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}}, "mirror=2");
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    // Each chunk counted once in the figures; both copies in the bytes on disk.
    const PoolStats s = must(pool->stats());
    EXPECT_EQ(s.chunk_raw_bytes, data.size());
    EXPECT_DOUBLE_EQ(s.compression_ratio(), 1.0);
    EXPECT_GT(s.file_bytes, 2 * data.size());
    EXPECT_EQ(must(pool->volumes())[0].chunks, s.chunks);
    ASSERT_OK(pool->close());
  }
  EXPECT_EQ(raw_sql_int(path("a.vol"), "SELECT count(*) FROM chunks"),
            raw_sql_int(path("b.vol"), "SELECT count(*) FROM chunks"));
  // Every chunk on the first volume damaged (the pages stay sound: only the chunks' own checksums can tell).
  raw_sql(path("a.vol"), "UPDATE chunks SET data = randomblob(length(data))");
  auto pool = open();
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
}

TEST_F(VolumePoolTest, AnUnmirroredChunkThatRottedIsCorruptNotWrongBytes) {
  {
    auto pool = create({{path("a.vol")}});
    ASSERT_OK(must(pool->dataset())->write_file("/f", random_bytes(300'000, 6)));
    ASSERT_OK(pool->close());
  }
  raw_sql(path("a.vol"), "UPDATE chunks SET data = randomblob(length(data))");
  auto pool = open();
  EXPECT_ERR(must(pool->dataset())->read_file("/f"), Corrupt);
}

TEST_F(VolumePoolTest, TooFewVolumesForTheMirrorIsNoSpace) {
  auto pool = create({{path("a.vol")}}, "mirror=2");
  ASSERT_OK(must(pool->dataset())->write_file("/f", random_bytes(300'000, 7)));
  EXPECT_ERR(pool->sync(), NoSpace);
}

TEST_F(VolumePoolTest, AMissingVolumeWithTheOnlyCopiesOpensReadOnlyAndFaultedNamingIt) {
  const std::string data = random_bytes(1 << 20, 10);
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}}, "stripe");
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  std::filesystem::rename(path("b.vol"), path("b.away"));
  auto pool = open();
  EXPECT_TRUE(pool->read_only());
  const PoolHealth h = must(pool->health());
  EXPECT_EQ(h.state, "FAULTED");
  EXPECT_GT(h.chunks_without_copy, 0u);
  EXPECT_NE(h.reason.find(path("b.vol")), std::string::npos) << h.reason;
  ASSERT_EQ(h.volumes.size(), 2u);
  EXPECT_EQ(h.volumes[0].state, "online");
  EXPECT_EQ(h.volumes[1].state, "faulted");
  EXPECT_NE(h.volumes[1].fault.find("missing"), std::string::npos) << h.volumes[1].fault;
  // Never wrong bytes: a read of the file fails naming the volume; a write is refused saying why.
  auto fs = must(pool->dataset());
  auto read = fs->read_file("/f");
  ASSERT_ERR(read, Io);
  EXPECT_EQ(read.error().path, path("b.vol"));
  auto write = fs->write_file("/g", "x");
  ASSERT_ERR(write, ReadOnly);
  EXPECT_NE(write.error().message.find("b.vol"), std::string::npos) << write.error().message;
  ASSERT_OK(pool->close());
  // Back in its place, the pool is whole again.
  std::filesystem::rename(path("b.away"), path("b.vol"));
  auto back = open();
  EXPECT_FALSE(back->read_only());
  EXPECT_EQ(must(back->health()).state, "ONLINE");
  EXPECT_TRUE(must(must(back->dataset())->read_file("/f")) == data);
}

TEST_F(VolumePoolTest, AMirrorWithAVolumeMissingOpensDegradedAndReadsAndWritesOn) {
  const std::string data = random_bytes(1 << 20, 11), more = random_bytes(300'000, 12);
  {
    auto pool = create({{path("a.vol")}, {path("b.vol")}, {path("c.vol")}}, "mirror=2");
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  std::filesystem::remove(path("c.vol"));
  {
    auto pool = open();
    EXPECT_FALSE(pool->read_only());
    const PoolHealth h = must(pool->health());
    EXPECT_EQ(h.state, "DEGRADED");
    EXPECT_EQ(h.chunks_without_copy, 0u);
    auto fs = must(pool->dataset());
    EXPECT_TRUE(must(fs->read_file("/f")) == data);
    // Two usable volumes still meet mirror=2: new chunks go to both.
    ASSERT_OK(fs->write_file("/g", more));
    ASSERT_OK(pool->sync());
    EXPECT_TRUE(must(fs->read_file("/g")) == more);
    ASSERT_OK(pool->close());
  }
  // With b gone too, chunks whose copies were on b and c have none: read-only, saying so; reads go on.
  std::filesystem::remove(path("b.vol"));
  auto pool = open();
  EXPECT_TRUE(pool->read_only());
  const PoolHealth h = must(pool->health());
  EXPECT_EQ(h.state, "FAULTED");
  EXPECT_NE(h.reason.find("no other copy"), std::string::npos) << h.reason;
  auto fs = must(pool->dataset());
  EXPECT_TRUE(must(fs->read_file("/g")) == more);  // written to a and b
}

// A volume file cut short (a copy interrupted, a full disk at the copy's
// end) or emptied: the mirror reads every byte from the other copies, the
// volume is faulted or its errors counted and named, and scrub puts back
// what it lacks. Never wrong bytes, never a crash.
TEST_F(VolumePoolTest, ATruncatedOrEmptiedMirrorVolumeIsReadAroundAndNamed) {
  const std::string data = random_bytes(3 << 20, 21);
  for (const std::uintmax_t keep : {std::uintmax_t{0}, std::uintmax_t{4096}, std::uintmax_t{1} << 20}) {
    SCOPED_TRACE(keep);
    std::filesystem::remove_all(dir_.str());
    std::filesystem::create_directories(dir_.str());
    {
      auto pool = create({{path("a.vol")}, {path("b.vol")}}, "mirror=2");
      ASSERT_OK(must(pool->dataset())->write_file("/f", data));
      ASSERT_OK(pool->close());
    }
    std::filesystem::resize_file(path("b.vol"), keep);
    auto pool = open();
    auto fs = must(pool->dataset());
    EXPECT_TRUE(must(fs->read_file("/f")) == data);
    const PoolHealth h = must(pool->health());
    const VolumeStatus& b = h.volumes.at(1);
    if (b.state == "faulted") {
      EXPECT_EQ(h.state, "DEGRADED");
      EXPECT_EQ(b.path, path("b.vol"));
      EXPECT_NE(b.fault.find(keep == 0 ? "empty" : "damaged or cut short"), std::string::npos) << b.fault;
      continue;  // named and set aside: nothing more to check on it
    }
    // Opened: its pages past the cut are missing, so its copies there fail.
    EXPECT_GT(b.read_errors + b.checksum_errors, 0u);
    if (pool->read_only()) continue;
    const ScrubReport r = must(pool->scrub({}));
    EXPECT_EQ(r.lost, 0u);
    EXPECT_TRUE(must(fs->read_file("/f")) == data);
  }
}

TEST_F(VolumePoolTest, AMirrorLeftShortOfVolumesOpensReadOnlySayingWhy) {
  create({{path("a.vol")}, {path("b.vol")}}, "mirror=2")->close();
  std::filesystem::remove(path("b.vol"));
  auto pool = open();
  EXPECT_TRUE(pool->read_only());
  const PoolHealth h = must(pool->health());
  EXPECT_EQ(h.state, "DEGRADED");
  EXPECT_NE(h.reason.find("mirror=2 needs 2 usable volumes (1 left)"), std::string::npos) << h.reason;
  auto write = must(pool->dataset())->write_file("/f", "x");
  ASSERT_ERR(write, ReadOnly);
  EXPECT_NE(write.error().message.find("mirror=2"), std::string::npos) << write.error().message;
}

TEST_F(VolumePoolTest, AVolumeOfAnotherPoolInItsPlaceIsRefused) {
  create({{path("a.vol")}})->close();
  {
    PoolCreateOptions o;
    o.volumes = {{path("other.vol")}};
    must(Pool::create(path("other.anyfs"), o))->close();
  }
  std::filesystem::rename(path("other.vol"), path("a.vol"));
  auto pool = open();
  EXPECT_TRUE(pool->read_only());  // no usable volume left for new chunks
  const auto volumes = must(pool->volumes());
  ASSERT_EQ(volumes.size(), 1u);
  EXPECT_EQ(volumes[0].state, "faulted");
  EXPECT_NE(volumes[0].fault.find("another pool"), std::string::npos) << volumes[0].fault;
}

TEST_F(VolumePoolTest, AStaleVolumeIsRefused) {
  const std::string data = random_bytes(400'000, 13);
  {
    auto pool = create({{path("a.vol")}});
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  std::filesystem::copy_file(path("a.vol"), path("a.old"));
  {
    auto pool = open();
    ASSERT_OK(pool->add_volume({path("b.vol")}));  // the list moves on; a.vol's label with it
    ASSERT_OK(pool->close());
  }
  std::filesystem::rename(path("a.old"), path("a.vol"));  // an old copy back in its place
  auto pool = open();
  EXPECT_TRUE(pool->read_only());
  const auto volumes = must(pool->volumes());
  EXPECT_NE(volumes[0].fault.find("stale"), std::string::npos) << volumes[0].fault;
  EXPECT_ERR(must(pool->dataset())->read_file("/f"), Io);
}

TEST_F(VolumePoolTest, AVolumeCannotBeAddedTwiceNorOverAFile) {
  auto pool = create({{path("a.vol")}});
  EXPECT_ERR(pool->add_volume({path("a.vol")}), Exists);
  std::filesystem::copy_file(path(), path("x.vol"));
  EXPECT_ERR(pool->add_volume({path("x.vol")}), Exists);
  EXPECT_ERR(pool->add_volume({""}), InvalidArgument);
  EXPECT_EQ(must(pool->volumes()).size(), 1u);
}

// A chunk on a volume that no record names (a crash between the volume's
// commit and the records') is gc's to remove; the named ones stay.
TEST_F(VolumePoolTest, GcRemovesChunksOnAVolumeThatNoRecordNames) {
  const std::string data = random_bytes(500'000, 9);
  create({{path("a.vol")}})->close();
  {
    auto pool = open();
    ASSERT_OK(must(pool->dataset())->write_file("/f", data));
    ASSERT_OK(pool->close());
  }
  const auto named = raw_sql_int(path("a.vol"), "SELECT count(*) FROM chunks");
  ASSERT_GT(named, 0);
  raw_sql(path("a.vol"),
          "INSERT INTO chunks(hash, codec, raw_size, checksum, data) SELECT randomblob(32), codec, raw_size, "
          "checksum, data FROM chunks LIMIT 2");
  auto pool = open();
  const GcReport report = must(pool->gc({.grace_seconds = 0}));
  EXPECT_EQ(report.orphans_removed, 2u);
  EXPECT_GT(report.bytes_freed, 0u);
  EXPECT_EQ(raw_sql_int(path("a.vol"), "SELECT count(*) FROM chunks"), named);
  EXPECT_TRUE(must(must(pool->dataset())->read_file("/f")) == data);
  EXPECT_EQ(must(pool->gc({.grace_seconds = 0})).orphans_removed, 0u);
}

// A removed file's chunks leave the records when the removal commits, and
// their volume after a grace period (a reader that took its snapshot of the
// records before may still go for them), or when the pool closes.
TEST_F(VolumePoolTest, RemovedFilesLeaveTheirVolumesAfterTheGracePeriod) {
  auto pool = create({{path("a.vol")}});
  auto fs = must(pool->dataset());
  ASSERT_OK(fs->write_file("/f", random_bytes(1 << 20, 8)));
  ASSERT_OK(pool->sync());
  const auto stored = raw_sql_int(path("a.vol"), "SELECT count(*) FROM chunks");
  EXPECT_GT(stored, 0);
  ASSERT_OK(fs->remove("/f"));
  ASSERT_OK(pool->sync());
  EXPECT_EQ(must(pool->volumes())[0].chunks, 0u);
  EXPECT_EQ(raw_sql_int(path("a.vol"), "SELECT count(*) FROM chunks"), stored);  // within the grace
  EXPECT_TRUE(must(pool->verify()).ok());
  ASSERT_OK(pool->close());
  EXPECT_EQ(raw_sql_int(path("a.vol"), "SELECT count(*) FROM chunks"), 0);
}

}  // namespace
}  // namespace anyfs::testing
