#include "memory/sparse_data.h"

#include <gtest/gtest.h>

namespace anyfs {
namespace {

std::string read(const SparseData& d, std::uint64_t off, std::size_t n) {
  std::string buf(n, '?');
  buf.resize(d.read(std::span<char>(buf.data(), n), off));
  return buf;
}

TEST(SparseData, WritesAcrossBlockBoundariesReadBack) {
  SparseData d;
  std::string data(SparseData::k_block * 2 + 100, 'x');
  d.write(data, SparseData::k_block - 50);
  EXPECT_EQ(d.size(), SparseData::k_block * 3 + 50);
  EXPECT_EQ(read(d, SparseData::k_block - 50, data.size()), data);
  EXPECT_EQ(read(d, 0, 10), std::string(10, '\0'));
}

TEST(SparseData, HolesCostNothing) {
  SparseData d;
  d.resize(1ull << 40);
  EXPECT_EQ(d.allocated(), 0u);
  d.write("z", (1ull << 39));
  EXPECT_EQ(d.allocated(), 1u);
  EXPECT_EQ(read(d, (1ull << 39) - 1, 3), std::string("\0z\0", 3));
}

TEST(SparseData, ShrinkingFreesAndZeroesTheTail) {
  SparseData d;
  d.write(std::string(SparseData::k_block * 2, 'y'), 0);
  d.resize(10);
  EXPECT_EQ(d.allocated(), 10u);
  d.resize(20);
  EXPECT_EQ(read(d, 0, 20), std::string(10, 'y') + std::string(10, '\0'));
}

}  // namespace
}  // namespace anyfs
