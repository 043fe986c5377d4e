// I/O error sweep (issue 6): each crash workload — small-file churn, and large
// overwrites with rename storms, reflinks and gc — runs with one I/O operation
// failing — each read, write, sync, truncate and open in turn (sampled evenly
// when there are many; ANYFS_FAULT_EVERY=1 takes every one) — with EIO, ENOSPC
// or EMFILE, as the OS would report it to SQLite. Each run must:
//   - report the failure as a clear error (Io, NoSpace, or Busy/Corrupt never;
//     the Errc the storage failure maps to), never crash;
//   - then refuse further changes with a "reopen" error (the pool is poisoned:
//     a storage failure may leave the open transaction half-written, so the
//     pool stops rather than guessing — docs/RELIABILITY.md), while it stays
//     reopenable in the same process once the fault has cleared;
//   - after a reopen, pass verify and hold the last acknowledged state (or the
//     one whose sync was under way), with nothing acknowledged lost.
// Every failure names the seed, the operation and its number, which replay it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "anyfs/pool.h"
#include "support/fault_vfs.h"
#include "support/random_tree.h"
#include "support/seeds.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

using Op = FaultVfs::Op;
using Fault = FaultVfs::Fault;

struct FaultRun {
  std::optional<Error> failure;  // the first call that failed
  std::optional<Error> after;    // a change tried after it
  Tree durable, pending;
  std::uint64_t counts[5] = {};
};

enum class Workload { SmallFiles, LargeFiles };

// A crash test's workload (random steps, a sync every third), stopping at the
// first failure; then one more change, to see how the pool answers.
FaultRun run(const std::string& pool_path, std::uint64_t seed, Workload workload) {
  FaultRun out;
  std::mt19937_64 rng(seed);
  auto opened = Pool::open(pool_path, {.vfs = FaultVfs::k_name});
  if (!opened) {
    out.failure = opened.error();
    return out;
  }
  auto pool = *opened;
  auto fs = pool->dataset();
  if (!fs) {
    out.failure = fs.error();
    return out;
  }
  Tree model;
  Error failure;
  const int steps = workload == Workload::SmallFiles ? 60 : 45;
  for (int i = 0; i < steps && !out.failure; ++i) {
    const bool stepped = workload == Workload::SmallFiles
                             ? random_step(**fs, model, rng, &failure)
                             : big_file_step(*pool, **fs, model, rng, out.durable, out.pending, &failure);
    if (!stepped) {
      out.failure = failure;
      break;
    }
    if (i % 3 == 2) {
      out.pending = model;
      if (auto synced = pool->sync(); !synced) out.failure = synced.error();
      else out.durable = model;
    }
  }
  if (!out.failure) {
    out.pending = model;
    if (auto closed = pool->close(); !closed) out.failure = closed.error();
    else out.durable = model;
  } else if (auto again = (*fs)->write_file("/after-the-fault", "x"); !again) {
    out.after = again.error();
  }
  (void)pool->close();
  for (int op = 0; op < 5; ++op) out.counts[op] = FaultVfs::get().count(static_cast<Op>(op));
  return out;
}

class FaultSweep : public ::testing::Test {
 protected:
  std::string fresh_pool() {
    std::string p = dir_.str() + "/f" + std::to_string(++count_) + ".anyfs";
    auto pool = Pool::create(p, {.properties = {{"txg_timeout", "600"}, {"recordsize", "16K"}}});
    EXPECT_TRUE(pool.has_value());
    if (pool) (void)(*pool)->close();
    return p;
  }
  TempDir dir_;
  int count_ = 0;
};

// The operations to fail: every one up to `samples`, else that many spread evenly.
std::vector<std::uint64_t> picks(std::uint64_t total, std::uint64_t samples) {
  if (const char* every = std::getenv("ANYFS_FAULT_EVERY"); every && std::atoi(every) == 1) samples = total;
  std::vector<std::uint64_t> out;
  if (total == 0) return out;
  samples = std::min(samples, total);
  for (std::uint64_t i = 0; i < samples; ++i) out.push_back(1 + i * total / samples);
  return out;
}

TEST_F(FaultSweep, EveryFailedIoOperationIsAClearErrorAndLosesNothingAcknowledged) {
  FaultVfs& vfs = FaultVfs::get();
  const int seeds = std::getenv("ANYFS_FAULT_SEEDS") ? std::atoi(std::getenv("ANYFS_FAULT_SEEDS")) : 2;
  const std::pair<Op, Fault> plans[] = {{Op::Write, Fault::Eio},    {Op::Write, Fault::NoSpace},
                                         {Op::Sync, Fault::Eio},     {Op::Read, Fault::Eio},
                                         {Op::Truncate, Fault::Eio}, {Op::Open, Fault::TooManyFiles}};
  std::uint64_t injected = 0;
  std::vector<std::pair<std::uint64_t, Workload>> runs;
  for (std::uint64_t seed = seed_base() + 1; seed <= seed_base() + static_cast<std::uint64_t>(seeds); ++seed)
    for (Workload workload : {Workload::SmallFiles, Workload::LargeFiles}) runs.emplace_back(seed, workload);
  for (auto [seed, workload] : runs) {
    vfs.reset();
    FaultRun clean = run(fresh_pool(), seed, workload);
    ASSERT_FALSE(clean.failure) << "seed " << seed << ": the workload fails without faults: "
                                << clean.failure->to_string();
    for (auto [op, fault] : plans) {
      for (std::uint64_t n : picks(clean.counts[static_cast<int>(op)], 12)) {
        const std::string where = "seed " + std::to_string(seed) +
                                  (workload == Workload::SmallFiles ? " (small files), " : " (large files), ") +
                                  FaultVfs::name(op) + " #" +
                                  std::to_string(n) + " fails with " + FaultVfs::name(fault);
        std::string pool_path = fresh_pool();
        vfs.reset();
        vfs.fail_nth(op, n, fault);
        FaultRun r = run(pool_path, seed, workload);
        const bool hit = vfs.fault_injected();
        vfs.reset();
        if (!hit) continue;  // this run took another path (background work moved the count)
        injected++;
        if (r.failure) {
          // A storage failure is reported as one: never as "not found" or the like.
          const Errc code = r.failure->code;
          EXPECT_TRUE(code == Errc::Io || code == Errc::NoSpace) << where << ": " << r.failure->to_string();
          if (r.after) {
            EXPECT_NE(r.after->message.find("reopen"), std::string::npos) << where << ": " << r.after->to_string();
          }
        }
        // Reopened in this same process, as a user would: whole, and nothing acknowledged lost.
        auto pool = Pool::open(pool_path);
        ASSERT_TRUE(pool.has_value()) << where << ": " << pool.error().to_string();
        auto report = (*pool)->verify();
        ASSERT_TRUE(report.has_value()) << where;
        ASSERT_TRUE(report->ok()) << where << ": " << report->problems.front();
        Tree now;
        ASSERT_OK(read_tree(*(*pool)->dataset().value(), "/", now));
        now.erase("/after-the-fault");
        EXPECT_TRUE(now == r.durable || now == r.pending)
            << where << "\n got:     " << describe(now) << "\n durable: " << describe(r.durable)
            << "\n pending: " << describe(r.pending);
        // And work goes on in the reopened pool.
        ASSERT_OK((*pool)->dataset().value()->write_file("/next", "works"));
        ASSERT_OK((*pool)->close());
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
  std::cout << "I/O faults injected: " << injected << "\n";
  EXPECT_GE(injected, 200u);
}

}  // namespace
}  // namespace anyfs::testing
