// Conformance: many threads at once, then the tree's invariants.
#include <random>
#include <thread>

#include "conformance/fs_conformance.h"

namespace anyfs::testing {
namespace {

// Checks the invariants of a quiet tree: every listed entry stats with the kind
// listed, directory link counts are 2 + subdirectories, every file's content is
// one a writer could have written (a repeated byte naming its thread).
void check_tree(Fs& fs, const std::string& dir, int& files) {
  auto entries = fs.read_dir(dir);
  ASSERT_OK(entries);
  std::uint64_t subdirs = 0;
  for (const auto& e : *entries) {
    std::string p = dir == "/" ? "/" + e.name : dir + "/" + e.name;
    auto st = fs.lstat(p);
    ASSERT_OK(st) << p;
    ASSERT_EQ(st->kind, e.kind) << p;
    if (st->is_dir()) {
      ++subdirs;
      check_tree(fs, p, files);
    } else if (st->is_regular()) {
      auto data = fs.read_file(p);
      ASSERT_OK(data);
      ++files;
      if (!data->empty()) {
        EXPECT_EQ(data->find_first_not_of((*data)[0]), std::string::npos) << p;
      }
    }
  }
  EXPECT_EQ(fs.stat(dir)->nlink, 2 + subdirs) << dir;
}

TEST_P(FsConformance, EightThreadsOfMixedOperationsKeepTheTreeConsistent) {
  REQUIRE_WRITABLE();
  constexpr int k_threads = 8;
  const int ops = std::getenv("ANYFS_SOAK") ? 20000 : 2500;
  for (int t = 0; t < k_threads; ++t) ASSERT_OK(fs().mkdir("/t" + std::to_string(t)));
  ASSERT_OK(fs().mkdir("/shared"));
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([this, t, ops] {
      std::mt19937 rng(1234 + t);
      const std::string own = "/t" + std::to_string(t);
      const std::string fill(1 + t * 97, 'x');  // one byte value: mixed writes stay checkable
      for (int i = 0; i < ops; ++i) {
        std::string base = (rng() % 3 == 0) ? "/shared" : own;
        std::string a = base + "/n" + std::to_string(rng() % 12);
        std::string b = base + "/n" + std::to_string(rng() % 12);
        switch (rng() % 9) {
          case 0: (void)fs().write_file(a, fill); break;
          case 1: (void)fs().mkdir(a); break;
          case 2: (void)fs().remove(a); break;
          case 3: (void)fs().rename(a, b); break;
          case 4: (void)fs().read_file(a); break;
          case 5: (void)fs().read_dir(base); break;
          case 6: (void)fs().link(a, b); break;
          case 7: (void)fs().append(a, fill.substr(0, 1)); break;
          case 8: (void)fs().stat(a); break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  int files = 0;
  check_tree(fs(), "/", files);
  EXPECT_GT(files, 0);
}

TEST_P(FsConformance, ParallelAppendsThroughOneHandleAllLand) {
  REQUIRE_WRITABLE();
  auto h = fs().open("/log", OpenFlags::Write | OpenFlags::Create);
  ASSERT_OK(h);
  constexpr int k_threads = 4, k_each = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < k_each; ++i) ASSERT_OK((*h)->append("0123456789"));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(fs().stat("/log")->size, 10u * k_threads * k_each);
}

}  // namespace
}  // namespace anyfs::testing
