#include "chunk/hash.h"

#include <gtest/gtest.h>

namespace anyfs {
namespace {

TEST(Hash, Sha256MatchesTheStandardVectors) {
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hash, Xxh3SeesEveryByte) {
  std::string data(4096, 'x');
  auto before = xxh3(data);
  data[2000] ^= 1;
  EXPECT_NE(xxh3(data), before);
  EXPECT_EQ(xxh3(""), xxh3(std::string()));
}

}  // namespace
}  // namespace anyfs
