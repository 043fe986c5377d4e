#include "anyfs/memory_fs.h"

#include <gtest/gtest.h>

#include "support/result_matchers.h"

namespace anyfs {
namespace {

TEST(MemoryFs, CapacityLimitsDataWithNoSpaceAndFreedSpaceReturns) {
  auto fs = make_memory_fs({.capacity_bytes = 100'000});
  ASSERT_OK(fs->write_file("/a", std::string(60'000, 'a')));
  EXPECT_ERR(fs->write_file("/b", std::string(60'000, 'b')), NoSpace);
  ASSERT_OK(fs->remove("/a"));
  ASSERT_OK(fs->write_file("/b", std::string(60'000, 'b')));
  auto sf = fs->statfs();
  ASSERT_OK(sf);
  EXPECT_EQ(sf->total_blocks * sf->block_size, 98304u);  // 100'000 rounded down to blocks
  EXPECT_LT(sf->free_blocks * sf->block_size, 40'000u);
}

TEST(MemoryFs, AHandleOutlivesItsFs) {
  auto fs = make_memory_fs();
  ASSERT_OK(fs->write_file("/f", "kept"));
  auto h = fs->open("/f", OpenFlags::ReadWrite);
  ASSERT_OK(h);
  fs.reset();
  ASSERT_OK((*h)->pwrite("KEPT", 0));
  char buf[4];
  EXPECT_EQ(*(*h)->pread(std::span<char>(buf, 4), 0), 4u);
  EXPECT_EQ(std::string(buf, 4), "KEPT");
}

TEST(MemoryFs, UnlinkedOpenFileReleasesItsSpaceWhenClosed) {
  auto fs = make_memory_fs({.capacity_bytes = 100'000});
  ASSERT_OK(fs->write_file("/a", std::string(60'000, 'a')));
  auto h = fs->open("/a", OpenFlags::Read);
  ASSERT_OK(fs->remove("/a"));
  EXPECT_ERR(fs->write_file("/b", std::string(60'000, 'b')), NoSpace);  // still held open
  h->reset();
  ASSERT_OK(fs->write_file("/b", std::string(60'000, 'b')));
}

}  // namespace
}  // namespace anyfs
